"""The broker or the database goes away under load: the service keeps its promises and recovers by itself."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from devstack.infra import create_database, free_port, start_postgres
from kit.db import Database
from kit.messaging.kafka import ensure_topics
from kit.settings import KitSettings
from kit.testing.helpers import eventually
from kit.testing.plugin import Infra
from tests.faults.cable import Cable, start_broker_behind
from tests.faults.load import Load
from tests.faults.procs import Launcher, demo_env
from tests.faults.stores import dead_letter_count, note_clients, processed_count, seen_clients, unsent
from tests.kit.demo import Base

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
