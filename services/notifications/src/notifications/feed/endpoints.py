"""The in-app notification feed and delivery status."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from kit.app import RuntimeDep
from kit.auth import PrincipalDep
from kit.db import DbSession
from notifications.feed import service
from notifications.feed.schemas import NotificationDetail, NotificationOut, Status

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.get("", response_model=list[NotificationOut], summary="Notifications sent (or due) to a recipient")
async def list_notifications(
    principal: PrincipalDep,
    session: DbSession,
    recipient_id: uuid.UUID | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: datetime | None = None,
) -> list[NotificationOut]:
    """Newest first. Clients and providers see their own; ops see everyone's (e.g. `?status=failed`)."""
    rows = await service.list_for(
        session, principal=principal, recipient_id=recipient_id, status=status, limit=limit, before=before
    )
    return [NotificationOut.model_validate(r) for r in rows]


@router.get("/{notification_id}", response_model=NotificationDetail, summary="One notification with its body")
async def get_notification(
    notification_id: uuid.UUID, principal: PrincipalDep, session: DbSession
) -> NotificationDetail:
    found = await service.get_for(session, principal=principal, notification_id=notification_id)
    return NotificationDetail.model_validate(found)


@router.post(
    "/{notification_id}/retry", response_model=NotificationOut, summary="Ops: send a failed e-mail again"
)
async def retry_notification(
    notification_id: uuid.UUID, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> NotificationOut:
    found = await service.retry(
        session, principal=principal, notification_id=notification_id, now=runtime.clock.now()
    )
    return NotificationOut.model_validate(found)
