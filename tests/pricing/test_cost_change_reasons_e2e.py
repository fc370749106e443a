"""Each reason the article gives for a session cost change, end to end: events in on the broker, through the
consumer and the outbox relay, `cost.changed` with that reason out on the topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer

from contracts.base import Event
from contracts.cloudevents import Envelope
from contracts.events import BenefitsChanged, BenefitValues
from kit.clock import ControllableClock
from kit.settings import KitSettings
from kit.testing.helpers import TopicReader, running_app
from kit.testing.plugin import SettingsFactory
from pricing.config import Settings
from pricing.main import create_app
from tests.pricing.conftest import NOW, Served, benefits, confirmed


class Broker:
    def __init__(self, settings: KitSettings) -> None:
        self.settings = settings
        self.producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False
        )

    async def send(self, event: Event) -> None:
        env = Envelope.wrap(event, source="test")
        await self.producer.send_and_wait(
            self.settings.topic(event.topic),
            key=env.subject.encode(),
            value=env.body(),
            headers=env.headers(),
        )


@pytest.fixture
async def broker(
    make_settings: SettingsFactory, card_processor: Served, topics: TopicReader
) -> AsyncIterator[Broker]:
    settings = make_settings(
        Settings, run_consumers=True, run_relay=True, card_processor_url=card_processor.url
    )
    async with running_app(create_app(settings, clock=ControllableClock(NOW))):
        b = Broker(settings)
        await b.producer.start()
        try:
            yield b
        finally:
            await b.producer.stop()


def _changed(
    client: UUID, coverage: UUID, reason: str, old: BenefitValues | None, new: BenefitValues
) -> BenefitsChanged:
    return BenefitsChanged(
        coverage_id=coverage,
        client_id=client,
        payer_id="aetna",
        snapshot_id=uuid4(),
        reason=reason,  # type: ignore[arg-type]
        old=old,
        new=new,
        changed_at=NOW,
    )


async def _scenario(
    broker: Broker,
    topics: TopicReader,
    *,
    before: BenefitValues,
    first: str,
    after: BenefitValues,
    reason: str,
    day: date,
) -> tuple[str, str, str]:
    """Priced at `first` under `before`, then benefits change to `after`; returns (old, new, reason)."""
    client, coverage = uuid4(), uuid4()
    await broker.send(_changed(client, coverage, "first_verification", None, before))
    session = confirmed(client, day=day, coverage_id=coverage)
    await broker.send(session)
    # Topics are not ordered with each other: wait for the price under `before` before changing it.
    sid = str(session.session_id)
    await topics.wait_for(
        "cost.changed", lambda e: e.data["session_id"] == sid and e.data["new_amount"] == first
    )
    await broker.send(_changed(client, coverage, reason, before, after))
    [event] = await topics.wait_for(
        "cost.changed", lambda e: e.data["session_id"] == sid and e.data["old_amount"] == first
    )
    return event.data["old_amount"], event.data["new_amount"], event.data["reason"]


async def test_new_plan_changes_the_session_cost(broker: Broker, topics: TopicReader) -> None:
    result = await _scenario(
        broker,
        topics,
        before=benefits(copay="20.00"),
        first="20.00",
        after=benefits(copay="40.00"),
        reason="new_plan",
        day=date(2026, 2, 3),
    )
    assert result == ("20.00", "40.00", "new_plan")


async def test_deductible_met_lowers_the_session_cost(broker: Broker, topics: TopicReader) -> None:
    result = await _scenario(
        broker,
        topics,
        before=benefits(deductible="500.00", copay="20.00"),
        first="150.00",
        after=benefits(deductible="500.00", deductible_met="500.00", copay="20.00"),
        reason="deductible_met",
        day=date(2026, 2, 3),
    )
    assert result == ("150.00", "20.00", "deductible_met")


async def test_out_of_pocket_maximum_met_makes_the_session_free(broker: Broker, topics: TopicReader) -> None:
    result = await _scenario(
        broker,
        topics,
        before=benefits(copay="20.00", oop_max="3000.00"),
        first="20.00",
        after=benefits(copay="20.00", oop_max="3000.00", oop_met="3000.00"),
        reason="out_of_pocket_met",
        day=date(2026, 2, 3),
    )
    assert result == ("20.00", "0.00", "out_of_pocket_met")


async def test_plan_year_reset_starts_the_deductible_again(broker: Broker, topics: TopicReader) -> None:
    last_year = benefits(
        start=date(2025, 1, 1), end=date(2025, 12, 31), deductible="100.00", deductible_met="100.00"
    )
    this_year = benefits(deductible="500.00", copay="20.00")
    # Before the reset arrives, a January session is priced on last year's plan with its accumulators reset.
    result = await _scenario(
        broker,
        topics,
        before=last_year,
        first="120.00",
        after=this_year,
        reason="plan_year_reset",
        day=date(2026, 1, 12),
    )
    assert result == ("120.00", "150.00", "plan_year_reset")


async def test_corrected_benefit_data_changes_the_session_cost(broker: Broker, topics: TopicReader) -> None:
    result = await _scenario(
        broker,
        topics,
        before=benefits(copay="20.00"),
        first="20.00",
        after=benefits(copay="30.00"),
        reason="corrected_data",
        day=date(2026, 2, 3),
    )
    assert result == ("20.00", "30.00", "corrected_benefits")
