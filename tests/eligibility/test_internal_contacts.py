"""The bulk contact read notifications' sender uses: services only, bounded, unknown ids simply absent."""

from __future__ import annotations

import uuid

import pytest

from eligibility.internal.schemas import MAX_CONTACTS_PER_LOOKUP
from kit.testing.helpers import as_role
from tests.eligibility.conftest import Service

SERVICE = as_role("service")


async def test_contacts_of_several_clients_come_back_in_one_call_and_unknown_ids_are_left_out(
    svc: Service,
) -> None:
    ada = await svc.register()
    grace = await svc.register(first_name="Grace", last_name="Hopper", email="grace@example.com")
    unknown = str(uuid.uuid4())
    response = await svc.http.post(
        "/internal/clients/contacts",
        json={"ids": [ada["id"], unknown, grace["id"], ada["id"]]},
        headers=SERVICE,
    )
    assert response.status_code == 200, response.text
    contacts = {c["id"]: c for c in response.json()["contacts"]}
    assert contacts == {
        ada["id"]: {
            "id": ada["id"],
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
        },
        grace["id"]: {
            "id": grace["id"],
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@example.com",
        },
    }


async def test_contacts_lookup_is_for_services_only(svc: Service) -> None:
    client = await svc.register()
    denied = await svc.http.post(
        "/internal/clients/contacts",
        json={"ids": [client["id"]]},
        headers=as_role("client", client_id=client["id"]),
    )
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    unsigned = await svc.http.post("/internal/clients/contacts", json={"ids": [client["id"]]})
    assert unsigned.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"ids": []},
        {"ids": [str(uuid.uuid4()) for _ in range(MAX_CONTACTS_PER_LOOKUP + 1)]},
        {"ids": ["not-a-uuid"]},
        {"ids": [str(uuid.uuid4())], "names": ["Ada"]},
        {},
    ],
    ids=["empty", "too-many", "not-a-uuid", "unknown-field", "no-ids"],
)
async def test_a_bad_contacts_lookup_is_refused_with_problem_json(
    svc: Service, body: dict[str, object]
) -> None:
    response = await svc.http.post("/internal/clients/contacts", json=body, headers=SERVICE)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert all(e["field"].startswith("body") for e in problem["errors"])


async def test_the_largest_lookup_allowed_is_answered(svc: Service) -> None:
    client = await svc.register()
    ids = [client["id"], *(str(uuid.uuid4()) for _ in range(MAX_CONTACTS_PER_LOOKUP - 1))]
    response = await svc.http.post("/internal/clients/contacts", json={"ids": ids}, headers=SERVICE)
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["contacts"]] == [client["id"]]
