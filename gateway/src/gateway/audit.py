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

from sqlalchemy import select

from gateway.models import audit_events
from kit.db import Database

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
    *head, path, service, ip, status = entry
    return (*head, path, service, target_client(path), ip, status, outcome_of(status))


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
            # COPY through the driver: one round trip and no per-row statement work, whatever the batch size
            # (an executemany through SQLAlchemy cost about as much gateway CPU per request as the forwarding).
            async with self.db.connection() as pg:
                await pg.copy_records_to_table(
                    audit_events.name,
                    schema_name=audit_events.schema,
                    columns=COLUMNS,
                    records=map(_row, batch),
                )
        except Exception:
            # Keep the entries for the next try rather than lose them.
            self._pending = batch + self._pending
            raise

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
        await self.flush()  # what happened just now is visible to ops right away
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
