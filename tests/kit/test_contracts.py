"""The event contracts: the checked-in AsyncAPI file is current, the envelope round-trips, payloads stay
free of personal data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from contracts import TOPICS, asyncapi
from contracts.cloudevents import Envelope
from contracts.events import CostChanged

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_FIELDS = {
    "name",
    "first_name",
    "last_name",
    "email",
    "date_of_birth",
    "dob",
    "diagnosis",
    "icd10_codes",
    "member_id",
    "address",
    "phone",
}


def test_checked_in_asyncapi_is_current() -> None:
    checked_in = (ROOT / "docs" / "asyncapi.yaml").read_text()
    assert checked_in == asyncapi.render(), "docs/asyncapi.yaml is stale: run `make asyncapi`"


def test_user_named_topics_exist() -> None:
    assert {"coverage.flagged_secondary", "cost.changed", "refund.issued"} <= set(TOPICS)


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_event_payloads_carry_no_personal_data_fields(topic: str) -> None:
    for cls in TOPICS[topic]:
        assert not FORBIDDEN_FIELDS & set(cls.model_fields), cls.__name__


def test_envelope_round_trips_through_kafka_headers_with_money_as_string() -> None:
    event = CostChanged(
        session_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        provider_id=uuid.uuid4(),
        version=2,
        old_amount=Decimal("40.00"),
        new_amount=Decimal("12.5"),
        reason="deductible_met",
        changed_at=datetime(2026, 11, 22, tzinfo=UTC),
    )
    envelope = Envelope.wrap(event, source="pricing", correlation_id="req-1")
    decoded = Envelope.from_kafka(envelope.headers(), envelope.body())
    assert decoded.payload() == event
    assert decoded.data["new_amount"] == "12.50"
    assert decoded.correlation_id == "req-1"
    assert decoded.subject == str(event.client_id)


def test_envelope_without_cloudevents_headers_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a CloudEvent"):
        Envelope.from_kafka([("ce_type", b"x")], b"{}")
