"""The outbox relay: claims unsent rows with FOR UPDATE SKIP LOCKED, publishes them, marks them sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from sqlalchemy import Table, delete, func, select

from kit.db import Database, asyncpg_dsn, listen_forever
from kit.messaging.kafka import start_with_retry
from kit.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISH_ERRORS, OUTBOX_PUBLISHED
from kit.settings import KitSettings

log = logging.getLogger("kit.relay")

__all__ = ["OutboxRelay", "asyncpg_dsn", "notify_channel", "partition_of"]


def notify_channel(table: Table) -> str:
    return f"outbox_{table.schema}"


@lru_cache(maxsize=65536)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_of(key: bytes, partitions: list[int]) -> int:
    """The partition the Java client's (and aiokafka's) default partitioner puts `key` on, among the topic's
    sorted partitions. One aggregate's key recurs from batch to batch, so its hash is cached."""
    return partitions[_key_hash(key) % len(partitions)]


class OutboxRelay:
    """Publishes a service's outbox. Several relays may run: SKIP LOCKED hands each a disjoint batch."""

    def __init__(
        self,
        *,
        db: Database,
        table: Table,
        settings: KitSettings,
        producer_factory: Callable[[], AIOKafkaProducer],
        retention: timedelta = timedelta(days=1),
    ) -> None:
        self.db = db
        self.table = table
        self.settings = settings
        self.producer_factory = producer_factory
        self.producer: AIOKafkaProducer | None = None
        self._partitions: dict[str, list[int]] = {}
        self.retention = retention
        self._wake = asyncio.Event()
        self.send_timeout_s = 15.0
        self._service = settings.service_name
        # The service's own table, never input.
        name = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
        # Headers and payload as text: the driver does not decode the JSON only for us to encode it again.
        self._claim = (
            "SELECT seq, topic, key, headers::text, payload::text FROM "  # noqa: S608
            + name
            + " WHERE sent_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
        )
        # Losing a "sent" mark in a crash only means publishing those rows again, which consumers absorb; the
        # state and events themselves were committed durably by the transaction that wrote them. So this
        # transaction's commit need not wait for the disk (set_config(..., true) is SET LOCAL).
        self._mark_sent = (
            "UPDATE "  # noqa: S608
            + name
            + " SET sent_at = now() FROM (SELECT set_config('synchronous_commit', 'off', true)) AS c"
            " WHERE seq = ANY($1::bigint[])"
        )

    async def _producer(self) -> AIOKafkaProducer:
        if self.producer is None:
            producer = self.producer_factory()
            await start_with_retry(producer, what="relay")
            self.producer = producer
        return self.producer

    async def reset_producer(self) -> None:
        """Drop the producer after a failed batch; the next batch starts one with fresh metadata."""
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
            self.producer = None
            self._partitions.clear()

    async def _partition(self, producer: AIOKafkaProducer, topic: str, key: bytes) -> int:
        """The partition the default partitioner would choose: the key's murmur2 over the sorted partitions."""
        known = self._partitions.get(topic)
        if known is None:
            known = self._partitions[topic] = sorted(await producer.partitions_for(topic))
        return partition_of(key, known)

    async def _send(self, producer: AIOKafkaProducer, rows: Any) -> list[asyncio.Future[Any]]:
        """Hand the rows to the producer as one record batch per partition, in order (per-record `send` costs
        several times more CPU: a future, a partitioner call and an accumulator lookup per record)."""
        futures: list[asyncio.Future[Any]] = []
        batches: dict[tuple[str, int], Any] = {}
        for _seq, topic, key, headers, payload in rows:
            name = self.settings.topic(topic)
            k = key.encode()
            tp = (name, await self._partition(producer, name, k))
            hdrs = [(h, str(v).encode()) for h, v in orjson.loads(headers).items()]
            batch = batches.get(tp)
            if batch is None:
                batch = batches[tp] = producer.create_batch()
            if batch.append(key=k, value=payload.encode(), timestamp=None, headers=hdrs) is None:
                # Full: submit it (order within the partition is kept) and start the next one.
                futures.append(await producer.send_batch(batch, tp[0], partition=tp[1]))
                batch = batches[tp] = producer.create_batch()
                if batch.append(key=k, value=payload.encode(), timestamp=None, headers=hdrs) is None:
                    raise ValueError(f"outbox row larger than the producer's max_batch_size ({tp[0]})")
        for (name, partition), batch in batches.items():
            futures.append(await producer.send_batch(batch, name, partition=partition))
        return futures

    async def publish_batch(self) -> int:
        """Publish one batch of unsent rows in order; returns how many went out."""
        producer = await self._producer()
        # Fixed SQL on the driver connection: the relay runs a batch for every few commits, and the ORM's
        # statement machinery cost more CPU than the statements themselves.
        async with self.db.transaction() as pg:
            rows = await pg.fetch(self._claim, self.settings.relay_batch_size)
            if not rows:
                return 0
            futures = await self._send(producer, rows)
            # Every send must be acknowledged before the rows are marked sent; a crash in between means
            # the batch is published again and consumers absorb the duplicates.
            await asyncio.wait_for(asyncio.gather(*futures), timeout=self.send_timeout_s)
            await pg.execute(self._mark_sent, [r[0] for r in rows])
        OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)

    async def measure_backlog(self) -> None:
        t = self.table
        async with self.db.session() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.extract("epoch", func.now() - func.min(t.c.created_at))).where(
                        t.c.sent_at.is_(None)
                    )
                )
            ).one()
        OUTBOX_BACKLOG.labels(self._service).set(count)
        OUTBOX_OLDEST_AGE.labels(self._service).set(float(oldest or 0))

    async def purge_sent(self) -> None:
        t = self.table
        async with self.db.session() as session:
            await session.execute(
                delete(t).where(t.c.sent_at.is_not(None), t.c.sent_at < func.now() - self.retention)
            )

    async def run(self) -> None:
        """Publish until cancelled; with the broker or database down, wait and try again."""
        listener = asyncio.create_task(
            listen_forever(
                self.settings.database_url, notify_channel(self.table), self._wake.set, what="outbox listener"
            )
        )
        backoff = 0.2
        loops = 0
        try:
            while True:
                try:
                    # Cleared before the batch, so a commit notified while it runs is published straight after.
                    self._wake.clear()
                    sent = await self.publish_batch()
                    backoff = 0.2
                    loops += 1
                    if loops % 25 == 1:
                        await self.measure_backlog()
                    if loops % 5000 == 1:
                        await self.purge_sent()
                    if sent >= self.settings.relay_batch_size:
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.settings.relay_poll_interval_s)
                        if self.settings.relay_linger_s:
                            await asyncio.sleep(self.settings.relay_linger_s)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    OUTBOX_PUBLISH_ERRORS.labels(self._service).inc()
                    log.warning("outbox relay batch failed; will retry", extra={"error": repr(exc)[:300]})
                    await self.reset_producer()
                    with contextlib.suppress(Exception):
                        await self.measure_backlog()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            await self.reset_producer()
            listener.cancel()
            with contextlib.suppress(BaseException):
                await listener
