"""A service's runtime: its settings, database, outbox, clock and background workers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import MetaData, Table

from kit.clock import Clock, SystemClock
from kit.db import Database
from kit.jobs import PeriodicJob, run_periodically
from kit.messaging.consumer import Consumer, Subscription
from kit.messaging.kafka import make_producer
from kit.messaging.outbox import Outbox
from kit.messaging.relay import OutboxRelay
from kit.messaging.tables import define_dead_letter_table, define_messaging_tables
from kit.settings import KitSettings
from kit.tracing import inject

log = logging.getLogger("kit.runtime")


# Young-generation collections every 20,000 net allocations instead of 700: a bulk job allocates millions of
# short-lived objects, and each collection is paid per allocation burst, not per object freed.
GC_GEN0_THRESHOLD = 20_000


def settle_heap() -> None:
    """Take what start-up allocated (modules, models, compiled queries) out of the cyclic collector's sight.

    Otherwise every older-generation pass walks those hundreds of thousands of immortal objects again; in a
    plan-wide re-pricing a third of the process's CPU went to the collector (bench/README.md, re-pricing).
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


async def _inject_trace(request: httpx.Request) -> None:
    inject(request.headers)


class MessagingTables:
    """The outbox, processed-events and dead-letter tables of one service's schema."""

    def __init__(self, metadata: MetaData) -> None:
        self.outbox, self.processed = define_messaging_tables(metadata)
        self.dead_letters: Table = define_dead_letter_table(metadata)


@dataclass
class Runtime:
    """Everything a request handler, event handler or job of one service shares."""

    settings: KitSettings
    db: Database
    tables: MessagingTables
    outbox: Outbox
    clock: Clock
    http: httpx.AsyncClient
    consumers: list[Consumer] = field(default_factory=list)
    jobs: list[PeriodicJob] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    relay: OutboxRelay | None = None

    @classmethod
    def build(cls, settings: KitSettings, tables: MessagingTables, *, clock: Clock | None = None) -> Runtime:
        db = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=2.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            event_hooks={"request": [_inject_trace]},
            headers={
                "x-internal-token": settings.internal_token,
                "x-parity-role": "service",
                "x-parity-subject": f"service:{settings.service_name}",
            },
        )
        return cls(
            settings=settings,
            db=db,
            tables=tables,
            outbox=Outbox(tables.outbox, source=settings.service_name),
            clock=clock or SystemClock(),
            http=http,
        )

    def on_stop(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Release a service's own resource (a client pool for a partner) when the service stops."""
        self._closers.append(closer)

    def add_consumer(self, name: str, subscriptions: list[Subscription[Any]]) -> Consumer:
        consumer = Consumer(
            name=name,
            db=self.db,
            settings=self.settings,
            processed=self.tables.processed,
            dead_letters=self.tables.dead_letters,
            subscriptions=subscriptions,
            state=self,
        )
        self.consumers.append(consumer)
        return consumer

    def _supervise(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Keep a background worker alive: a crash is logged and the worker restarts after a pause."""

        async def loop() -> None:
            delay = 0.5
            while True:
                try:
                    await factory()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background worker crashed; restarting", extra={"worker": name})
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)

        self._tasks.append(asyncio.create_task(loop(), name=name))

    async def start_workers(self) -> None:
        s = self.settings
        if s.run_relay:
            self.relay = OutboxRelay(
                db=self.db, table=self.tables.outbox, settings=s, producer_factory=lambda: make_producer(s)
            )
            self._supervise("relay", self.relay.run)
        if s.run_consumers:
            for consumer in self.consumers:
                self._supervise(f"consumer:{consumer.name}", consumer.run)
        if s.run_scheduler:
            for job in self.jobs:
                self._supervise(f"job:{job.name}", lambda job=job: run_periodically(self, job))  # type: ignore[misc]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:
                log.exception("closing a service resource failed")
        self._closers.clear()
        await self.http.aclose()
        await self.db.dispose()
