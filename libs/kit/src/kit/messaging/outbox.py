"""Writing events: `publish(session, event)` adds the event to the outbox in the caller's transaction."""

from __future__ import annotations

import orjson
from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import Event
from contracts.cloudevents import Envelope
from kit.db import copy_rows
from kit.logging import correlation_id
from kit.tracing import inject

# From this many events in one call, rows go in with COPY (a bulk re-pricing stages tens of thousands).
COPY_FROM = 64
_COLUMNS = ("event_id", "topic", "key", "event_type", "headers", "payload")


class Outbox:
    """A service's outbox: events added here are published by the relay after the transaction commits."""

    def __init__(self, table: Table, *, source: str) -> None:
        self.table = table
        self.source = source

    async def publish(self, session: AsyncSession, *events: Event) -> list[Envelope]:
        """Stage events in the caller's transaction; nothing leaves unless that transaction commits."""
        if not events:
            return []
        trace_headers = dict(inject({}))
        envelopes = [
            Envelope.wrap(
                e, source=self.source, correlation_id=correlation_id.get(), extra_headers=trace_headers
            )
            for e in events
        ]
        # Wakes the relay the moment this transaction commits (NOTIFY is delivered on commit only).
        await session.execute(
            text("SELECT pg_notify(:channel, '')"), {"channel": f"outbox_{self.table.schema}"}
        )
        rows = [
            (
                env.id,
                type(ev).topic,
                env.subject,
                env.type,
                env.header_map(),
                env.data,
            )
            for env, ev in zip(envelopes, events, strict=True)
        ]
        if len(rows) >= COPY_FROM:
            records = [(*r[:4], orjson.dumps(r[4]).decode(), orjson.dumps(r[5]).decode()) for r in rows]
            await copy_rows(session, self.table, _COLUMNS, records)
        else:
            await session.execute(insert(self.table), [dict(zip(_COLUMNS, r, strict=True)) for r in rows])
        return envelopes
