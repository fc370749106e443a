"""Providers, client locations, billing guidance and session confirmation through the HTTP API."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from claims.models import messaging
from kit.testing.helpers import as_role

from .conftest import OPS, Claims, add_location, make_provider, session_body


async def _outbox_types(claims: Claims) -> list[str]:
    async with claims.runtime.db.session() as s:
        return list(await s.scalars(select(messaging.outbox.c.event_type).order_by(messaging.outbox.c.seq)))


async def test_provider_with_invalid_npi_is_rejected_as_problem_json(claims: Claims) -> None:
    body = {
        "npi": "1234567890",
        "name": "X",
        "email": "x@example.com",
        "practice_locations": [],
        "licences": [],
    }
    r = await claims.client.post("/v1/providers", json=body, headers=OPS)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert any(e["field"] == "body.npi" for e in r.json()["errors"])
    assert (await claims.client.get("/v1/providers", headers=OPS)).json() == []


async def test_bad_state_code_and_unknown_payer_are_rejected(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[])
    r = await claims.client.post(
        f"/v1/providers/{pid}/licences",
        json={"state": "ZZ", "type": "LCSW", "number": "1", "expires_on": "2027-01-01"},
        headers=OPS,
    )
    assert r.status_code == 422
    r = await claims.client.post(
        f"/v1/providers/{pid}/credentials", json={"payer_id": "nope", "state": "NY"}, headers=OPS
    )
    assert r.status_code == 422
    assert r.json()["reasons"] == ["nope is not a payer in our catalogue."]


async def test_a_provider_reads_only_themselves(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[])
    other = uuid.uuid4()
    r = await claims.client.get(f"/v1/providers/{pid}", headers=as_role("provider", provider_id=other))
    assert r.status_code == 404
    r = await claims.client.get(f"/v1/providers/{pid}", headers=as_role("provider", provider_id=pid))
    assert r.status_code == 200


async def test_confirmed_session_publishes_confirmation_and_relationship_and_creates_a_claim(
    claims: Claims,
) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    client_id, coverage_id = await claims.client_with_coverage("aetna")
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    r = await claims.client.post(
        "/v1/sessions", json=session_body(pid, client_id, loc), headers=as_role("provider", provider_id=pid)
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["billing_route"], out["payer_id"], out["coverage_id"]) == (
        "standard",
        "aetna",
        str(coverage_id),
    )
    assert out["icd10_codes"] == ["F329"]
    assert await _outbox_types(claims) == [
        "parity.care.relationship_started.v1",
        "parity.session.confirmed.v1",
    ]
    claim = (await claims.client.get(f"/v1/claims/{out['claim_id']}", headers=OPS)).json()
    assert claim["status"] == "pending"
    assert claim["billed_amount"] == "130.00"
    # the client sees their own session, another client does not
    assert (
        await claims.client.get(f"/v1/sessions/{out['id']}", headers=as_role("client", client_id=client_id))
    ).status_code == 200
    assert (
        await claims.client.get(
            f"/v1/sessions/{out['id']}", headers=as_role("client", client_id=uuid.uuid4())
        )
    ).status_code == 404


async def test_session_is_refused_with_every_reason(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    client_id, _ = await claims.client_with_coverage("aetna", cleared=False, coverage_status="inactive")
    loc = await add_location(claims, client_id, "FL", kind="temporary", seen_by=pid)
    body = session_body(pid, client_id, loc, duration_minutes=20)
    r = await claims.client.post("/v1/sessions", json=body, headers=as_role("provider", provider_id=pid))
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reasons"] == [
        "90834 needs 38-52 minutes; the session lasted 20.",
        "The client is not cleared for scheduling (account paused).",
        "The client has no active insurance coverage; confirm it as self-pay or ask them to update it.",
    ]
    assert [t for t in await _outbox_types(claims) if t != "parity.care.relationship_started.v1"] == []


async def test_session_with_an_inactive_coverage_is_refused(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    client_id, coverage_id = await claims.client_with_coverage("aetna", coverage_status="inactive")
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    body = session_body(pid, client_id, loc, coverage_id=str(coverage_id))
    r = await claims.client.post("/v1/sessions", json=body, headers=as_role("provider", provider_id=pid))
    assert r.status_code == 409
    assert r.json()["reasons"] == [
        "The client's coverage is inactive; only an active coverage can be billed."
    ]


async def test_session_where_routing_fails_names_the_routing_reasons(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[("bcbs-nc", "NC", "standard")])
    client_id, _ = await claims.client_with_coverage("bcbs-nc")
    loc = await add_location(claims, client_id, "NY", kind="temporary", seen_by=pid)
    r = await claims.client.post(
        "/v1/sessions", json=session_body(pid, client_id, loc), headers=as_role("provider", provider_id=pid)
    )
    assert r.status_code == 409
    reasons = r.json()["reasons"]
    assert any("local BCBS plan in NY" in x for x in reasons)


async def test_crisis_session_away_from_home_is_confirmed_as_crisis_only(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    client_id, _ = await claims.client_with_coverage("aetna")
    loc = await add_location(claims, client_id, "FL", kind="temporary", seen_by=pid)
    body = session_body(
        pid,
        client_id,
        loc,
        cpt_code="90839",
        duration_minutes=60,
        crisis_documentation="Client in acute crisis; safety plan made.",
    )
    r = await claims.client.post("/v1/sessions", json=body, headers=as_role("provider", provider_id=pid))
    assert r.status_code == 201, r.text
    assert r.json()["billing_route"] == "crisis_only"


async def test_invalid_icd10_and_category_codes_are_rejected(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[])
    client_id, _ = await claims.client_with_coverage("aetna")
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    for codes in (["F32"], ["XYZ.1"]):
        r = await claims.client.post(
            "/v1/sessions",
            json=session_body(pid, client_id, loc, icd10_codes=codes),
            headers=as_role("provider", provider_id=pid),
        )
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"


async def test_a_provider_cannot_confirm_sessions_for_another_provider(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[])
    client_id, _ = await claims.client_with_coverage("aetna")
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    r = await claims.client.post(
        "/v1/sessions",
        json=session_body(pid, client_id, loc),
        headers=as_role("provider", provider_id=uuid.uuid4()),
    )
    assert r.status_code == 403


async def test_billing_guidance_covers_every_practice_and_client_state(claims: Claims) -> None:
    pid = await make_provider(
        claims,
        licences=["NY", "TX"],
        credentials=[("anthem-bcbs-ny", "NY", "standard"), ("bcbs-ma", "TX", "virtual")],
        practice_state="TX",
    )
    client_id, _ = await claims.client_with_coverage("bcbs-ma")
    await add_location(claims, client_id, "NY", kind="temporary")
    await add_location(claims, client_id, "MA")
    await add_location(claims, client_id, "FL", kind="temporary")
    provider = as_role("provider", provider_id=pid)
    url = f"/v1/providers/{pid}/clients/{client_id}/billing-guidance"
    assert (await claims.client.get(url, headers=provider)).status_code == 404  # not their client yet
    early = await claims.client.post(
        f"/v1/clients/{client_id}/locations", json={"state": "NY", "kind": "temporary"}, headers=provider
    )
    assert early.status_code == 403  # a provider acts for a client only once on their care team
    await add_location(claims, client_id, "NY", kind="temporary", seen_by=pid)
    boxes = {b["state"]: b for b in (await claims.client.get(url, headers=provider)).json()["states"]}
    assert set(boxes) == {"FL", "MA", "NY", "TX"}
    assert (boxes["NY"]["billable"], boxes["NY"]["route"]) == (True, "bluecard")
    assert (boxes["TX"]["billable"], boxes["TX"]["route"]) == (True, "virtual_network")
    assert boxes["TX"]["sources"] == ["practice_location"]
    assert (boxes["MA"]["billable"], boxes["MA"]["route"]) == (False, None)
    assert (boxes["FL"]["billable"], boxes["FL"]["route"]) == (False, "crisis_only")


async def test_self_pay_session_needs_only_the_licence_and_makes_no_claim(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[])
    client_id, _ = await claims.client_with_coverage("aetna", coverage_status="inactive")
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    provider = as_role("provider", provider_id=pid)
    r = await claims.client.post(
        "/v1/sessions", json=session_body(pid, client_id, loc, self_pay=True), headers=provider
    )
    assert r.status_code == 201, r.text
    assert (r.json()["billing_route"], r.json()["coverage_id"], r.json()["claim_id"]) == (
        "self_pay",
        None,
        None,
    )
    away = await add_location(claims, client_id, "CA", kind="temporary", seen_by=pid)
    r = await claims.client.post(
        "/v1/sessions", json=session_body(pid, client_id, away, self_pay=True), headers=provider
    )
    assert r.status_code == 409


async def test_text_the_database_cannot_store_is_rejected_not_a_500(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[])
    bad = {"state": "NY", "address_line": "1 Main\x00St", "city": "Town", "postal_code": "12207"}
    r = await claims.client.post(f"/v1/providers/{pid}/practice-locations", json=bad, headers=OPS)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert (
        len((await claims.client.get(f"/v1/providers/{pid}", headers=OPS)).json()["practice_locations"]) == 1
    )
