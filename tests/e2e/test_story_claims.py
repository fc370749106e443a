"""Stories (seeds 002, 003, 004): a confirmed session becomes an 837P at the clearinghouse; the payer's 835
is posted and the payer's patient responsibility becomes the price; a COB denial (CARC 22) opens a COB case
that pauses the client; a recoupment is absorbed by the platform for our error and recouped from the
provider for theirs."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from kit.testing.helpers import eventually
from tests.e2e.conftest import System, covered_client, join_care_team, register_provider
from tests.e2e.test_story_money import BENEFITS, session_body


async def _confirmed_session(system: System) -> tuple[dict[str, Any], str, str]:
    client_id, _, client_token, _, _ = await covered_client(
        system, payer_id="aetna", member_prefix="AET", home_state="NY", benefits=BENEFITS
    )
    provider_id, _, token = await register_provider(
        system, licences=["NY"], credentials=[("aetna", "NY", "standard")]
    )
    await join_care_team(system, client_token, client_id, provider_id)
    async with system.client(token) as provider:
        location = await provider.post(f"/v1/clients/{client_id}/locations", json={"state": "NY"})
        assert location.status_code == 201, location.text
        session = await provider.post(
            "/v1/sessions",
            json=session_body(provider_id, client_id, location.json()["id"]),
            headers={"idempotency-key": str(uuid.uuid4())},
        )
    assert session.status_code == 201, session.text
    return session.json(), client_token, token


async def _claim_at_clearinghouse(system: System, session_id: str) -> dict[str, Any]:
    async with await system.as_("ops") as ops:

        async def submitted() -> dict[str, Any]:
            claim_id = (await ops.get(f"/v1/sessions/{session_id}")).json().get("claim_id")
            if not claim_id:
                return {}
            claim = (await ops.get(f"/v1/claims/{claim_id}")).json()
            return claim if claim["status"] in ("accepted", "submitted") else {}

        return await eventually(submitted, timeout=45, what="the claim accepted by the clearinghouse")


async def _adjudicate(system: System, control_number: str, **decision: Any) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{system.urls['clearinghouse']}/admin/claims/{control_number}/adjudicate", json=decision
        )
    assert response.status_code == 200, response.text


async def test_835_is_posted_and_patient_responsibility_becomes_the_price(system: System) -> None:
    session, client_token, _ = await _confirmed_session(system)
    claim = await _claim_at_clearinghouse(system, session["id"])
    await _adjudicate(
        system,
        claim["control_number"],
        outcome="paid",
        allowed_amount="150.00",
        patient_responsibility="30.00",
    )
    adjudicated = await system.topics.wait_for(
        "claim.adjudicated", lambda e: e.data["claim_id"] == claim["id"], timeout=60
    )
    assert Decimal(adjudicated[0].data["patient_responsibility"]) == Decimal("30.00")
    changed = await system.topics.wait_for(
        "cost.changed",
        lambda e: e.data["session_id"] == session["id"] and e.data["reason"] == "claim_adjudicated",
        timeout=60,
    )
    assert Decimal(changed[-1].data["new_amount"]) == Decimal("30.00")
    async with system.client(client_token) as me:
        cost = (await me.get(f"/v1/sessions/{session['id']}/cost")).json()
    assert Decimal(cost["current"]["amount"]) == Decimal("30.00")
    assert cost["current"]["version"] >= 2
    assert cost["history"][0]["version"] == 1  # the first estimate is kept, with its reason


async def test_cob_denial_opens_a_cob_case_and_pauses_the_client(system: System) -> None:
    session, client_token, _ = await _confirmed_session(system)
    claim = await _claim_at_clearinghouse(system, session["id"])
    await _adjudicate(system, claim["control_number"], outcome="denied", carc_codes=["22"], group_code="OA")
    denied = await system.topics.wait_for(
        "claim.denied", lambda e: e.data["claim_id"] == claim["id"], timeout=60
    )
    assert denied[0].data["reason"] == "coordination_of_benefits"
    opened = await system.topics.wait_for(
        "cob.case_opened", lambda e: claim["id"] in e.data["claim_ids"], timeout=60
    )
    assert opened[0].data["trigger"] == "claim_denied"
    async with system.client(client_token) as me:

        async def paused() -> bool:
            return (await me.get(f"/v1/clients/{session['client_id']}")).json()["account_status"] == "paused"

        assert await eventually(paused, timeout=30, what="the client paused")


async def test_recoupment_is_absorbed_for_our_error_and_recouped_for_the_providers(system: System) -> None:
    session, _, provider_token = await _confirmed_session(system)
    claim = await _claim_at_clearinghouse(system, session["id"])
    await _adjudicate(system, claim["control_number"], outcome="paid", allowed_amount="150.00")
    await system.topics.wait_for("claim.adjudicated", lambda e: e.data["claim_id"] == claim["id"], timeout=60)
    decisions = {}
    async with await system.as_("ops") as ops:
        for cause in ("benefits_changed_undetected", "codes_do_not_match_notes"):
            response = await ops.post(
                f"/v1/claims/{claim['id']}/recoupments",
                json={"amount": "40.00", "cause": cause},
                headers={"idempotency-key": str(uuid.uuid4())},
            )
            assert response.status_code == 201, response.text
            decisions[cause] = response.json()["responsibility"]
    assert decisions == {"benefits_changed_undetected": "platform", "codes_do_not_match_notes": "provider"}
    events = await system.topics.wait_for(
        "recoupment.decided", lambda e: e.data["claim_id"] == claim["id"], count=2, timeout=30
    )
    assert {e.data["responsibility"] for e in events} == {"platform", "provider"}
    async with system.client(provider_token) as provider:
        refused = await provider.post(
            f"/v1/claims/{claim['id']}/recoupments",
            json={"amount": "1.00", "cause": "notes_not_supplied"},
            headers={"idempotency-key": str(uuid.uuid4())},
        )
    assert refused.status_code == 403
