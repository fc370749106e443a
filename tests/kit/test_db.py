"""The kit's database plumbing: pooled connections the server closed are replaced at checkout, and fixed SQL
run on a session's own driver connection commits or rolls back with the session."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import text

from kit.db import Database, asyncpg_dsn, driver_connection, execute_together
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
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
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


async def test_a_statements_session_commits_each_statement_on_its_own(demo_db: Database) -> None:
    """No BEGIN/COMMIT round trips: a row written in a `statements()` session is visible to everyone at once,
    and stays when the block fails afterwards (what `session()`, the unit of work, would undo)."""

    async def write_then_fail() -> None:
        async with demo_db.statements() as session:
            await (await driver_connection(session)).execute(
                "INSERT INTO kitdemo.notes (id, client_id, home_state) VALUES ($1, $2, 'TX')",
                uuid.uuid4(),
                uuid.uuid4(),
            )
            assert await count(demo_db, notes) == 1, "committed before the block ends"
            raise RuntimeError("after the statement")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    assert await count(demo_db, notes) == 1
    async with demo_db.session() as session:
        assert (
            await session.scalar(text("SELECT current_setting('transaction_isolation')")) == "read committed"
        )


async def test_a_pinned_connection_commits_each_statement_and_its_session_reads_on_the_same_connection(
    demo_db: Database,
) -> None:
    """`pinned()`: fixed SQL on the driver commits at once; the ORM session, made only when asked for, runs on
    that same connection and leaves no transaction open behind it (so the next fixed statement commits too)."""
    async with demo_db.pinned() as db:
        await db.driver.execute(
            "INSERT INTO kitdemo.notes (id, client_id, home_state) VALUES ($1, $2, 'TX')",
            uuid.uuid4(),
            uuid.uuid4(),
        )
        assert await count(demo_db, notes) == 1, "committed before the block ends"
        session = db.session()
        assert session is db.session()
        assert await session.scalar(text("SELECT pg_backend_pid()")) == await db.driver.fetchval(
            "SELECT pg_backend_pid()"
        )
        assert await session.scalar(text("SELECT count(*) FROM kitdemo.notes")) == 1
        await db.driver.execute(
            "INSERT INTO kitdemo.notes (id, client_id, home_state) VALUES ($1, $2, 'NY')",
            uuid.uuid4(),
            uuid.uuid4(),
        )
        assert await count(demo_db, notes) == 2, "the session left no transaction open"
        assert not db.driver.is_in_transaction()
    async with demo_db.pinned() as db:  # the connection went back to the pool clean
        assert not db.driver.is_in_transaction()


async def test_statements_sent_together_run_as_one_with_their_own_parameters(demo_db: Database) -> None:
    """`execute_together` renumbers each statement's parameters; the statements stand or fall as one."""
    insert = "INSERT INTO kitdemo.notes (id, client_id, home_state) VALUES ($1, $2, $3)"
    first, second = uuid.uuid4(), uuid.uuid4()
    async with demo_db.session() as session:
        await execute_together(
            await driver_connection(session),
            [(insert, (first, uuid.uuid4(), "NY")), (insert, (second, uuid.uuid4(), "CA"))],
        )
    async with demo_db.session() as session:
        rows = (await session.execute(text("SELECT id, home_state FROM kitdemo.notes"))).all()
    assert sorted((str(r.id), r.home_state) for r in rows) == sorted(
        [(str(first), "NY"), (str(second), "CA")]
    )

    async def one_fails() -> None:
        async with demo_db.statements() as session:
            await execute_together(
                await driver_connection(session),
                [
                    ("UPDATE kitdemo.notes SET home_state = $2 WHERE id = $1", (first, "TX")),
                    (insert, (second, uuid.uuid4(), "WA")),  # a duplicate key
                ],
            )

    with pytest.raises(asyncpg.UniqueViolationError):
        await one_fails()
    async with demo_db.session() as session:
        states = await session.scalars(text("SELECT home_state FROM kitdemo.notes ORDER BY home_state"))
        assert list(states) == ["CA", "NY"], "the UPDATE sent with the failing INSERT did not happen"


async def test_a_driver_transaction_commits_when_the_block_ends_and_rolls_back_when_it_raises(
    demo_db: Database,
) -> None:
    insert = "INSERT INTO kitdemo.notes (id, client_id, home_state) VALUES ($1, $2, $3)"

    async def write_then_fail() -> None:
        async with demo_db.transaction() as pg:
            await pg.execute(insert, uuid.uuid4(), uuid.uuid4(), "OR")
            raise RuntimeError("the unit of work fails")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    assert await count(demo_db, notes) == 0
    async with demo_db.transaction() as pg:
        await pg.execute(insert, uuid.uuid4(), uuid.uuid4(), "NV")
        assert await count(demo_db, notes) == 0, "nothing is visible before the commit"
    assert await count(demo_db, notes) == 1
