"""The outbox: state and events commit together, and the relay publishes what committed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import func, select

from contracts.cloudevents import Envelope
from contracts.events import ClientRegistered
from kit.db import Database
from kit.messaging.kafka import make_producer
from kit.messaging.outbox import COPY_FROM
from kit.messaging.relay import OutboxRelay, asyncpg_dsn, notify_channel, partition_of
from kit.runtime import Runtime
from kit.settings import KitSettings
from kit.testing.helpers import TopicReader, eventually, running_app
from kit.testing.plugin import SettingsFactory
from tests.kit.demo import count, create_demo_app, messaging, notes


async def test_rolled_back_request_emits_nothing(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader
) -> None:
    app = create_demo_app(make_settings(KitSettings, service_name="kitdemo", run_relay=True))
    async with running_app(app) as client:
        refused = await client.post("/notes", params={"home_state": "NY", "fail": True})
        assert refused.status_code == 409
        assert refused.headers["content-type"] == "application/problem+json"
        accepted = await client.post("/notes", params={"home_state": "CA"})
        assert accepted.status_code == 201
        published = await topics.wait_for("client.registered")
    assert await count(demo_db, notes) == 1
    assert await count(demo_db, messaging.outbox) == 1
    assert [e.data["client_id"] for e in published] == [accepted.json()["client_id"]]
    assert published[0].type == "parity.client.registered.v1"
    assert published[0].subject == accepted.json()["client_id"]


async def test_relay_marks_rows_sent_and_publishes_cloudevents_headers(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader
) -> None:
    app = create_demo_app(make_settings(KitSettings, service_name="kitdemo", run_relay=True))
    async with running_app(app) as client:
        ids = [
            (await client.post("/notes", params={"home_state": "TX"})).json()["client_id"] for _ in range(5)
        ]
        records = await eventually(lambda: _records_when(topics, 5), what="five records on client.registered")

        async def all_sent() -> bool:
            async with demo_db.session() as s:
                rows = (await s.execute(messaging.outbox.select())).mappings().all()
            return all(r["sent_at"] is not None for r in rows)

        await eventually(all_sent, what="outbox rows marked sent")
    header_names = {k for k, _ in records[0].headers}
    assert {"ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "ce_subject"} <= header_names
    assert sorted(r.key.decode() for r in records) == sorted(ids)


async def _records_when(topics: TopicReader, n: int) -> list:  # type: ignore[type-arg]
    records = await topics.records("client.registered")
    return records if len(records) >= n else []


async def test_bulk_publish_goes_in_with_copy_inside_the_transaction_and_keeps_order_per_key(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader
) -> None:
    """Hundreds of events staged in one call (a plan-wide re-pricing) take the COPY path: they still vanish
    with a rolled-back transaction, and the relay's per-partition batches keep each key's events in order."""
    settings = make_settings(KitSettings, service_name="kitdemo", relay_batch_size=150)
    runtime = Runtime.build(settings, messaging)
    keys = [uuid.uuid4() for _ in range(7)]
    events = [
        ClientRegistered(
            client_id=keys[i % 7], home_state=STATES[i % len(STATES)], registered_at=datetime.now(UTC)
        )
        for i in range(3 * COPY_FROM)
    ]

    async def stage_then_fail() -> None:
        async with demo_db.session() as s:
            await runtime.outbox.publish(s, *events)
            assert await s.scalar(select(func.count()).select_from(messaging.outbox)) == len(events)
            raise RuntimeError("the unit of work fails after staging")

    with pytest.raises(RuntimeError):
        await stage_then_fail()
    assert await count(demo_db, messaging.outbox) == 0

    async with demo_db.session() as s:
        await runtime.outbox.publish(s, *events)
    relay = OutboxRelay(
        db=demo_db,
        table=messaging.outbox,
        settings=settings,
        producer_factory=lambda: make_producer(settings),
    )
    try:
        while await relay.publish_batch():  # two full batches of 150 and the rest
            pass
    finally:
        await relay.reset_producer()
        await runtime.stop()
    published = await eventually(
        lambda: _events_when(topics, len(events)), what="every bulk-staged event on the topic"
    )
    for key in keys:
        sent = [e.home_state for e in events if e.client_id == key]
        got = [p.data["home_state"] for p in published if p.subject == str(key)]
        assert got == sent, "one key's events arrive in the order they were staged"


STATES = ["CA", "NY", "TX", "WA", "OR", "NV", "AZ", "UT", "ID"]


async def _events_when(topics: TopicReader, n: int) -> list[Envelope]:
    events = await topics.events("client.registered")
    return events if len(events) >= n else []


def test_relay_puts_each_key_on_the_partition_the_default_partitioner_would() -> None:
    """The relay builds record batches per partition itself; a key must land where every other producer (the
    Java client, aiokafka's default) would put it, or one aggregate's events could split across partitions."""
    default = DefaultPartitioner()
    keys = [str(uuid.uuid4()).encode() for _ in range(500)] + [b"", b"a", b"client-1"]
    for n in (1, 6, 7):
        partitions = list(range(n))
        got = [partition_of(k, partitions) for k in keys]
        assert got == [default(k, partitions, partitions) for k in keys]
        assert len(set(got)) == n


async def test_a_committed_publish_wakes_the_relay_by_trigger_and_a_rolled_back_one_does_not(
    make_settings: SettingsFactory, demo_db: Database, database_url: str
) -> None:
    """The outbox's statement trigger NOTIFYs the relay's channel on commit: the writer spends no round trip."""
    settings = make_settings(KitSettings, service_name="kitdemo")
    runtime = Runtime.build(settings, messaging)
    woken: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(database_url))
    await listener.add_listener(notify_channel(messaging.outbox), lambda *args: woken.put_nowait(args[2]))
    event = ClientRegistered(client_id=uuid.uuid4(), home_state="NY", registered_at=datetime.now(UTC))

    async def publish_then_fail() -> None:
        async with demo_db.session() as s:
            await runtime.outbox.publish(s, event)
            raise RuntimeError("rolled back")

    try:
        with pytest.raises(RuntimeError):
            await publish_then_fail()
        await asyncio.sleep(0.3)
        assert woken.empty()
        async with demo_db.session() as s:
            await runtime.outbox.publish(s, event, event.model_copy(update={"home_state": "CA"}))
        assert await asyncio.wait_for(woken.get(), timeout=5) == "outbox_kitdemo"
        await asyncio.sleep(0.3)
        assert woken.empty(), "one notification per transaction"
    finally:
        await listener.close()
        await runtime.stop()
    async with demo_db.session() as s:
        rows = (await s.execute(messaging.outbox.select().order_by(messaging.outbox.c.seq))).mappings().all()
    assert [r["payload"]["home_state"] for r in rows] == ["NY", "CA"]
    assert [r["event_type"] for r in rows] == ["parity.client.registered.v1"] * 2
    assert rows[0]["headers"]["ce_id"] == str(rows[0]["event_id"])


async def test_the_relay_publishes_each_commit_at_once_without_waiting_for_its_poll(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader
) -> None:
    """With a poll interval far longer than the wait, only the trigger's wake-up can deliver in time."""
    settings = make_settings(KitSettings, service_name="kitdemo", run_relay=True, relay_poll_interval_s=60)
    app = create_demo_app(settings)
    async with running_app(app) as client:
        await asyncio.sleep(1)  # the relay's first look is behind it; it now waits for a wake-up
        for n in range(1, 4):
            await client.post("/notes", params={"home_state": "NY"})
            await eventually(lambda n=n: _records_when(topics, n), timeout=5, what=f"event {n} published")


async def test_marking_a_batch_sent_skips_the_disk_wait_in_its_own_transaction_only(
    make_settings: SettingsFactory, demo_db: Database
) -> None:
    """The mark is the only write a crash may lose (the batch is then published again); the setting must not
    outlive the relay's transaction on the pooled connection, or the next unit of work on it would commit
    without waiting for the disk too."""
    settings = make_settings(KitSettings, service_name="kitdemo", run_relay=False)
    async with running_app(create_demo_app(settings)) as client:
        assert (await client.post("/notes", params={"home_state": "NY"})).status_code == 201
    relay = OutboxRelay(
        db=demo_db,
        table=messaging.outbox,
        settings=settings,
        producer_factory=lambda: make_producer(settings),
    )
    async with demo_db.connection() as pg:
        await pg.execute("SET synchronous_commit = on")  # the test server runs with it off
        async with pg.transaction():
            rows = await pg.fetch(relay._claim, 10)
            assert len(rows) == 1
            await pg.execute(relay._mark_sent, [rows[0][0]])
            assert await pg.fetchval("SHOW synchronous_commit") == "off"
        assert await pg.fetchval("SHOW synchronous_commit") == "on"
        assert (
            await pg.fetchval(
                f"SELECT count(*) FROM {messaging.outbox.schema}.{messaging.outbox.name} WHERE sent_at IS NULL"
            )
            == 0
        )
        await pg.execute("RESET synchronous_commit")
