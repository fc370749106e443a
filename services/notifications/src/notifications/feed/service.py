"""Who may read which notifications: people read their own, ops (and read-only partners) read all."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal, require_role
from kit.errors import Conflict, NotFound
from notifications.delivery import repository
from notifications.models import Notification


def _own_id(principal: Principal) -> uuid.UUID | None:
    if principal.role == "client":
        return principal.client_id
    if principal.role == "provider":
        return principal.provider_id
    return None


def _sees_all(principal: Principal) -> bool:
    return principal.is_staff or principal.role == "partner"


async def list_for(
    session: AsyncSession,
    *,
    principal: Principal,
    recipient_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    before: datetime | None,
) -> list[Notification]:
    """A person's own feed (another recipient's is 404); ops may list anyone's or filter by status."""
    if not _sees_all(principal):
        own = _own_id(principal)
        if own is None or (recipient_id is not None and recipient_id != own):
            raise NotFound("No such recipient.")
        recipient_id = own
    return await repository.listing(
        session, recipient_id=recipient_id, status=status, limit=limit, before=before
    )


async def get_for(session: AsyncSession, *, principal: Principal, notification_id: uuid.UUID) -> Notification:
    """One notification with its body, if it was addressed to the caller (404 otherwise)."""
    found = await repository.get(session, notification_id)
    if found is None:
        raise NotFound("No such notification.")
    mine = found.recipient_kind == principal.role and found.recipient_id == _own_id(principal)
    if not (_sees_all(principal) or mine):
        raise NotFound("No such notification.")
    return found


async def retry(
    session: AsyncSession, *, principal: Principal, notification_id: uuid.UUID, now: datetime
) -> Notification:
    """Ops put a failed e-mail back in the queue (same Message-ID); anything else is refused."""
    require_role(principal, "ops")
    found = await repository.get(session, notification_id)
    if found is None:
        raise NotFound("No such notification.")
    if not await repository.requeue(session, notification_id=notification_id, now=now):
        raise Conflict(f"Only a failed notification can be retried; this one is {found.status}.")
    await session.refresh(found)
    return found
