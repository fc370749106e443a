"""Benchmark 3, outbox relay: events/s from committed outbox rows to broker acknowledgement through the kit's
OutboxRelay (as a service runs it), against the raw aiokafka producer rate to the same broker and topic.
`python -m bench.bench_relay`; BENCH_RELAY_EVENTS (default 50000), BENCH_PROFILE=1 prints a relay profile."""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import time
import uuid
from datetime import UTC, datetime

import orjson
from sqlalchemy import func, select, text

from bench.harness import Report, Stack, machine
from contracts.cloudevents import Envelope
from contracts.events import ClientRegistered
from kit.db import Database, make_base
from kit.messaging.kafka import ensure_topics, make_producer
from kit.messaging.outbox import Outbox
from kit.messaging.relay import OutboxRelay
from kit.runtime import MessagingTables
from kit.settings import KitSettings

Base = make_base("benchrelay")
messaging = MessagingTables(Base.metadata)
TOPIC = ClientRegistered.topic


def event() -> ClientRegistered:
    return ClientRegistered(client_id=uuid.uuid4(), home_state="NY", registered_at=datetime.now(UTC))


async def fill(db: Database, n: int) -> None:
    """Commit n events to the outbox the way services do (Outbox.publish), 1,000 per transaction."""
    outbox = Outbox(messaging.outbox, source="bench")
    for start in range(0, n, 1000):
        async with db.session() as session:
            await outbox.publish(session, *[event() for _ in range(min(1000, n - start))])


async def unsent(db: Database) -> int:
    t = messaging.outbox
    async with db.session() as session:
        return int((await session.execute(select(func.count()).where(t.c.sent_at.is_(None)))).scalar_one())


async def relay_rate(
    db: Database, settings: KitSettings, n: int, *, relay_class: type[OutboxRelay], profile: bool
) -> float:
    """Events/s of the relay's run loop draining n committed rows (producer started before the clock)."""
    relay = relay_class(
        db=db, table=messaging.outbox, settings=settings, producer_factory=lambda: make_producer(settings)
    )
    await relay._producer()
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    task = asyncio.create_task(relay.run())
    while await unsent(db) > 0:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return n / elapsed


async def raw_rate(settings: KitSettings, n: int) -> float:
    """Events/s of one aiokafka producer (the kit's options) sending n envelopes of the same size and waiting
    for every acknowledgement: the ceiling any relay on this broker can reach."""
    records = []
    for _ in range(n):
        env = Envelope.wrap(event(), source="bench")
        records.append((env.subject.encode(), orjson.dumps(env.data), list(env.headers())))
    producer = make_producer(settings)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send(settings.topic(TOPIC), key=k, value=v, headers=h) for k, v, h in records
        ]
        await asyncio.gather(*futures)
        return n / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def measure(database_url: str, bootstrap: str, n: int, profile: bool) -> list[str]:
    lines = []
    variants = [(OutboxRelay, "kit", 500), (OutboxRelay, "kit", 2000)]
    for relay_class, label, batch in variants:
        settings = KitSettings(
            service_name="bench",
            database_url=database_url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=f"b{uuid.uuid4().hex[:6]}.",
            relay_batch_size=batch,
        )
        await ensure_topics(settings, [TOPIC])
        db = Database(database_url)
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE SCHEMA IF NOT EXISTS benchrelay"))
            await conn.run_sync(Base.metadata.create_all)
            await conn.execute(text("TRUNCATE benchrelay.outbox"))
        await fill(db, n)
        relay = await relay_rate(
            db, settings, n, relay_class=relay_class, profile=profile and label == "kit" and batch == 500
        )
        raw = await raw_rate(settings, n)
        await db.dispose()
        lines.append(f"| {label} | {batch} | {n:,} | {relay:,.0f} | {raw:,.0f} | {relay / raw:.2f} |")
    return lines


def run(report: Report) -> None:
    n = int(os.environ.get("BENCH_RELAY_EVENTS", "50000"))
    profile = os.environ.get("BENCH_PROFILE") == "1"
    with Stack("relay") as stack:
        url = stack.start_postgres()
        bootstrap = stack.start_broker()
        rows = asyncio.run(measure(url, bootstrap, n, profile))
        report.section(
            "Outbox relay (3)",
            [
                f"Machine: {machine()}",
                "client.registered envelopes (about 300 bytes), 6 partitions, acks=all; PostgreSQL with fsync on.",
                "",
                "| relay | RELAY_BATCH_SIZE | events | relay events/s | raw producer events/s | relay/raw |",
                "|---|---:|---:|---:|---:|---:|",
                *rows,
            ],
        )


def main() -> None:
    run(Report())


if __name__ == "__main__":
    main()
