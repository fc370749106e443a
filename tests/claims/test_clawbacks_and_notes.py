"""Clawback protection (who bears a recoupment, with ledger entries) and notes requests with their
three-business-day deadline, driven by the controllable clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from claims.jobs import NOTES_DEADLINES, SUBMIT_CLAIMS
from claims.models import messaging
from kit.jobs import run_job_once
from kit.testing.helpers import as_role

from .conftest import OPS, START, Claims, add_location, make_provider, session_body


async def _paid_claim(claims: Claims) -> dict[str, Any]:
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    client_id, _ = await claims.client_with_coverage("aetna")
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    r = await claims.client.post(
        "/v1/sessions", json=session_body(pid, client_id, loc), headers=as_role("provider", provider_id=pid)
    )
    claim_id = r.json()["claim_id"]
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    control = (await claims.client.get(f"/v1/claims/{claim_id}", headers=OPS)).json()["control_number"]
    async with httpx.AsyncClient(base_url=claims.clearinghouse_url) as ch:
        x12 = (await ch.post(f"/admin/claims/{control}/adjudicate", json={"outcome": "paid"})).json()["x12"]
    await claims.client.post("/v1/remittances", content=x12, headers=OPS)
    claim = (await claims.client.get(f"/v1/claims/{claim_id}", headers=OPS)).json()
    assert claim["status"] == "paid"
    return dict(claim)


async def _recoup(claims: Claims, claim: dict[str, Any], cause: str, amount: str, key: str) -> httpx.Response:
    return await claims.client.post(
        f"/v1/claims/{claim['id']}/recoupments",
        json={"amount": amount, "cause": cause},
        headers={**OPS, "idempotency-key": key},
    )


async def _decided_events(claims: Claims) -> list[dict[str, Any]]:
    async with claims.runtime.db.session() as s:
        rows = await s.scalars(
            select(messaging.outbox.c.payload).where(
                messaging.outbox.c.event_type == "parity.recoupment.decided.v1"
            )
        )
        return list(rows)


async def test_our_error_is_absorbed_and_the_provider_keeps_the_contracted_rate(claims: Claims) -> None:
    claim = await _paid_claim(claims)
    r = await _recoup(claims, claim, "benefits_changed_undetected", "130.00", "recoup-0001")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["responsibility"] == "platform"
    assert out["provider_paid_amount"] == "130.00"
    assert {e["account"]: e["amount"] for e in out["ledger"]} == {
        "platform_clawback_losses": "130.00",
        "payer_recoupments_payable": "-130.00",
    }
    [event] = await _decided_events(claims)
    assert (event["responsibility"], event["amount"], event["provider_id"]) == (
        "platform",
        "130.00",
        claim["provider_id"],
    )


async def test_provider_error_is_recouped_from_the_provider(claims: Claims) -> None:
    claim = await _paid_claim(claims)
    out = (await _recoup(claims, claim, "codes_do_not_match_notes", "50.00", "recoup-0002")).json()
    assert out["responsibility"] == "provider"
    assert out["provider_paid_amount"] == "80.00"
    assert {e["account"] for e in out["ledger"]} == {"provider_receivable", "payer_recoupments_payable"}


async def test_recoupment_is_idempotent_and_bounded_by_what_was_paid(claims: Claims) -> None:
    claim = await _paid_claim(claims)
    first = await _recoup(claims, claim, "coding_not_compliant", "100.00", "recoup-0003")
    again = await _recoup(claims, claim, "coding_not_compliant", "100.00", "recoup-0003")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(await _decided_events(claims)) == 1
    too_much = await _recoup(claims, claim, "coding_not_compliant", "31.00", "recoup-0004")
    assert too_much.status_code == 409
    reused = await _recoup(claims, claim, "notes_not_supplied", "1.00", "recoup-0003")
    assert reused.status_code == 409
    bad = await _recoup(claims, claim, "astrology", "1.00", "recoup-0005")
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert (await claims.client.get(f"/v1/claims/{claim['id']}/recoupments", headers=OPS)).json()[0][
        "amount"
    ] == "100.00"


async def test_only_ops_record_recoupments(claims: Claims) -> None:
    claim = await _paid_claim(claims)
    r = await claims.client.post(
        f"/v1/claims/{claim['id']}/recoupments",
        json={"amount": "1.00", "cause": "coding_not_compliant"},
        headers={**as_role("provider", provider_id=claim["provider_id"]), "idempotency-key": "recoup-0006"},
    )
    assert r.status_code == 403


SOAP = {"format": "SOAP", "subjective": "s", "objective": "o", "assessment": "a", "plan": "p"}


async def test_notes_request_is_due_in_three_business_days_and_answered_in_time(claims: Claims) -> None:
    claim = await _paid_claim(claims)
    r = await claims.client.post(f"/v1/claims/{claim['id']}/notes-requests", headers=OPS)
    assert r.status_code == 201
    request = r.json()
    assert (request["requested_on"], request["deadline"]) == ("2026-03-02", "2026-03-05")
    provider = as_role("provider", provider_id=claim["provider_id"])
    url = f"/v1/claims/{claim['id']}/notes-requests/{request['id']}/notes"
    dap_missing_plan = {"format": "DAP", "data": "d", "assessment": "a"}
    assert (await claims.client.post(url, json=dap_missing_plan, headers=provider)).status_code == 422
    claims.clock.advance(timedelta(days=3))  # Thursday, the deadline day itself
    r = await claims.client.post(url, json=SOAP, headers=provider)
    assert r.status_code == 200
    assert r.json()["status"] == "answered"
    claims.clock.advance(timedelta(days=5))
    await run_job_once(claims.runtime, NOTES_DEADLINES)
    assert (await claims.client.get(f"/v1/claims/{claim['id']}/notes-requests", headers=OPS)).json()[0][
        "status"
    ] == "answered"


async def test_unanswered_notes_request_past_its_deadline_becomes_a_provider_error(claims: Claims) -> None:
    claims.clock.set(START.replace(day=22, month=5))  # Friday before Memorial Day
    claim = await _paid_claim(claims)
    request = (await claims.client.post(f"/v1/claims/{claim['id']}/notes-requests", headers=OPS)).json()
    assert request["deadline"] == "2026-05-28"
    claims.clock.set(START.replace(day=28, month=5))
    await run_job_once(claims.runtime, NOTES_DEADLINES)
    listing = f"/v1/claims/{claim['id']}/notes-requests"
    assert (await claims.client.get(listing, headers=OPS)).json()[0]["status"] == "open"
    claims.clock.set(START.replace(day=29, month=5))
    await run_job_once(claims.runtime, NOTES_DEADLINES)
    assert (await claims.client.get(listing, headers=OPS)).json()[0]["status"] == "provider_error"
    provider = as_role("provider", provider_id=claim["provider_id"])
    late = await claims.client.post(f"{listing}/{request['id']}/notes", json=SOAP, headers=provider)
    assert late.status_code == 409
    async with claims.runtime.db.session() as s:
        types = list(await s.scalars(select(messaging.outbox.c.event_type)))
    assert "parity.notes.requested.v1" in types


async def test_ops_clock_advance_moves_the_controllable_clock(claims: Claims) -> None:
    r = await claims.client.post("/ops/clock/advance", json={"days": 2})
    assert r.status_code == 200
    assert claims.clock.today() == (START + timedelta(days=2)).date()
