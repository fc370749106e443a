"""Writing events: `publish(session, event)` adds the event to the outbox in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import Event
from contracts.cloudevents import Envelope
from kit.logging import correlation_id
from kit.tracing import inject


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
        await session.execute(
            insert(self.table),
            [
                {
                    "event_id": env.id,
                    "topic": type(ev).topic,
                    "key": env.subject,
                    "event_type": env.type,
                    "headers": {k: v.decode() for k, v in env.headers()},
                    "payload": env.data,
                }
                for env, ev in zip(envelopes, events, strict=True)
            ],
        )
        # Wakes the relay the moment this transaction commits (NOTIFY is delivered on commit only).
        await session.execute(
            text("SELECT pg_notify(:channel, '')"), {"channel": f"outbox_{self.table.schema}"}
        )
        return envelopes
