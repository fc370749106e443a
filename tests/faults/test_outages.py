"""The broker or the database goes away under load: the service keeps its promises and recovers by itself."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.engine import make_url

from contracts.cloudevents import Envelope
from contracts.events import ClientRegistered
from devstack.infra import create_database, free_port, start_postgres
from kit.db import Database
from kit.messaging.consumer import Consumer
from kit.messaging.kafka import ensure_topics
from kit.settings import KitSettings
from kit.testing.helpers import eventually
from kit.testing.plugin import Infra
from tests.faults.cable import Cable, start_broker_behind
from tests.faults.load import Load
from tests.faults.procs import Launcher, demo_env
from tests.faults.stores import (
    dead_letter_count,
    note_clients,
    processed_count,
    seen_clients,
    seen_count,
    unsent,
)
from tests.kit.demo import SUBSCRIPTIONS, Base, messaging

pytestmark = pytest.mark.fault

SERVICE = "tests.faults.service:create_app"


async def test_broker_unreachable_under_load_requests_succeed_backlog_grows_and_all_is_delivered_after(
    database_url: str, demo_db: Database, topic_prefix: str, launch: Launcher
) -> None:
    cable = Cable(free_port())
    broker = start_broker_behind(cable)
    await cable.plug()
    bootstrap = f"127.0.0.1:{cable.port}"
    try:
        await ensure_topics(
            KitSettings(
                kafka_bootstrap_servers=bootstrap, kafka_topic_prefix=topic_prefix, kafka_partitions=3
            )
        )
        service = launch(
            "service", SERVICE, demo_env(database_url, bootstrap, topic_prefix, relay=True, consumers=True)
        )
        service.start()
        async with Load(service.url) as load:
            await load.wait_acked(20)
            await cable.unplug()
            before = len(load.acked)
            await load.wait_acked(40)
            assert await unsent(demo_db) >= 40, "events wait in the outbox while the broker is away"
            assert load.failures() == {}, "the broker being away is not the caller's problem"
            await cable.plug()
            await load.wait_acked(20)
        assert load.failures() == {}
        assert len(load.acked) >= before + 60
        await eventually(lambda: _consumed_all(demo_db, load.acked), timeout=60, what="everything delivered")
        await eventually(lambda: _published_all(demo_db), what="the outbox drained")
        assert await seen_clients(demo_db) == await note_clients(demo_db)
        assert await processed_count(demo_db) == len(await note_clients(demo_db))
        assert await dead_letter_count(demo_db) == 0
    finally:
        await cable.unplug()
        broker.stop()


async def test_postgres_restarted_under_load_service_goes_not_ready_recovers_and_keeps_what_it_acknowledged(
    infra: Infra, topic_prefix: str, kafka_topics: list[str], launch: Launcher, tmp_path: Path
) -> None:
    data, port = tmp_path / "pg" / "data", free_port()
    pg, base = start_postgres(data, port=port, fast=True)
    try:
        url = create_database(base, "parity")
        db = Database(url, pool_size=2)
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE SCHEMA IF NOT EXISTS kitdemo"))
            await conn.run_sync(Base.metadata.create_all)
        service = launch(
            "service", SERVICE, demo_env(url, infra.kafka, topic_prefix, relay=True, consumers=True)
        )
        service.start()
        async with Load(service.url) as load, httpx.AsyncClient(base_url=service.url) as probe:
            await load.wait_acked(20)
            pg.proc.send_signal(signal.SIGINT)  # fast shutdown: sessions are cut, data is checkpointed
            pg.proc.wait(20)
            await eventually(lambda: _readiness(probe, 503), what="not ready while the database is down")

            pg, _ = start_postgres(data, port=port, fast=True)
            await eventually(lambda: _readiness(probe, 200), timeout=30, what="ready again, by itself")
            await load.wait_acked(20)
        assert service.proc is not None
        assert service.proc.poll() is None, "recovered without a restart"
        acked = set(load.acked)
        await db.dispose()  # its connections died with the old server
        assert acked <= await note_clients(db), "every acknowledged write survived"
        await eventually(
            lambda: _consumed_all(db, acked), timeout=30, what="every acknowledged write's event consumed"
        )
        await eventually(lambda: _published_all(db), what="the outbox drained")
        assert await seen_clients(db) == await note_clients(db)
        assert await processed_count(db) == len(await note_clients(db))
        assert await dead_letter_count(db) == 0
        await db.dispose()
    finally:
        pg.stop()


async def _consumed_all(db: Database, acked: set[str] | list[str]) -> bool:
    return set(acked) <= await seen_clients(db)


async def _published_all(db: Database) -> bool:
    return await unsent(db) == 0


async def _readiness(client: httpx.AsyncClient, status: int) -> bool:
    try:
        return (await client.get("/readyz", timeout=5)).status_code == status
    except httpx.HTTPError:
        return False


async def test_database_unreachable_for_longer_than_the_retries_the_event_waits_and_is_not_dead_lettered(
    database_url: str, demo_db: Database, topic_prefix: str
) -> None:
    """An outage of the consumer's own database is not the event's fault: however long it lasts (here far
    longer than 3 attempts 10 ms apart), the event waits for the database and is applied once, never
    dead-lettered (a dead letter written the moment the database returns would need ops to replay it)."""
    url = make_url(database_url)
    assert url.port is not None
    cable = Cable(url.port)  # the consumer reaches PostgreSQL only through this
    settings = KitSettings(
        database_url=url.set(port=cable.port).render_as_string(hide_password=False),
        kafka_topic_prefix=topic_prefix,
        consumer_max_attempts=3,
        consumer_retry_backoff_s=0.01,
    )
    db = Database(settings.database_url, pool_size=2)
    consumer = Consumer(
        name="demo",
        db=db,
        settings=settings,
        processed=messaging.processed,
        dead_letters=messaging.dead_letters,
        subscriptions=SUBSCRIPTIONS,
    )
    event = ClientRegistered(client_id=uuid.uuid4(), home_state="NY", registered_at=datetime.now(UTC))
    envelope = Envelope.wrap(event, source="test")
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic=settings.topic(ClientRegistered.topic),
        partition=0,
        offset=0,
        timestamp=0,
        timestamp_type=0,
        key=envelope.subject.encode(),
        value=envelope.body(),
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=envelope.headers(),
    )

    async def database_back_later() -> None:
        await asyncio.sleep(1.5)
        await cable.plug()

    try:
        back = asyncio.create_task(database_back_later())
        outcome = await asyncio.wait_for(consumer.handle_record(record), timeout=30)
        await back
    finally:
        await cable.unplug()
        await db.dispose()
    assert outcome == "processed"
    assert await seen_count(demo_db) == 1
    assert await processed_count(demo_db) == 1
    assert await dead_letter_count(demo_db) == 0
