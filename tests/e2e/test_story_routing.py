"""Stories (seed 002): where the client is decides. A client on vacation in a state where the provider holds
no licence cannot be billed (each unmet condition named), unless it is a documented crisis session billed
as 90839; a provider in BCBS MA's virtual network with a TX licence sees a BCBS MA member located in TX;
billing guidance lists every state the session could happen in."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import System, covered_client, join_care_team, register_provider
from tests.e2e.test_story_money import BENEFITS, session_body


async def _location(system: System, token: str, client_id: str, state: str, **address: str) -> str:
    async with system.client(token) as provider:
        response = await provider.post(
            f"/v1/clients/{client_id}/locations", json={"state": state, "kind": "temporary", **address}
        )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_vacation_state_without_licence_is_refused_with_reasons_but_crisis_session_is_confirmed(
    system: System,
) -> None:
    client_id, _, client_token, _, _ = await covered_client(
        system, payer_id="aetna", member_prefix="AET", home_state="NY", benefits=BENEFITS
    )
    provider_id, _, token = await register_provider(
        system, licences=["NY"], credentials=[("aetna", "NY", "standard")]
    )
    await join_care_team(system, client_token, client_id, provider_id)
    florida = await _location(
        system, token, client_id, "FL", address_line="5 Ocean Dr", city="Miami", postal_code="33139"
    )
    async with system.client(token) as provider:
        refused = await provider.post(
            "/v1/sessions",
            json=session_body(provider_id, client_id, florida),
            headers={"idempotency-key": str(uuid.uuid4())},
        )
        crisis = await provider.post(
            "/v1/sessions",
            json=session_body(
                provider_id,
                client_id,
                florida,
                cpt_code="90839",
                duration_minutes=60,
                crisis_documentation="Client called in acute distress; safety plan made; resolved with follow-up.",
            ),
            headers={"idempotency-key": str(uuid.uuid4())},
        )
        guidance = await provider.get(f"/v1/providers/{provider_id}/clients/{client_id}/billing-guidance")
    assert refused.status_code in (409, 422), refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    reasons = " ".join(refused.json().get("reasons", [])).lower()
    assert "licen" in reasons
    assert "fl" in reasons or "florida" in reasons
    assert crisis.status_code == 201, crisis.text
    assert crisis.json()["billing_route"] == "crisis_only"
    by_state = {g["state"]: g for g in guidance.json()["states"]} if "states" in guidance.json() else {}
    assert guidance.status_code == 200
    assert by_state, guidance.text
    assert by_state["NY"]["billable"] is True
    assert by_state["FL"]["billable"] is False


async def test_virtual_network_provider_sees_bcbs_ma_member_located_in_texas(system: System) -> None:
    client_id, _, client_token, _, _ = await covered_client(
        system, payer_id="bcbs-ma", member_prefix="MAB", home_state="MA", benefits=BENEFITS
    )
    provider_id, _, token = await register_provider(
        system, licences=["TX"], credentials=[("bcbs-ma", "TX", "virtual")], practice_state="TX"
    )
    await join_care_team(system, client_token, client_id, provider_id)
    texas = await _location(
        system, token, client_id, "TX", address_line="9 Elm St", city="Austin", postal_code="73301"
    )
    async with system.client(token) as provider:
        confirmed = await provider.post(
            "/v1/sessions",
            json=session_body(provider_id, client_id, texas),
            headers={"idempotency-key": str(uuid.uuid4())},
        )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["billing_route"] == "virtual_network"
