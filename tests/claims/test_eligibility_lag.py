"""Our view of eligibility is fed by events, which may lag a moment behind: before refusing on it, claims asks
eligibility (the owner) for the truth, so a client verified a second ago can be seen at once."""

from __future__ import annotations

import uuid

from kit.testing.helpers import as_role

from .conftest import OPS, Claims, make_provider, session_body


def _known_only_to_eligibility(claims: Claims, payer_id: str) -> tuple[uuid.UUID, uuid.UUID]:
    client_id, coverage_id = uuid.uuid4(), uuid.uuid4()
    claims.eligibility.clients[str(client_id)] = {
        "id": str(client_id),
        "first_name": "ANA",
        "last_name": "LIM",
        "date_of_birth": "1991-03-04",
        "email": "ana@example.com",
        "home_state": "NY",
        "account_status": "active",
        "cleared_for_scheduling": True,
    }
    claims.eligibility.coverages[str(coverage_id)] = {
        "id": str(coverage_id),
        "client_id": str(client_id),
        "payer_id": payer_id,
        "member_id": "AET12345",
        "group_number": None,
        "status": "active",
        "status_reason": None,
        "subscriber": {
            "first_name": "ANA",
            "last_name": "LIM",
            "date_of_birth": "1991-03-04",
            "relationship": "self",
        },
    }
    return client_id, coverage_id


async def test_client_adds_provider_and_the_provider_confirms_before_the_events_arrive(
    claims: Claims,
) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    client_id, coverage_id = _known_only_to_eligibility(claims, "aetna")
    joined = await claims.client.post(
        f"/v1/clients/{client_id}/care-team",
        json={"provider_id": str(pid)},
        headers=as_role("client", client_id=client_id),
    )
    assert joined.status_code == 201, joined.text  # claims asked eligibility: the client is real
    provider = as_role("provider", provider_id=pid)
    location = await claims.client.post(
        f"/v1/clients/{client_id}/locations", json={"state": "NY"}, headers=provider
    )
    assert location.status_code == 201, location.text
    confirmed = await claims.client.post(
        "/v1/sessions", json=session_body(pid, client_id, location.json()["id"]), headers=provider
    )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["coverage_id"] == str(coverage_id)


async def test_a_client_eligibility_has_never_heard_of_is_still_not_found(claims: Claims) -> None:
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    response = await claims.client.post(
        f"/v1/clients/{uuid.uuid4()}/care-team", json={"provider_id": str(pid)}, headers=OPS
    )
    assert response.status_code == 404
