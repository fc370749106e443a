"""Client locations in and out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from claims.common import Line, ShortLine, State


class ClientLocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: State
    kind: Literal["residence", "temporary"] = Field(
        default="residence", description="Where the client lives, or somewhere they are for a while (travel)."
    )
    address_line: Line | None = None
    city: ShortLine | None = None
    postal_code: str | None = Field(default=None, pattern=r"^\d{5}(-\d{4})?$")


class ClientLocationOut(ClientLocationIn):
    id: uuid.UUID
    client_id: uuid.UUID
    added_by: str
    created_at: datetime
