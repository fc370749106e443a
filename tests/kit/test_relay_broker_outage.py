"""With the broker down, requests still succeed and events wait in the outbox; when it returns, every one
of them is published."""

from __future__ import annotations

from sqlalchemy import func, select

from devstack.infra import free_port, start_broker
from kit.db import Database
from kit.messaging.kafka import ensure_topics
from kit.settings import KitSettings
from kit.testing.helpers import TopicReader, eventually, running_app
from kit.testing.plugin import SettingsFactory
from tests.kit.demo import create_demo_app, messaging


async def _unsent(db: Database) -> int:
    async with db.session() as s:
        t = messaging.outbox
        return int((await s.execute(select(func.count()).where(t.c.sent_at.is_(None)))).scalar_one())


async def test_relay_delivers_everything_after_broker_stop_and_start(
    make_settings: SettingsFactory, demo_db: Database, topic_prefix: str
) -> None:
    port = free_port()
    broker, bootstrap = start_broker(port=port)
    settings = make_settings(
        KitSettings, service_name="kitdemo", run_relay=True, kafka_bootstrap_servers=bootstrap
    )
    reader = TopicReader(bootstrap, topic_prefix)
    try:
        await ensure_topics(settings)
        async with running_app(create_demo_app(settings)) as client:
            before = [
                (await client.post("/notes", params={"home_state": "NY"})).json()["client_id"]
                for _ in range(3)
            ]
            await reader.wait_for("client.registered", count=3)

            broker.stop()
            during = []
            for _ in range(5):
                response = await client.post("/notes", params={"home_state": "NJ"})
                assert response.status_code == 201  # the broker being down is not the user's problem
                during.append(response.json()["client_id"])
            assert await eventually(lambda: _backlog_is(demo_db, 5), what="five events waiting in the outbox")

            broker, _ = start_broker(port=port)
            await ensure_topics(
                settings
            )  # memory engine: the new broker starts empty, as `make run` re-creates
            delivered = await reader.wait_for(
                "client.registered", lambda e: e.data["client_id"] in during, count=5, timeout=60
            )
            await eventually(lambda: _backlog_is(demo_db, 0), what="outbox drained")
        assert {e.data["client_id"] for e in delivered} == set(during)
        assert not set(before) & set(during)
    finally:
        broker.stop()


async def _backlog_is(db: Database, n: int) -> bool:
    return await _unsent(db) == n
