"""Re-pricing from events: first price, order within a plan year, adjudication, cancellation, COB, status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

from contracts.events import (
    BenefitsChanged,
    ClaimAdjudicated,
    ClientStatusChanged,
    CobCaseResolved,
    SessionCancelled,
)
from kit.testing.helpers import as_role
from tests.pricing.conftest import NOW, Harness, benefits, confirmed


async def _benefits(
    pricing: Harness, client: UUID, coverage: UUID, reason: str = "first_verification", **kw: str
) -> None:
    await pricing.deliver(
        BenefitsChanged(
            coverage_id=coverage,
            client_id=client,
            payer_id="aetna",
            snapshot_id=uuid4(),
            reason=reason,  # type: ignore[arg-type]
            old=None,
            new=benefits(**kw),  # type: ignore[arg-type]
            changed_at=NOW,
        )
    )


async def _cost(pricing: Harness, session_id: UUID) -> dict:  # type: ignore[type-arg]
    r = await pricing.client.get(f"/v1/sessions/{session_id}/cost", headers=as_role("ops"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_sessions_in_a_plan_year_use_up_the_deductible_in_date_of_service_order(
    pricing: Harness,
) -> None:
    client, coverage = uuid4(), uuid4()
    await _benefits(pricing, client, coverage, deductible="200.00", copay="20.00")
    later = confirmed(client, day=date(2026, 2, 10), coverage_id=coverage)
    await pricing.deliver(later)
    assert (await _cost(pricing, later.session_id))["current"]["amount"] == "150.00"
    # An earlier session confirmed afterwards takes the deductible first; the later one is re-priced.
    earlier = confirmed(client, day=date(2026, 2, 3), coverage_id=coverage)
    await pricing.deliver(earlier)
    assert (await _cost(pricing, earlier.session_id))["current"]["amount"] == "150.00"
    cost = await _cost(pricing, later.session_id)
    assert cost["current"]["amount"] == "70.00"  # 50 left of the deductible + 20 copay
    assert cost["current"]["reason"] == "earlier_session_changed"
    assert [v["reason"] for v in cost["history"]] == ["first_price"]


async def test_patient_responsibility_from_the_payer_replaces_the_estimate(pricing: Harness) -> None:
    client, coverage = uuid4(), uuid4()
    await _benefits(pricing, client, coverage, copay="20.00")
    s = confirmed(client, day=date(2026, 2, 3), coverage_id=coverage)
    await pricing.deliver(s)
    await pricing.deliver(
        ClaimAdjudicated(
            claim_id=uuid4(),
            session_id=s.session_id,
            client_id=client,
            status="paid",
            billed_amount=Decimal("200.00"),
            allowed_amount=Decimal("150.00"),
            paid_amount=Decimal("125.00"),
            patient_responsibility=Decimal("25.00"),
            adjudicated_at=NOW,
        )
    )
    cost = await _cost(pricing, s.session_id)
    assert cost["current"]["amount"] == "25.00"
    assert cost["current"]["reason"] == "claim_adjudicated"


async def test_cancelled_session_costs_nothing_and_releases_its_deductible(pricing: Harness) -> None:
    client, coverage = uuid4(), uuid4()
    await _benefits(pricing, client, coverage, deductible="200.00", copay="20.00")
    first = confirmed(client, day=date(2026, 2, 3), coverage_id=coverage)
    second = confirmed(client, day=date(2026, 2, 10), coverage_id=coverage)
    await pricing.deliver(first)
    await pricing.deliver(second)
    await pricing.deliver(
        SessionCancelled(
            session_id=first.session_id, client_id=client, provider_id=first.provider_id, cancelled_at=NOW
        )
    )
    assert (await _cost(pricing, first.session_id))["current"]["reason"] == "session_cancelled"
    assert (await _cost(pricing, first.session_id))["current"]["amount"] == "0.00"
    assert (await _cost(pricing, second.session_id))["current"]["amount"] == "150.00"


async def test_secondary_confirmed_prices_as_self_pay_and_primary_confirmed_goes_back(
    pricing: Harness,
) -> None:
    client, coverage = uuid4(), uuid4()
    await _benefits(pricing, client, coverage, copay="20.00")
    s = confirmed(client, day=date(2026, 2, 3), coverage_id=coverage)
    await pricing.deliver(s)

    def resolved(outcome: str) -> CobCaseResolved:
        return CobCaseResolved(
            case_id=uuid4(),
            client_id=client,
            coverage_id=coverage,
            outcome=outcome,
            resolved_at=NOW,  # type: ignore[arg-type]
        )

    await pricing.deliver(resolved("secondary_confirmed"))
    cost = await _cost(pricing, s.session_id)
    assert (cost["current"]["amount"], cost["current"]["reason"]) == ("175.00", "cob_secondary_confirmed")
    await pricing.deliver(resolved("primary_confirmed"))
    cost = await _cost(pricing, s.session_id)
    assert (cost["current"]["amount"], cost["current"]["reason"]) == ("20.00", "cob_primary_confirmed")


async def test_ineligible_account_prices_as_self_pay(pricing: Harness) -> None:
    client, coverage = uuid4(), uuid4()
    await _benefits(pricing, client, coverage, copay="20.00")
    s = confirmed(client, day=date(2026, 2, 3), coverage_id=coverage)
    await pricing.deliver(s)
    await pricing.deliver(
        ClientStatusChanged(
            client_id=client, account_status="ineligible", cleared_for_scheduling=False, changed_at=NOW
        )
    )
    cost = await _cost(pricing, s.session_id)
    assert (cost["current"]["amount"], cost["current"]["reason"]) == ("175.00", "account_status_changed")


async def test_redelivered_event_creates_no_second_version(pricing: Harness) -> None:
    client = uuid4()
    s = confirmed(client, day=date(2026, 2, 3), route="self_pay")
    envelope = await pricing.deliver(s)
    assert await pricing.runtime.consumers[0].process(envelope) is False
    cost = await _cost(pricing, s.session_id)
    assert cost["current"]["amount"] == "175.00"
    assert cost["history"] == []
    assert len(await pricing.published("cost.changed")) == 1
    assert len(await pricing.published("invoice.issued")) == 1
