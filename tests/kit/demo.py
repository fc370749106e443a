"""A tiny domain-free service used to prove the kit: a `notes` table and an endpoint that writes a note and
publishes an event in the same transaction (and can be told to fail after doing both)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import Column, String, Table, select, text
from sqlalchemy.dialects.postgresql import UUID

from contracts.events import ClientRegistered
from kit.app import RuntimeDep, create_service_app
from kit.db import Database, DbSession, make_base
from kit.errors import Conflict
from kit.messaging.consumer import EventContext, EventsContext, Subscription
from kit.runtime import MessagingTables, Runtime
from kit.settings import KitSettings

Base = make_base("kitdemo")
notes = Table(
    "notes",
    Base.metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("home_state", String(2), nullable=False),
)
seen = Table(
    "seen",
    Base.metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
)
messaging = MessagingTables(Base.metadata)

router = APIRouter()


@router.post("/notes", status_code=201)
async def create_note(
    session: DbSession, runtime: RuntimeDep, home_state: str, fail: bool = False
) -> dict[str, str]:
    client_id = uuid.uuid4()
    await session.execute(notes.insert().values(id=uuid.uuid4(), client_id=client_id, home_state=home_state))
    await runtime.outbox.publish(
        session, ClientRegistered(client_id=client_id, home_state=home_state, registered_at=datetime.now(UTC))
    )
    if fail:
        raise Conflict("told to fail after writing")
    return {"client_id": str(client_id)}


async def on_registered(event: ClientRegistered, ctx: EventContext) -> None:
    if event.home_state == "XX":
        raise ValueError("this event can never be processed")
    await ctx.session.execute(seen.insert().values(event_id=ctx.envelope.id, client_id=event.client_id))


# How many events each call of `on_registered_many` got, in call order (tests clear it).
MANY_CALLS: list[int] = []


async def on_registered_many(events: list[ClientRegistered], ctx: EventsContext) -> None:
    """`on_registered` for consecutive events in one statement."""
    MANY_CALLS.append(len(events))
    if any(e.home_state == "XX" for e in events):
        raise ValueError("this event can never be processed")
    await ctx.session.execute(
        seen.insert(),
        [
            {"event_id": env.id, "client_id": e.client_id}
            for e, env in zip(events, ctx.envelopes, strict=True)
        ],
    )


SUBSCRIPTIONS = [Subscription(ClientRegistered, on_registered)]
MANY_SUBSCRIPTIONS = [Subscription(ClientRegistered, on_registered, many=on_registered_many)]


def create_demo_app(settings: KitSettings, *, many: bool = False) -> FastAPI:
    def factory() -> Runtime:
        runtime = Runtime.build(settings, messaging)
        runtime.add_consumer("demo", MANY_SUBSCRIPTIONS if many else SUBSCRIPTIONS)
        return runtime

    return create_service_app(
        service_name="kitdemo",
        title="Kit demo",
        description="proves the kit",
        runtime_factory=factory,
        routers=[router],
        configure_logs=False,
    )


@pytest.fixture
async def demo_db(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE SCHEMA IF NOT EXISTS kitdemo"))
        await conn.run_sync(Base.metadata.create_all)
    yield db
    await db.dispose()


async def count(db: Database, table: Table) -> int:
    async with db.session() as session:
        return len((await session.execute(select(table))).all())
