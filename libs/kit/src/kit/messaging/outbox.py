"""Writing events: `publish(session, event)` adds the event to the outbox in the caller's transaction."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import Event
from contracts.cloudevents import Envelope
from kit.db import copy_rows, driver_connection
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
        # One statement for a handful of events, prepared once per connection by asyncpg; the relay is woken by
        # the table's statement trigger (`outbox_wake_ddl`) when the transaction commits. The names are the
        # service's own table, never input.
        into = f'"{table.schema}"."{table.name}" ({", ".join(_COLUMNS)})'
        self._insert = (
            "INSERT INTO "  # noqa: S608
            + into
            + " SELECT e, t, k, y, h::jsonb, p::jsonb FROM unnest($1::uuid[], $2::text[], $3::text[],"
            " $4::text[], $5::text[], $6::text[]) AS r(e, t, k, y, h, p)"
        )

    async def publish(self, session: AsyncSession, *events: Event) -> list[Envelope]:
        """Stage events in the caller's transaction; nothing leaves unless that transaction commits."""
        if not events:
            return []
        envelopes, rows = self._rows(events)
        if len(rows) >= COPY_FROM:
            await copy_rows(session, self.table, _COLUMNS, rows)
        else:
            sql, values = self._statement(rows)
            await (await driver_connection(session)).execute(sql, *values)
        return envelopes

    def statement(self, *events: Event) -> tuple[str, tuple[list[Any], ...]]:
        """The INSERT that stages a handful of `events`, for a caller that sends it together with its own
        writes (`kit.db.execute_together`) in its transaction."""
        return self._statement(self._rows(events)[1])

    def _statement(self, rows: list[tuple[Any, ...]]) -> tuple[str, tuple[list[Any], ...]]:
        return self._insert, tuple(list(column) for column in zip(*rows, strict=True))

    def _rows(self, events: tuple[Event, ...]) -> tuple[list[Envelope], list[tuple[Any, ...]]]:
        trace_headers = dict(inject({}))
        envelopes = [
            Envelope.wrap(
                e, source=self.source, correlation_id=correlation_id.get(), extra_headers=trace_headers
            )
            for e in events
        ]
        rows = [
            (
                env.id,
                type(ev).topic,
                env.subject,
                env.type,
                orjson.dumps(env.header_map()).decode(),
                orjson.dumps(env.data).decode(),
            )
            for env, ev in zip(envelopes, events, strict=True)
        ]
        return envelopes, rows
