"""kill -9 in the middle of the event stream: nothing is lost and nothing takes effect twice."""

from __future__ import annotations

import signal

import pytest

from kit.db import Database
from kit.testing.helpers import TopicReader, eventually
from kit.testing.plugin import Infra
from tests.faults.procs import Launcher, demo_env, metric
from tests.faults.stores import (
    commit_notes,
    dead_letter_count,
    processed_count,
    seen_clients,
    seen_count,
    unsent,
)

pytestmark = pytest.mark.fault

SERVICE = "tests.faults.service:create_app"


async def test_consumer_killed_mid_stream_processes_every_event_exactly_once_in_effect(
    infra: Infra,
    database_url: str,
    demo_db: Database,
    topic_prefix: str,
    kafka_topics: list[str],
    launch: Launcher,
) -> None:
    sent = await commit_notes(demo_db, 300)
    launch(
        "relay", SERVICE, demo_env(database_url, infra.kafka, topic_prefix, relay=True, consumers=False)
    ).start()
    await eventually(lambda: _is_zero(unsent(demo_db)), what="every event published")

    consumer = launch(
        "consumer", SERVICE, demo_env(database_url, infra.kafka, topic_prefix, relay=False, consumers=True)
    )
    consumer.start(FAULT_HANDLER_DELAY_S="0.01")
    await eventually(lambda: _at_least(seen_count(demo_db), 30), interval=0.01, what="the stream under way")
    consumer.kill9()
    assert await seen_count(demo_db) < len(sent), (
        "the consumer must die mid-stream for this test to mean anything"
    )

    consumer.start()
    await eventually(
        lambda: _at_least(seen_count(demo_db), len(sent)), timeout=30, what="the stream finished"
    )
    # Redelivered records whose effects had already committed were recognised and skipped.
    assert metric(consumer.url, "parity_events_consumed_total", consumer="demo", outcome="skipped") >= 1
    assert await seen_clients(demo_db) == sent
    assert await seen_count(demo_db) == len(sent)
    assert await processed_count(demo_db) == len(sent)
    assert await dead_letter_count(demo_db) == 0


async def test_relay_killed_after_broker_ack_before_marking_sent_duplicates_are_absorbed(
    infra: Infra,
    database_url: str,
    demo_db: Database,
    topic_prefix: str,
    kafka_topics: list[str],
    launch: Launcher,
) -> None:
    sent = await commit_notes(demo_db, 20)
    reader = TopicReader(infra.kafka, topic_prefix)
    service = launch(
        "service", SERVICE, demo_env(database_url, infra.kafka, topic_prefix, relay=True, consumers=True)
    )
    service.start(wait=False, FAULT_KILL_BEFORE_MARK_SENT="1", RUN_CONSUMERS="false")
    assert service.wait_exit() == -signal.SIGKILL
    assert len(await reader.records("client.registered")) == len(sent), "the broker acknowledged the batch"
    assert await unsent(demo_db) == len(sent), "no row was marked sent"

    service.start()
    await eventually(lambda: _is_zero(unsent(demo_db)), what="the batch published again")
    await eventually(lambda: _at_least(seen_count(demo_db), len(sent)), what="every event consumed")
    assert len(await reader.records("client.registered")) == 2 * len(sent), "every event went out twice"
    await eventually(
        lambda: _at_least(_async(metric(service.url, "parity_events_consumed_total", outcome="skipped")), 20),
        what="the duplicates seen and skipped",
    )
    assert await seen_clients(demo_db) == sent
    assert await seen_count(demo_db) == len(sent)
    assert await processed_count(demo_db) == len(sent)
    assert await dead_letter_count(demo_db) == 0


async def _async(value: float) -> float:
    return value


async def _is_zero(value: object) -> bool:
    return await value == 0  # type: ignore[misc]


async def _at_least(value: object, n: float) -> bool:
    return await value >= n  # type: ignore[misc]
