"""What the notification feed shows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Status = Literal["pending", "sent", "failed", "suppressed"]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    template: str
    recipient_kind: Literal["client", "provider"]
    recipient_id: uuid.UUID
    subject: str | None
    status: Status
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None


class NotificationDetail(NotificationOut):
    message_id: str
    body_text: str | None
    body_html: str | None
