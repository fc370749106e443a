"""One async engine per service, its own schema, and a request-scoped session that commits in the
dependency that opened it (services never commit)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, Table, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger("kit.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_base(schema: str) -> type[DeclarativeBase]:
    """A declarative base whose tables live in `schema`, with constraint names that migrations can diff."""

    class Base(DeclarativeBase):
        metadata = MetaData(schema=schema, naming_convention=NAMING_CONVENTION)

    return Base


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The driver's own DSN for a SQLAlchemy URL (raw connections: LISTEN, COPY from tools)."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def listen_forever(
    database_url: str,
    channel: str,
    wake: Callable[[], None],
    *,
    connected: asyncio.Event | None = None,
    what: str = "listener",
) -> None:
    """LISTEN on `channel` until cancelled, calling `wake` for every NOTIFY, and once on every (re)connect:
    whatever was notified while the connection was down is looked for then. A dropped connection is opened
    again after a second; `connected` is set while the LISTEN is up."""
    while True:
        conn = None
        try:
            conn = await asyncpg.connect(asyncpg_dsn(database_url))
            await conn.add_listener(channel, lambda *_: wake())
            if connected is not None:
                connected.set()
            wake()
            while not conn.is_closed():
                await asyncio.sleep(5)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("listener disconnected", extra={"listener": what, "error": type(exc).__name__})
            await asyncio.sleep(1)
        finally:
            if connected is not None:
                connected.clear()
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close()


# SQLSTATE class 08 (connection exception) and the server shutting down or still starting up.
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be used right now (unreachable, restarting, every pooled
    connection busy), as opposed to refusing this statement: worth waiting for, never the caller's fault."""
    # The pool re-raises a failed connect as the driver's own error: a refused or reset connection.
    if isinstance(exc, PoolTimeoutError | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return True
        chain = [exc.orig, getattr(exc.orig, "__cause__", None)]
    elif type(exc).__module__.startswith("asyncpg"):  # the driver's own, from raw connection use
        chain = [exc]
    else:
        return False
    for inner in chain:
        if isinstance(inner, OSError) or type(inner).__name__ == "ConnectionDoesNotExistError":
            return True
        if str(getattr(inner, "sqlstate", "") or "").startswith(_UNAVAILABLE_STATES):
            return True
    return False


async def copy_rows(
    session: AsyncSession, table: Table, columns: Sequence[str], records: Iterable[Sequence[Any]]
) -> None:
    """Bulk-insert rows with COPY on the session's own connection, inside the session's transaction.

    For thousands of rows COPY is several times cheaper than a batched INSERT, on both sides: SQLAlchemy
    compiles and binds nothing, PostgreSQL parses one statement. JSON/JSONB values are passed as JSON text.
    """
    driver = await driver_connection(session)
    await driver.copy_records_to_table(
        table.name, schema_name=table.schema, columns=list(columns), records=records
    )


def _discard_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Pool checkout: a connection whose socket the server closed is discarded and another one taken (the
    pool retries a checkout that raises DisconnectionError)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the database closed this pooled connection")


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, inside the session's transaction (begun now if the session
    has not run a statement yet), for fixed SQL on a hot path: COPY, array parameters, prepared statements.
    What runs on it commits or rolls back with the session (in a `Database.statements()` session, each
    statement commits on its own)."""
    raw = await (await session.connection()).get_raw_connection()
    adapter: Any = raw.dbapi_connection
    # SQLAlchemy's asyncpg adapter begins its transaction lazily, on the first statement it runs itself
    # (sqlalchemy 2.1: `_transaction` / `_start_transaction`, pinned in uv.lock; tests/kit prove the rollback).
    if adapter._transaction is None:
        await adapter._start_transaction()
    driver: asyncpg.Connection = adapter.driver_connection
    return driver


_PARAMETER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=512)
def _together(statements: tuple[str, ...]) -> str:
    parts, offset = [], 0
    for i, sql in enumerate(statements):

        def shifted(match: re.Match[str], by: int = offset) -> str:
            return f"${int(match.group(1)) + by}"

        parts.append(f"w{i} AS ({_PARAMETER.sub(shifted, sql)})")
        offset += max((int(n) for n in _PARAMETER.findall(sql)), default=0)
    return "WITH " + ", ".join(parts) + " SELECT 1"


async def execute_together(
    driver: asyncpg.Connection, statements: Sequence[tuple[str, Sequence[Any]]]
) -> None:
    """Run INSERT/UPDATE/DELETE statements (asyncpg `$n` parameters, no `$` anywhere else, no RETURNING
    needed) as one statement: one round trip instead of one each. They become data-modifying CTEs, so they
    run against one snapshot and must not depend on each other's changes (foreign keys between the rows they
    insert are fine: those are checked at the end of the statement). The combined text is cached per shape,
    so asyncpg prepares each shape once per connection."""
    if not statements:
        return
    if len(statements) == 1:
        await driver.execute(statements[0][0], *statements[0][1])
        return
    sql = _together(tuple(sql for sql, _ in statements))
    await driver.execute(sql, *(value for _, values in statements for value in values))


class Pinned:
    """One pooled connection in autocommit (`Database.pinned()`): fixed SQL on `driver`, and an ORM session on
    the same connection when a step needs one."""

    def __init__(self, driver: asyncpg.Connection, connection: AsyncConnection) -> None:
        self.driver = driver
        self._connection = connection
        self._session: AsyncSession | None = None

    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = AsyncSession(bind=self._connection, expire_on_commit=False, autoflush=True)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class Database:
    """The engine and session factory of one service."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 5, echo: bool = False) -> None:
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            # Not SQLAlchemy's pre-ping: on asyncpg it costs three round trips (BEGIN, `;`, ROLLBACK) per
            # checkout. A connection the server closed (restart, idle kill) is found at checkout without a
            # round trip (`_discard_closed`); one that dies unnoticed fails its statement as a disconnect,
            # which invalidates the whole pool, and the request is answered 503 (`database_unavailable`).
            pool_pre_ping=False,
            pool_timeout=10,
            echo=echo,
        )
        event.listen(self.engine.sync_engine, "checkout", _discard_closed)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        # The same pool; a connection handed out here runs each statement as its own transaction (asyncpg's
        # adapter then sends no BEGIN or COMMIT at all).
        self._statements_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._statements = async_sessionmaker(self._statements_engine, expire_on_commit=False, autoflush=True)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block succeeds, rolls back when it raises."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def statements(self) -> AsyncIterator[AsyncSession]:
        """A session whose statements each commit on their own, saving the BEGIN and COMMIT round trips: for
        a step that reads, or writes a single row, and needs nothing to be atomic (a unit of work is
        `session()`)."""
        async with self._statements() as session:
            yield session
            await session.commit()  # whatever the ORM still has to flush

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled driver connection outside any transaction: each statement (a COPY, say) commits on its own.
        It goes back to the pool when the block ends."""
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection
            yield driver

    @asynccontextmanager
    async def pinned(self) -> AsyncIterator[Pinned]:
        """A pooled connection outside any transaction, for a step of fixed SQL that may need the ORM for a
        read: `driver` runs the fixed SQL, `session()` is an ORM session on the same connection, made only if
        asked for (an ORM session costs more CPU than the statements of a short step). Each statement commits on
        its own, as in `statements()`."""
        async with self._statements_engine.connect() as connection:
            raw = await connection.get_raw_connection()
            pinned = Pinned(raw.driver_connection, connection)
            try:
                yield pinned
            finally:
                await pinned.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A unit of work in fixed SQL on a pooled driver connection, without the ORM's session: commits when
        the block succeeds, rolls back when it raises. For a hot path whose every statement is fixed SQL."""
        async with self.connection() as driver, driver.transaction():
            yield driver

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    db: Database = request.app.state.db
    async with db.session() as session:
        yield session


# Commit happens when the endpoint returns and before the response is sent (FastAPI runs the exit code
# of `yield` dependencies with scope="function" before sending), so a failed commit is a failed request.
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
