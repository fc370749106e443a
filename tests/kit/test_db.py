"""The kit's database plumbing: pooled connections the server closed are replaced at checkout, and fixed SQL
run on a session's own driver connection commits or rolls back with the session."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import text

from kit.db import Database, driver_connection
from tests.kit.demo import count, notes


async def _backend_pid(db: Database) -> int:
    async with db.session() as session:
        pid: int = await session.scalar(text("SELECT pg_backend_pid()"))
    return pid


async def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout_without_an_error(
    demo_db: Database, database_url: str
) -> None:
    """No pre-ping round trip: a connection closed by the server (restart, idle kill) is noticed by its closed
    socket when the pool hands it out, and the session gets a fresh one."""
    first = await _backend_pid(demo_db)
    admin = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the event loop reads the server's goodbye and marks the socket closed
    second = await _backend_pid(demo_db)
    assert second != first


async def test_driver_connection_runs_inside_the_sessions_transaction(demo_db: Database) -> None:
    """Even as the session's first statement, raw SQL on the driver connection is part of the session's unit
    of work: rolled back with it, committed with it."""
    insert = "INSERT INTO kitdemo.notes (id, client_id, home_state) VALUES ($1, $2, 'NY')"

    async def write_then_fail() -> None:
        async with demo_db.session() as session:
            await (await driver_connection(session)).execute(insert, uuid.uuid4(), uuid.uuid4())
            raise RuntimeError("the unit of work fails")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    assert await count(demo_db, notes) == 0
    async with demo_db.session() as session:
        pg = await driver_connection(session)
        await pg.execute(insert, uuid.uuid4(), uuid.uuid4())
        assert await pg.fetchval("SELECT count(*) FROM kitdemo.notes") == 1
    assert await count(demo_db, notes) == 1
