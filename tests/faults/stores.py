"""What the demo service's database holds: the facts fault tests compare with what was sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from contracts.events import ClientRegistered
from kit.db import Database
from kit.messaging.outbox import Outbox
from tests.kit.demo import messaging, notes, seen


async def scalar(db: Database, query: Any) -> int:
    async with db.session() as session:
        return int((await session.execute(query)).scalar_one())


async def unsent(db: Database) -> int:
    t = messaging.outbox
    return await scalar(db, select(func.count()).where(t.c.sent_at.is_(None)))


async def seen_count(db: Database) -> int:
    return await scalar(db, select(func.count()).select_from(seen))


async def processed_count(db: Database) -> int:
    t = messaging.processed
    return await scalar(db, select(func.count()).where(t.c.consumer == "demo"))


async def dead_letter_count(db: Database) -> int:
    return await scalar(db, select(func.count()).select_from(messaging.dead_letters))


async def seen_clients(db: Database) -> set[str]:
    async with db.session() as session:
        return {str(r) for r in (await session.execute(select(seen.c.client_id))).scalars()}


async def note_clients(db: Database) -> set[str]:
    async with db.session() as session:
        return {str(r) for r in (await session.execute(select(notes.c.client_id))).scalars()}


async def commit_notes(db: Database, n: int) -> set[str]:
    """n notes and their events committed together, as the demo's POST /notes does; returns the client ids."""
    outbox = Outbox(messaging.outbox, source="kitdemo")
    ids = [uuid.uuid4() for _ in range(n)]
    async with db.session() as session:
        for client_id in ids:
            await session.execute(
                notes.insert().values(id=uuid.uuid4(), client_id=client_id, home_state="NY")
            )
            await outbox.publish(
                session,
                ClientRegistered(client_id=client_id, home_state="NY", registered_at=datetime.now(UTC)),
            )
    return {str(i) for i in ids}
