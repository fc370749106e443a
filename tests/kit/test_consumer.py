"""Consumers: a redelivered event changes nothing, a poison event lands in the DLQ and the next one is
still processed, and offsets are committed only after the database commit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy import select

from contracts.cloudevents import Envelope
from contracts.events import ClientRegistered
from kit.db import Database
from kit.settings import KitSettings
from kit.testing.helpers import OPS, TopicReader, as_role, consumer_record, eventually, running_app
from kit.testing.plugin import SettingsFactory
from tests.kit.demo import MANY_CALLS, count, create_demo_app, messaging, seen


def _registered(home_state: str = "NY") -> Envelope:
    event = ClientRegistered(client_id=uuid.uuid4(), home_state=home_state, registered_at=datetime.now(UTC))
    return Envelope.wrap(event, source="test")


async def _send(settings: KitSettings, *items: tuple[Envelope, bytes | None]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False)
    await producer.start()
    try:
        for envelope, body in items:
            await producer.send_and_wait(
                settings.topic("client.registered"),
                key=envelope.subject.encode(),
                value=envelope.body() if body is None else body,
                headers=envelope.headers(),
            )
    finally:
        await producer.stop()


async def test_duplicate_event_is_processed_once(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader
) -> None:
    settings = make_settings(KitSettings, service_name="kitdemo", run_consumers=True)
    envelope = _registered()
    async with running_app(create_demo_app(settings)):
        await _send(settings, (envelope, None), (envelope, None))
        marker = _registered()
        await _send(settings, (marker, None))  # same partition order is not guaranteed; wait for both ids

        async def both_seen() -> bool:
            async with demo_db.session() as s:
                ids = {r.event_id for r in (await s.execute(seen.select())).all()}
            return {envelope.id, marker.id} <= ids

        await eventually(both_seen, what="both events processed")
    assert await count(demo_db, seen) == 2
    assert await count(demo_db, messaging.processed) == 2


async def test_poison_event_goes_to_dlq_and_next_event_is_processed(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader
) -> None:
    settings = make_settings(KitSettings, service_name="kitdemo", run_consumers=True, consumer_max_attempts=2)
    failing = _registered(home_state="XX")  # the handler raises on it every time
    malformed = _registered()
    good = _registered()
    # All three share one key, so they land on one partition in this order.
    key = failing.subject
    failing_same_key = Envelope(**{**failing.__dict__, "subject": key})
    malformed_same_key = Envelope(**{**malformed.__dict__, "subject": key})
    good_same_key = Envelope(**{**good.__dict__, "subject": key})
    async with running_app(create_demo_app(settings)):
        await _send(
            settings, (failing_same_key, None), (malformed_same_key, b"{not json"), (good_same_key, None)
        )
        dead = await eventually(
            lambda: _at_least(topics, "client.registered.dlq", 2), what="two dead letters"
        )

        async def good_seen() -> bool:
            async with demo_db.session() as s:
                return bool((await s.execute(seen.select().where(seen.c.event_id == good.id))).first())

        await eventually(good_seen, what="the event after the poison ones")
    errors = {h["ce_id"]: h["x-error"] for h in ({k: v.decode() for k, v in r.headers} for r in dead)}
    assert "this event can never be processed" in errors[str(failing.id)]
    assert errors[str(malformed.id)].startswith("poison:")
    assert await count(demo_db, seen) == 1
    assert await count(demo_db, messaging.dead_letters) == 2


async def test_dead_letter_replay_after_fix(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader
) -> None:
    settings = make_settings(KitSettings, service_name="kitdemo", run_consumers=True, consumer_max_attempts=1)
    failing = _registered(home_state="XX")
    async with running_app(create_demo_app(settings)) as client:
        await _send(settings, (failing, None))
        await topics.wait_for("client.registered.dlq")
        refused = await client.get("/ops/dead-letters", headers=as_role("client", client_id=uuid.uuid4()))
        assert refused.status_code == 403
        listed = (await client.get("/ops/dead-letters", headers=OPS)).json()
        assert [d["event_id"] for d in listed] == [str(failing.id)]
        # "The fix": the row the handler needs is now acceptable; simulate by rewriting the stored value.
        async with demo_db.session() as s:
            fixed = Envelope(**{**failing.__dict__, "data": {**failing.data, "home_state": "NJ"}})
            await s.execute(messaging.dead_letters.update().values(value=fixed.body().decode()))
        replayed = await client.post(f"/ops/dead-letters/{listed[0]['id']}/replay", headers=OPS)
        assert replayed.json() == {"id": listed[0]["id"], "outcome": "processed"}
        again = await client.post(f"/ops/dead-letters/{listed[0]['id']}/replay", headers=OPS)
        assert again.json()["outcome"] == "already_processed"
        assert (await client.get("/ops/dead-letters", headers=OPS)).json() == []
    assert await count(demo_db, seen) == 1


async def _at_least(topics: TopicReader, topic: str, n: int) -> list:  # type: ignore[type-arg]
    records = await topics.records(topic)
    return records if len(records) >= n else []


def _same_key(envelope: Envelope, key: str) -> Envelope:
    return Envelope(**{**envelope.__dict__, "subject": key})


async def test_records_fetched_together_are_processed_in_one_transaction(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader
) -> None:
    settings = make_settings(KitSettings, service_name="kitdemo", run_consumers=True)
    key = str(uuid.uuid4())
    events = [_same_key(_registered(), key) for _ in range(20)]
    await _send(settings, *((e, None) for e in events))  # on the partition before the consumer starts
    async with running_app(create_demo_app(settings)):

        async def all_seen() -> bool:
            return await count(demo_db, seen) == len(events)

        await eventually(all_seen, what="every event processed")
    async with demo_db.session() as s:
        # processed_at is now(), the start of the transaction: one value per transaction.
        stamps = set((await s.execute(select(messaging.processed.c.processed_at))).scalars())
    assert await count(demo_db, messaging.processed) == len(events)
    assert len(stamps) < len(events)


@pytest.mark.parametrize("many", [False, True], ids=["one_by_one", "many_handler"])
async def test_a_failing_event_in_a_batch_is_dead_lettered_and_the_others_are_applied_once(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader, many: bool
) -> None:
    settings = make_settings(KitSettings, service_name="kitdemo", run_consumers=True, consumer_max_attempts=2)
    key = str(uuid.uuid4())
    events = [_same_key(_registered(home_state="XX" if i == 4 else "NY"), key) for i in range(10)]
    events.insert(7, events[1])  # and a redelivery of an earlier one inside the same batch
    await _send(settings, *((e, None) for e in events))
    async with running_app(create_demo_app(settings, many=many)):
        [dead] = await eventually(
            lambda: _at_least(topics, "client.registered.dlq", 1), what="the dead letter"
        )

        async def others_seen() -> bool:
            return await count(demo_db, seen) == 9

        await eventually(others_seen, what="the nine good events")
    assert {k: v.decode() for k, v in dead.headers}["ce_id"] == str(events[4].id)
    async with demo_db.session() as s:
        applied = list((await s.execute(select(seen.c.event_id))).scalars())
        recorded = list((await s.execute(select(messaging.processed.c.event_id))).scalars())
    good = {e.id for e in events if e.data["home_state"] == "NY"}
    # `seen` has the event id as its key: an event applied twice would have failed and been dead-lettered.
    assert sorted(applied) == sorted(good) == sorted(recorded)
    assert await count(demo_db, messaging.dead_letters) == 1


async def test_consecutive_events_of_a_type_go_to_its_many_handler_together_each_applied_once(
    make_settings: SettingsFactory, demo_db: Database, topics: TopicReader
) -> None:
    settings = make_settings(KitSettings, service_name="kitdemo", run_consumers=True)
    key = str(uuid.uuid4())
    events = [_same_key(_registered(), key) for _ in range(20)]
    events.insert(5, events[2])  # a redelivery inside the batch goes to the handler once
    MANY_CALLS.clear()
    await _send(settings, *((e, None) for e in events))  # on the partition before the consumer starts
    async with running_app(create_demo_app(settings, many=True)):

        async def all_seen() -> bool:
            return await count(demo_db, seen) == 20

        await eventually(all_seen, what="every event processed")
    assert sum(MANY_CALLS) == 20  # `seen` is keyed by event id: a second application would have failed
    assert max(MANY_CALLS) > 1
    assert await count(demo_db, messaging.processed) == 20


async def test_a_fetch_is_handled_topic_by_topic_earliest_staged_first_each_partition_in_order(
    make_settings: SettingsFactory, demo_db: Database
) -> None:
    """The broker may answer the partitions in any order; the consumer handles the topic whose events were
    staged first first, and every partition's records in their order."""
    settings = make_settings(KitSettings, service_name="kitdemo")
    start = datetime.now(UTC)
    staged = [
        Envelope(**{**_registered().__dict__, "time": start + timedelta(milliseconds=i)}) for i in range(6)
    ]
    # "late" holds the events staged 3..5; "early" holds 0..2, on two partitions, answered after "late".
    fetched = {
        TopicPartition("late", 0): [consumer_record(staged[i], "late", 0, i) for i in (3, 4, 5)],
        TopicPartition("early", 1): [consumer_record(staged[2], "early", 1, 0)],
        TopicPartition("early", 0): [consumer_record(staged[i], "early", 0, i) for i in (0, 1)],
    }
    MANY_CALLS.clear()
    app = create_demo_app(settings, many=True)
    async with running_app(app):
        consumer = app.state.runtime.consumers[0]
        consumer.batch_size = 4  # two transactions: the first takes all of "early" and one of "late"
        await consumer._process_fetched(fetched)
    async with demo_db.session() as s:
        rows = (
            await s.execute(select(messaging.processed.c.event_id, messaging.processed.c.processed_at))
        ).all()
    order = {e.id: i for i, e in enumerate(staged)}
    by_transaction: dict[datetime, set[int]] = {}
    for event_id, at in rows:
        by_transaction.setdefault(at, set()).add(order[event_id])
    # processed_at is now(), the start of each transaction
    assert [by_transaction[at] for at in sorted(by_transaction)] == [{2, 0, 1, 3}, {4, 5}]
    assert MANY_CALLS == [4, 2]  # one call per transaction: the events are of one type
