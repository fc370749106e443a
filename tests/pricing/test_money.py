"""Pay now, balance due, refunds (once, whatever the concurrency), declines, and the ledger's invariants."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts.events import BenefitsChanged
from kit.testing.helpers import as_role, eventually
from pricing.ledger.refunds import issue_pending_refunds
from tests.pricing.conftest import NOW, Harness, Served, benefits, confirmed


async def _benefits(pricing: Harness, client: UUID, coverage: UUID, reason: str, **kw: str) -> None:
    await pricing.deliver(_benefits_event(client, coverage, reason, **kw))


def _benefits_event(client: UUID, coverage: UUID, reason: str, **kw: str) -> BenefitsChanged:
    return BenefitsChanged(
        coverage_id=coverage,
        client_id=client,
        payer_id="aetna",
        snapshot_id=uuid4(),
        reason=reason,  # type: ignore[arg-type]
        old=None,
        new=benefits(**kw),  # type: ignore[arg-type]
        changed_at=NOW,
    )


async def _priced_client(pricing: Harness, deductible: str = "200.00") -> tuple[UUID, UUID, UUID]:
    """A client with one session costing 150.00 (inside the deductible)."""
    client, coverage = uuid4(), uuid4()
    await _benefits(pricing, client, coverage, "first_verification", deductible=deductible, copay="20.00")
    s = confirmed(client, day=date(2026, 2, 3), coverage_id=coverage)
    await pricing.deliver(s)
    return client, coverage, s.session_id


async def _pay(pricing: Harness, client: UUID, amount: str, key: str, token: str = "tok_visa") -> Any:
    return await pricing.client.post(
        f"/v1/clients/{client}/payments",
        json={"amount": amount, "card_token": token},
        headers={**as_role("client", client_id=client), "Idempotency-Key": key},
    )


async def _balance(pricing: Harness, client: UUID) -> dict[str, Any]:
    r = await pricing.client.get(f"/v1/clients/{client}/balance", headers=as_role("client", client_id=client))
    assert r.status_code == 200, r.text
    return r.json()


async def test_payment_settles_the_balance_and_publishes_payment_received(pricing: Harness) -> None:
    client, _, session_id = await _priced_client(pricing)
    assert (await _balance(pricing, client))["outstanding"] == "150.00"
    r = await _pay(pricing, client, "150.00", "key-00000001")
    assert r.status_code == 201, r.text
    assert r.json()["applied"] == [{"session_id": str(session_id), "amount": "150.00"}]
    balance = await _balance(pricing, client)
    assert (balance["outstanding"], balance["credits"]) == ("0.00", "0.00")
    assert [p["amount"] for p in await pricing.published("payment.received")] == ["150.00"]


async def test_same_key_and_body_returns_the_stored_response_and_charges_once(
    pricing: Harness, card_processor: Served
) -> None:
    client, _, _ = await _priced_client(pricing)
    first = await _pay(pricing, client, "150.00", "key-00000002")
    again = await _pay(pricing, client, "150.00", "key-00000002")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    charges = [
        c
        for c in card_processor.app.state.ledger.charges.values()
        if c["metadata"].get("client_id") == str(client)
    ]
    assert len(charges) == 1
    assert len(await pricing.published("payment.received")) == 1


async def test_same_key_with_another_body_is_refused_with_422(pricing: Harness) -> None:
    client, _, _ = await _priced_client(pricing)
    assert (await _pay(pricing, client, "100.00", "key-00000003")).status_code == 201
    r = await _pay(pricing, client, "50.00", "key-00000003")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert (await _balance(pricing, client))["outstanding"] == "50.00"


async def test_concurrent_duplicate_payment_gets_409_while_the_first_runs(pricing: Harness) -> None:
    client, _, _ = await _priced_client(pricing)
    # tok_timeout keeps the first request at the processor past our client timeout.
    first = asyncio.create_task(_pay(pricing, client, "150.00", "key-00000004", token="tok_timeout"))

    async def claimed() -> bool:
        return bool(
            await pricing.scalar(
                "SELECT count(*) FROM pricing.payment_requests WHERE client_id = :c AND state = 'in_progress'",
                c=client,
            )
        )

    await eventually(claimed, what="first request holds the key")
    duplicate = await _pay(pricing, client, "150.00", "key-00000004", token="tok_timeout")
    assert duplicate.status_code == 409
    timed_out = await first
    assert timed_out.status_code == 504
    assert (await _balance(pricing, client))["outstanding"] == "150.00"


async def test_concurrent_payments_with_one_key_charge_once(pricing: Harness, card_processor: Served) -> None:
    client, _, _ = await _priced_client(pricing)
    results = await asyncio.gather(*(_pay(pricing, client, "150.00", "key-00000005") for _ in range(5)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    charges = [
        c
        for c in card_processor.app.state.ledger.charges.values()
        if c["metadata"].get("client_id") == str(client)
    ]
    assert len(charges) == 1
    assert (await _balance(pricing, client))["outstanding"] == "0.00"


@pytest.mark.parametrize(
    ("token", "decline_code"),
    [("tok_declined", "generic_decline"), ("tok_insufficient_funds", "insufficient_funds")],
)
async def test_declined_card_changes_nothing_and_replays_the_decline(
    pricing: Harness, token: str, decline_code: str
) -> None:
    client, _, _ = await _priced_client(pricing)
    r = await _pay(pricing, client, "150.00", "key-00000006", token=token)
    assert r.status_code == 402
    assert r.json()["decline_code"] == decline_code
    assert (await _pay(pricing, client, "150.00", "key-00000006", token=token)).json() == r.json()
    assert (await _balance(pricing, client))["outstanding"] == "150.00"
    assert await pricing.published("payment.received") == []


async def test_payment_above_the_balance_is_refused(pricing: Harness) -> None:
    client, _, _ = await _priced_client(pricing)
    r = await _pay(pricing, client, "150.01", "key-00000007")
    assert r.status_code == 422
    assert r.json()["reasons"] == ["amount_exceeds_balance"]


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "-5.00", "card_token": "tok_visa"},
        {"amount": "1.001", "card_token": "tok_visa"},
        {"amount": "10.00", "card_token": "not-a-token"},
        {"amount": "NaN", "card_token": "tok_visa"},
        {},
    ],
)
async def test_bad_payment_input_is_rejected_with_problem_json(
    pricing: Harness, body: dict[str, Any]
) -> None:
    client, _, _ = await _priced_client(pricing)
    r = await pricing.client.post(
        f"/v1/clients/{client}/payments",
        json=body,
        headers={**as_role("client", client_id=client), "Idempotency-Key": "key-00000008"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


async def test_payment_requires_an_idempotency_key(pricing: Harness) -> None:
    client, _, _ = await _priced_client(pricing)
    r = await pricing.client.post(
        f"/v1/clients/{client}/payments",
        json={"amount": "10.00", "card_token": "tok_visa"},
        headers=as_role("client", client_id=client),
    )
    assert r.status_code == 422


async def test_another_client_cannot_see_or_pay_this_balance(pricing: Harness) -> None:
    client, _, _ = await _priced_client(pricing)
    stranger = as_role("client", client_id=uuid4())
    assert (await pricing.client.get(f"/v1/clients/{client}/balance", headers=stranger)).status_code == 404
    r = await pricing.client.post(
        f"/v1/clients/{client}/payments",
        json={"amount": "10.00", "card_token": "tok_visa"},
        headers={**stranger, "Idempotency-Key": "key-00000009"},
    )
    assert r.status_code == 404
    partner = as_role("partner")
    r = await pricing.client.post(
        f"/v1/clients/{client}/payments",
        json={"amount": "10.00", "card_token": "tok_visa"},
        headers={**partner, "Idempotency-Key": "key-00000010"},
    )
    assert r.status_code == 403


async def test_cost_up_after_payment_publishes_balance_due(pricing: Harness) -> None:
    client, coverage = uuid4(), uuid4()
    await _benefits(pricing, client, coverage, "first_verification", deductible="0.00", copay="20.00")
    s = confirmed(client, day=date(2026, 2, 3), coverage_id=coverage)
    await pricing.deliver(s)
    assert (await _pay(pricing, client, "20.00", "key-00000011")).status_code == 201
    await _benefits(pricing, client, coverage, "corrected_data", deductible="500.00", copay="20.00")
    due = await pricing.published("balance.due")
    assert [(d["amount"], d["session_ids"]) for d in due] == [("130.00", [str(s.session_id)])]
    assert (await _balance(pricing, client))["outstanding"] == "130.00"


async def test_cost_down_after_payment_refunds_the_difference_to_the_original_payment(
    pricing: Harness, card_processor: Served
) -> None:
    client, coverage, session_id = await _priced_client(pricing)
    paid = (await _pay(pricing, client, "150.00", "key-00000012")).json()
    await _benefits(pricing, client, coverage, "corrected_data", deductible="0.00", copay="20.00")
    assert await issue_pending_refunds(pricing.runtime) == 1
    [issued] = await pricing.published("refund.issued")
    assert (issued["amount"], issued["session_id"], issued["payment_id"]) == (
        "130.00",
        str(session_id),
        paid["payment_id"],
    )
    assert issued["expected_by"] == "2026-03-09"  # five business days after Monday 2 March 2026
    assert card_processor.app.state.ledger.charges[paid["charge_id"]]["amount_refunded"] == 13000
    refunds = (await pricing.client.get(f"/v1/clients/{client}/refunds", headers=as_role("ops"))).json()
    assert [(r["amount"], r["status"]) for r in refunds] == [("130.00", "issued")]
    balance = await _balance(pricing, client)
    assert (balance["outstanding"], balance["credits"], balance["refunds_pending"]) == (
        "0.00",
        "0.00",
        "0.00",
    )


async def test_refund_is_issued_once_under_redelivery_and_concurrent_repricing(
    pricing: Harness, card_processor: Served
) -> None:
    client, coverage, _ = await _priced_client(pricing)
    paid = (await _pay(pricing, client, "150.00", "key-00000013")).json()
    lower = _benefits_event(client, coverage, "corrected_data", deductible="0.00", copay="20.00")
    also_lower = _benefits_event(client, coverage, "corrected_data", deductible="0.00", copay="20.00")
    consumer = pricing.runtime.consumers[0]
    from contracts.cloudevents import Envelope

    envelopes = [Envelope.wrap(lower, source="test"), Envelope.wrap(also_lower, source="test")]
    await asyncio.gather(*(consumer.process(e) for e in envelopes + envelopes))
    counts = await asyncio.gather(*(issue_pending_refunds(pricing.runtime) for _ in range(3)))
    assert sum(counts) == 1
    assert card_processor.app.state.ledger.charges[paid["charge_id"]]["amount_refunded"] == 13000
    assert len(await pricing.published("refund.issued")) == 1


async def test_every_ledger_transaction_sums_to_zero(pricing: Harness) -> None:
    client, coverage, _ = await _priced_client(pricing)
    await _pay(pricing, client, "150.00", "key-00000014")
    await _benefits(pricing, client, coverage, "corrected_data", deductible="0.00", copay="20.00")
    await issue_pending_refunds(pricing.runtime)
    await _benefits(pricing, client, coverage, "corrected_data", deductible="100.00", copay="20.00")
    ledger = (await pricing.client.get(f"/v1/clients/{client}/ledger", headers=as_role("ops"))).json()
    kinds = {t["kind"] for t in ledger["transactions"]}
    assert kinds == {"charge", "payment", "adjustment", "refund"}
    for t in ledger["transactions"]:
        assert sum(Decimal(e["amount"]) for e in t["entries"]) == 0
    receivable = sum(
        Decimal(e["amount"])
        for t in ledger["transactions"]
        for e in t["entries"]
        if e["account"] == "receivable"
    )
    assert f"{receivable:.2f}" == (await _balance(pricing, client))["outstanding"] == "100.00"
