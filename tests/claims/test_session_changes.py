"""Cancelling and recoding sessions, and the internal API pricing and notifications read."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from claims.jobs import SUBMIT_CLAIMS
from claims.models import messaging
from kit.jobs import run_job_once
from kit.testing.helpers import as_role

from .conftest import OPS, Claims, add_location, make_provider, session_body


async def _session(claims: Claims) -> tuple[dict[str, Any], dict[str, str]]:
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    client_id, _ = await claims.client_with_coverage("aetna")
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    provider = as_role("provider", provider_id=pid)
    r = await claims.client.post("/v1/sessions", json=session_body(pid, client_id, loc), headers=provider)
    return r.json(), provider


async def _events(claims: Claims) -> list[tuple[str, dict[str, Any]]]:
    async with claims.runtime.db.session() as s:
        rows = await s.execute(
            select(messaging.outbox.c.event_type, messaging.outbox.c.payload).order_by(messaging.outbox.c.seq)
        )
        return [(t, p) for t, p in rows.all()]


async def test_cancelled_session_voids_its_unsent_claim_and_publishes(claims: Claims) -> None:
    session, provider = await _session(claims)
    r = await claims.client.post(f"/v1/sessions/{session['id']}/cancel", headers=provider)
    assert r.json()["status"] == "cancelled"
    claim = (await claims.client.get(f"/v1/claims/{session['claim_id']}", headers=OPS)).json()
    assert claim["status"] == "voided"
    assert await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    assert (await claims.client.get(f"/v1/claims/{session['claim_id']}", headers=OPS)).json()[
        "submissions"
    ] == 0
    assert (await _events(claims))[-1][0] == "parity.session.cancelled.v1"


async def test_a_sent_claim_cannot_be_cancelled_here(claims: Claims) -> None:
    session, provider = await _session(claims)
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    r = await claims.client.post(f"/v1/sessions/{session['id']}/cancel", headers=provider)
    assert r.status_code == 409


async def test_recoding_publishes_and_requeues_a_sent_claim_with_the_new_charge(claims: Claims) -> None:
    session, provider = await _session(claims)
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    r = await claims.client.post(
        f"/v1/sessions/{session['id']}/recode",
        json={"cpt_code": "90837", "duration_minutes": 55},
        headers=provider,
    )
    assert r.status_code == 200, r.text
    claim = (await claims.client.get(f"/v1/claims/{session['claim_id']}", headers=OPS)).json()
    assert (claim["status"], claim["billed_amount"]) == ("pending", "180.00")
    event_type, payload = (await _events(claims))[-1]
    assert event_type == "parity.session.recoded.v1"
    assert (payload["old_cpt_code"], payload["new_cpt_code"]) == ("90834", "90837")
    bad = await claims.client.post(
        f"/v1/sessions/{session['id']}/recode",
        json={"cpt_code": "90837", "duration_minutes": 20},
        headers=provider,
    )
    assert bad.status_code == 409


async def test_internal_api_serves_sessions_and_providers_to_services_only(claims: Claims) -> None:
    session, _ = await _session(claims)
    service = as_role("service")
    r = await claims.client.get(f"/internal/sessions/{session['id']}", headers=service)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "id",
        "client_id",
        "provider_id",
        "provider_name",
        "provider_npi",
        "date_of_service",
        "cpt_code",
        "icd10_codes",
        "place_of_service",
        "status",
    }
    p = (await claims.client.get(f"/internal/providers/{body['provider_id']}", headers=service)).json()
    assert set(p) == {"id", "name", "email", "npi"}
    client = as_role("client", client_id=body["client_id"])
    assert (await claims.client.get(f"/internal/sessions/{session['id']}", headers=client)).status_code == 403
    assert (await claims.client.get(f"/internal/sessions/{uuid.uuid4()}", headers=service)).status_code == 404


async def test_identity_headers_without_the_internal_token_are_refused(claims: Claims) -> None:
    r = await claims.client.get("/v1/claims", headers={"x-parity-role": "ops"})
    assert r.status_code == 401


async def test_a_claim_is_not_sent_before_its_date_of_service(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    client_id, _ = await claims.client_with_coverage("aetna")
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    body = session_body(pid, client_id, loc, date_of_service="2026-03-09")
    session = (
        await claims.client.post("/v1/sessions", json=body, headers=as_role("provider", provider_id=pid))
    ).json()
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    url = f"/v1/claims/{session['claim_id']}"
    assert (await claims.client.get(url, headers=OPS)).json()["status"] == "pending"
    claims.clock.advance(timedelta(days=7))
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    assert (await claims.client.get(url, headers=OPS)).json()["status"] == "accepted"
