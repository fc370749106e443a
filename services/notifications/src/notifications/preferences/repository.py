"""Queries on clients' notification preferences."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import Preference


async def get(session: AsyncSession, client_id: uuid.UUID) -> Preference | None:
    found = await session.execute(select(Preference).where(Preference.client_id == client_id))
    return found.scalar_one_or_none()


async def upsert(session: AsyncSession, *, client_id: uuid.UUID, reminders: bool, now: datetime) -> None:
    stmt = insert(Preference).values(client_id=client_id, reminders=reminders, updated_at=now)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Preference.client_id], set_={"reminders": reminders, "updated_at": now}
        )
    )


async def wants(session: AsyncSession, *, client_id: uuid.UUID, category: str) -> bool:
    """True unless the client turned this optional category off (everyone starts opted in)."""
    pref = await get(session, client_id)
    if pref is None:
        return True
    return bool(getattr(pref, category, True))
