"""The outbox: state and events commit together, and the relay publishes what committed."""

from __future__ import annotations

from kit.db import Database
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
