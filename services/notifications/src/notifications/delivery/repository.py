"""Every query on notifications: recording intents, claiming due ones, recording what happened."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import Notification

# The channel the sender LISTENs on: a trigger on `notifications` (migration 3b1f0c2d9e7a) notifies it when
# a transaction that made an e-mail pending commits.
DUE_CHANNEL = "notifications_due"

# On the table, not the entity: the rows are plain values, and the ORM's bulk-insert path cost more than the
# statement (it is run once per event that queues e-mails).
_notifications = Notification.__table__
_ADD_INTENTS = (
    insert(_notifications)
    .on_conflict_do_nothing(constraint="uq_notifications_event_recipient")
    .returning(_notifications.c.id)
)


async def add_intents(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert intents in one statement; returns the ids that are new ((event, recipient, template) not
    recorded before)."""
    if not rows:
        return set()
    return set((await session.execute(_ADD_INTENTS, rows)).scalars())


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[Notification]:
    """Lease up to `limit` pending e-mails that are due and not leased by a live sender."""
    due = (
        select(Notification.id)
        .where(
            Notification.status == "pending",
            Notification.next_attempt_at <= now,
            or_(Notification.lease_until.is_(None), Notification.lease_until <= now),
        )
        .order_by(Notification.next_attempt_at, Notification.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await session.scalars(
        update(Notification)
        .where(Notification.id.in_(due.scalar_subquery()))
        .values(lease_until=lease_until, attempts=Notification.attempts + 1)
        .returning(Notification),
        execution_options={"synchronize_session": False},
    )
    return sorted(rows, key=lambda n: (n.next_attempt_at, n.created_at))


async def save_renderings(session: AsyncSession, renderings: list[dict[str, Any]]) -> None:
    """Store renderings (`id`, `to_address`, `subject`, `body_text`, `body_html`), so a re-send is the same
    message."""
    if renderings:
        await session.execute(update(Notification), renderings)


async def mark_sent(
    session: AsyncSession, *, notification_ids: list[uuid.UUID], now: datetime
) -> set[uuid.UUID]:
    """Record e-mails the relay accepted; returns the ids that were still pending."""
    if not notification_ids:
        return set()
    result = await session.scalars(
        update(Notification)
        .where(Notification.id.in_(notification_ids), Notification.status == "pending")
        .values(status="sent", sent_at=now, lease_until=None, last_error=None)
        .returning(Notification.id),
        execution_options={"synchronize_session": False},
    )
    return set(result)


async def mark_retry(
    session: AsyncSession, *, notification_id: uuid.UUID, next_attempt_at: datetime, error: str
) -> None:
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "pending")
        .values(next_attempt_at=next_attempt_at, lease_until=None, last_error=error)
    )


async def mark_failed(
    session: AsyncSession, *, notification_id: uuid.UUID, now: datetime, error: str
) -> bool:
    result = await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "pending")
        .values(status="failed", failed_at=now, lease_until=None, last_error=error)
        .returning(Notification.id)
    )
    return result.first() is not None


async def requeue(session: AsyncSession, *, notification_id: uuid.UUID, now: datetime) -> bool:
    """Put a failed e-mail back in the queue (ops, after fixing an address); keeps its Message-ID."""
    result = await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now, failed_at=None, lease_until=None)
        .returning(Notification.id)
    )
    return result.first() is not None


async def get(session: AsyncSession, notification_id: uuid.UUID) -> Notification | None:
    return await session.get(Notification, notification_id)


async def listing(
    session: AsyncSession,
    *,
    recipient_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    before: datetime | None,
) -> list[Notification]:
    query = select(Notification).order_by(Notification.created_at.desc(), Notification.id).limit(limit)
    if recipient_id is not None:
        query = query.where(Notification.recipient_id == recipient_id)
    if status is not None:
        query = query.where(Notification.status == status)
    if before is not None:
        query = query.where(Notification.created_at < before)
    return list((await session.scalars(query)).all())
