"""Bad input is refused with problem+json and changes nothing; callers see only what they may."""

from __future__ import annotations

import uuid

import pytest

from kit.testing.helpers import OPS, as_role
from tests.eligibility.conftest import Service


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payer_id": "acme-health", "member_id": "ACTIVE0001"}, "payer_id"),
        ({"payer_id": "aetna", "member_id": "AB"}, "member_id"),
        ({"payer_id": "aetna", "member_id": "W12-34$"}, "member_id"),
        ({"payer_id": "bcbs-nc", "member_id": "ABC123456"}, "prefixes"),
        ({"payer_id": "aetna", "member_id": "ACTIVE0001", "relationship": "child"}, "subscriber"),
        (
            {
                "payer_id": "aetna",
                "member_id": "ACTIVE0001",
                "relationship": "spouse",
                "subscriber": {"first_name": "A", "last_name": "B", "date_of_birth": "2999-01-01"},
            },
            "date_of_birth",
        ),
    ],
)
async def test_bad_coverage_input_is_refused_and_changes_nothing(
    svc: Service, body: dict, field: str
) -> None:  # type: ignore[type-arg]
    client = await svc.register()
    response = await svc.http.post(f"/v1/clients/{client['id']}/coverages", json=body, headers=OPS)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text
    assert (await svc.http.get(f"/v1/clients/{client['id']}/coverages", headers=OPS)).json() == []
    assert await svc.outbox("coverage.status_changed") == []


@pytest.mark.parametrize(
    "override",
    [
        {"date_of_birth": "1990-02-30"},
        {"date_of_birth": "2999-01-01"},
        {"home_state": "XX"},
        {"email": "nope"},
    ],
)
async def test_bad_client_input_is_refused(svc: Service, override: dict) -> None:  # type: ignore[type-arg]
    body = {
        "first_name": "A",
        "last_name": "B",
        "date_of_birth": "1990-01-01",
        "email": "a@b.io",
        "home_state": "NY",
    }
    response = await svc.http.post("/v1/clients", json={**body, **override}, headers=OPS)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert await svc.outbox("client.registered") == []


async def test_bcbs_member_id_with_the_plans_prefix_is_accepted(svc: Service) -> None:
    client = await svc.register(home_state="NC")
    coverage = await svc.enter(client["id"], "YPB123456", payer_id="bcbs-nc")
    assert coverage["payer_id"] == "bcbs-nc"


async def test_a_client_sees_only_their_own_records(svc: Service) -> None:
    mine = await svc.register()
    other = await svc.register(first_name="Bob")
    coverage = await svc.enter(other["id"], "ACTIVE0001")
    me = as_role("client", client_id=mine["id"])
    assert (await svc.http.get(f"/v1/clients/{other['id']}", headers=me)).status_code == 404
    assert (await svc.http.get(f"/v1/coverages/{coverage['id']}", headers=me)).status_code == 404
    assert (await svc.http.post(f"/v1/coverages/{coverage['id']}/verify", headers=me)).status_code == 404
    listed = (await svc.http.get("/v1/clients", headers=me)).json()
    assert [c["id"] for c in listed] == [mine["id"]]


async def test_a_provider_sees_a_client_only_after_the_care_relationship(svc: Service) -> None:
    from eligibility.models import CareRelationship

    client = await svc.register()
    provider = uuid.uuid4()
    headers = as_role("provider", provider_id=provider)
    assert (await svc.http.get(f"/v1/clients/{client['id']}", headers=headers)).status_code == 404
    async with svc.runtime.db.session() as session:
        session.add(
            CareRelationship(
                provider_id=provider, client_id=uuid.UUID(client["id"]), started_at=svc.clock.now()
            )
        )
    assert (await svc.http.get(f"/v1/clients/{client['id']}", headers=headers)).status_code == 200
    entered = await svc.http.post(
        f"/v1/clients/{client['id']}/coverages",
        json={"payer_id": "aetna", "member_id": "ACTIVE0001"},
        headers=headers,
    )
    assert entered.status_code == 403


async def test_internal_api_is_for_services_only(svc: Service) -> None:
    client = await svc.register()
    assert (
        await svc.http.get(f"/internal/clients/{client['id']}", headers=OPS)
    ).status_code == 200  # ops is staff
    denied = await svc.http.get(
        f"/internal/clients/{client['id']}", headers=as_role("client", client_id=client["id"])
    )
    assert denied.status_code == 403
    body = (await svc.http.get(f"/internal/clients/{client['id']}", headers=as_role("service"))).json()
    assert set(body) == {
        "id",
        "first_name",
        "last_name",
        "date_of_birth",
        "email",
        "home_state",
        "account_status",
        "cleared_for_scheduling",
    }


async def test_self_pay_client_is_cleared_without_insurance(svc: Service) -> None:
    client = await svc.register(self_pay=True)
    assert (client["account_status"], client["cleared_for_scheduling"]) == ("active", True)


async def test_payers_catalogue_lists_bcbs_service_areas(svc: Service) -> None:
    payers = (await svc.http.get("/v1/payers", headers=as_role("client", client_id=uuid.uuid4()))).json()
    nc = next(p for p in payers if p["id"] == "bcbs-nc")
    assert nc["home_states"] == ["NC"]
    assert "YPB" in nc["member_id_prefixes"]
