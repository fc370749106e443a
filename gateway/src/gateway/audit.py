"""The audit log: who did what to which record, when, from where, with what outcome. Append-only (a
trigger refuses UPDATE and DELETE), queryable by ops.

What is guaranteed: a request that reached a service with a method that can change something (POST, PUT,
PATCH, DELETE) has its entry written before its answer leaves the gateway (`record_now`; should the write
fail, the answer still goes out, the failure is logged and the entry is retried with the next batch). Every
other entry (reads, and requests refused at the door, which changed nothing) is written in batches every
`audit_flush_interval_s` off the request path: a gateway that dies without stopping loses at most that
interval's entries of those; a stopping gateway writes what is left, and a read of the log writes first."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import String, select

from gateway.models import audit_events
from kit.db import Database
from kit.metrics import AUDIT_DROPPED, AUDIT_QUARANTINED, AUDIT_WRITE_FAILURES

log = logging.getLogger("gateway.audit")
CLIENT_IN_PATH = re.compile(r"^/v1/clients/([0-9a-fA-F-]{36})(?:/|$)")
# The columns an entry fills, in the order `record` keeps them (`id` is generated).
COLUMNS = (
    "at",
    "request_id",
    "subject",
    "role",
    "actor_client_id",
    "actor_provider_id",
    "method",
    "path",
    "service",
    "target_client_id",
    "ip",
    "status",
    "outcome",
)


# Entries waiting to be written are capped: past this, the oldest are dropped (and counted), so a database that
# refuses writes for a long time cannot grow the gateway's memory without end.
MAX_PENDING = 100_000
# Every text column's length, so an entry is cut to what its column holds rather than refused whole.
TEXT_LIMITS = {
    c.name: c.type.length
    for c in audit_events.columns
    if isinstance(c.type, String) and c.type.length is not None
}
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\\]")


def _escape(char: re.Match[str]) -> str:
    code = ord(char.group())
    return "\\\\" if code == 0x5C else f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(value: str | None, column: str) -> str | None:
    """A caller-supplied string as the audit log can always store and show it: control characters (NUL among
    them, which PostgreSQL text refuses), lone surrogates and the backslash escaped as `\\xNN` / `\\uNNNN` /
    `\\\\`, then cut to the column's length."""
    if value is None:
        return None
    escaped = UNSAFE.sub(_escape, value)
    limit = TEXT_LIMITS.get(column)
    return escaped[:limit] if limit else escaped


def target_client(path: str) -> uuid.UUID | None:
    match = CLIENT_IN_PATH.match(path)
    if not match:
        return None
    try:
        return uuid.UUID(match.group(1))
    except ValueError:
        return None


def outcome_of(status: int) -> str:
    if status in (401, 403, 404, 429):
        return "denied" if status != 404 else "not_found"
    if status >= 500:
        return "error"
    if status >= 400:
        return "rejected"
    return "allowed"


def _row(entry: tuple[Any, ...]) -> tuple[Any, ...]:
    """A queued entry as the row of COLUMNS."""
    at, request_id, subject, role, actor_client_id, actor_provider_id, method, path, service, ip, status = (
        entry
    )
    return (
        at,
        safe_text(request_id, "request_id"),
        safe_text(subject, "subject"),
        safe_text(role, "role"),
        actor_client_id,
        actor_provider_id,
        safe_text(method, "method"),
        safe_text(path, "path"),
        safe_text(service, "service"),
        target_client(path),
        safe_text(ip, "ip"),
        status,
        outcome_of(status),
    )


def _last_resort(entry: tuple[Any, ...]) -> tuple[Any, ...]:
    """An entry the database refused even escaped: kept with what is certain (time, actor, status), its
    caller-supplied text replaced by a marker, so the fact of the request is never lost."""
    row = list(_row(entry))
    for i, column in enumerate(COLUMNS):
        if column in ("request_id", "path", "ip") and row[i] is not None:
            row[i] = "(unstorable)"
    row[COLUMNS.index("method")] = "?"
    return tuple(row)


class AuditLog:
    """Buffers entries and writes them in batches (COPY); `flush()` on shutdown writes what is left."""

    def __init__(self, db: Database, *, flush_interval_s: float) -> None:
        self.db = db
        self.flush_interval_s = flush_interval_s
        self._pending: list[tuple[Any, ...]] = []
        self._task: asyncio.Task[None] | None = None

    def record(
        self,
        *,
        request_id: str | None,
        subject: str | None,
        role: str | None,
        actor_client_id: uuid.UUID | None,
        actor_provider_id: uuid.UUID | None,
        method: str,
        path: str,
        service: str | None,
        ip: str | None,
        status: int,
    ) -> None:
        """Queue an entry for the next batch, stamped with the time it happened (not the time it is written).
        What follows from the path and status (target client, outcome) is worked out when the batch is written,
        off the request's path."""
        if len(self._pending) >= MAX_PENDING:
            del self._pending[0]
            AUDIT_DROPPED.inc()
        self._pending.append(
            (
                datetime.now(UTC),
                request_id,
                subject,
                role,
                actor_client_id,
                actor_provider_id,
                method,
                path,
                service,
                ip,
                status,
            )
        )

    async def record_now(self, **entry: Any) -> None:
        """Write an entry (with any queued before it, so ids keep their order) before returning."""
        self.record(**entry)
        try:
            await self.flush()
        except Exception as exc:
            log.warning("audit write failed; will retry", extra={"error": type(exc).__name__})

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            await self._copy(list(map(_row, batch)))
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
            # The database refused what one entry holds: write the entries one by one so that one entry (and
            # never the batch, nor the writer) is set aside; it is stored with its text replaced.
            AUDIT_WRITE_FAILURES.labels(kind="refused_row").inc()
            log.warning(
                "audit batch refused; writing entries one by one", extra={"error": type(exc).__name__}
            )
            await self._write_one_by_one(batch)
        except Exception:
            # The database is unreachable: keep the entries for the next try rather than lose them.
            AUDIT_WRITE_FAILURES.labels(kind="unavailable").inc()
            self._pending = (batch + self._pending)[-MAX_PENDING:]
            raise

    async def _copy(self, rows: list[tuple[Any, ...]]) -> None:
        # COPY through the driver: one round trip and no per-row statement work, whatever the batch size
        # (an executemany through SQLAlchemy cost about as much gateway CPU per request as the forwarding).
        async with self.db.connection() as pg:
            await pg.copy_records_to_table(
                audit_events.name, schema_name=audit_events.schema, columns=COLUMNS, records=rows
            )

    async def _write_one_by_one(self, batch: list[tuple[Any, ...]]) -> None:
        for entry in batch:
            try:
                await self._copy([_row(entry)])
            except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
                AUDIT_QUARANTINED.inc()
                log.warning("audit entry stored without its text", extra={"error": type(exc).__name__})
                await self._copy([_last_resort(entry)])

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval_s)
            try:
                await self.flush()
            except Exception as exc:
                log.warning("audit flush failed; will retry", extra={"error": type(exc).__name__})

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()

    async def query(
        self,
        *,
        subject: str | None,
        target_client_id: uuid.UUID | None,
        since: datetime | None,
        until: datetime | None,
        after_id: int | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        try:
            await self.flush()  # what happened just now is visible to ops right away
        except Exception as exc:  # the log already written is still readable while a write is failing
            log.warning("audit flush before a read failed", extra={"error": type(exc).__name__})
        t = audit_events
        q = select(t).order_by(t.c.id).limit(limit)
        if subject:
            q = q.where(t.c.subject == subject)
        if target_client_id:
            q = q.where(t.c.target_client_id == target_client_id)
        if since:
            q = q.where(t.c.at >= since)
        if until:
            q = q.where(t.c.at < until)
        if after_id:
            q = q.where(t.c.id > after_id)
        async with self.db.session() as session:
            return [dict(r) for r in (await session.execute(q)).mappings().all()]
