"""Who may read what (issue 7): every read endpoint that names a client's object, for every role, on the
caller's own object and on someone else's. A client asking for another client's records gets 404; a
provider who does not see the client gets 403 or 404; ops sees everything; partners read; nobody without a
token gets anything."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from kit.testing.helpers import eventually
from tests.e2e.conftest import System, covered_client, join_care_team, register_client, register_provider
from tests.e2e.test_story_money import BENEFITS, session_body

READS = [
    "/v1/clients/{client}",
    "/v1/clients/{client}/coverages",
    "/v1/coverages/{coverage}",
    "/v1/coverages/{coverage}/benefits",
    "/v1/clients/{client}/cob-cases",
    "/v1/clients/{client}/locations",
    "/v1/sessions/{session}",
    "/v1/sessions/{session}/cost",
    "/v1/sessions/{session}/invoice",
    "/v1/clients/{client}/balance",
    "/v1/clients/{client}/refunds",
    "/v1/clients/{client}/payments",
    "/v1/clients/{client}/ledger",
    "/v1/notifications?recipient_id={client}",
]
# Reads a provider who sees the client may make: their clinical and billing picture of the client (a practice
# sees what its client owes and has paid); never the client's own message feed.
PROVIDER_READS = {
    "/v1/clients/{client}/balance",
    "/v1/clients/{client}/refunds",
    "/v1/clients/{client}/payments",
    "/v1/clients/{client}/ledger",
    "/v1/clients/{client}",
    "/v1/clients/{client}/coverages",
    "/v1/coverages/{coverage}",
    "/v1/coverages/{coverage}/benefits",
    "/v1/clients/{client}/cob-cases",
    "/v1/clients/{client}/locations",
    "/v1/sessions/{session}",
    "/v1/sessions/{session}/cost",
    "/v1/sessions/{session}/invoice",
}


@pytest.fixture(scope="module")
async def world(system: System) -> dict[str, Any]:
    client_id, _, client_token, coverage_id, _ = await covered_client(
        system, payer_id="aetna", member_prefix="AET", home_state="NY", benefits=BENEFITS
    )
    other_client, _, other_token = await register_client(system)
    provider_id, _, provider_token = await register_provider(
        system, licences=["NY"], credentials=[("aetna", "NY", "standard")]
    )
    _, _, stranger_token = await register_provider(
        system, licences=["NY"], credentials=[("aetna", "NY", "standard")]
    )
    await join_care_team(system, client_token, client_id, provider_id)
    async with system.client(provider_token) as provider:

        async def location() -> dict[str, Any]:
            response = await provider.post(f"/v1/clients/{client_id}/locations", json={"state": "NY"})
            return response.json() if response.status_code == 201 else {}

        loc = await eventually(location, timeout=20, what="claims to know the client")
        session = await provider.post(
            "/v1/sessions",
            json=session_body(provider_id, client_id, loc["id"]),
            headers={"idempotency-key": str(uuid.uuid4())},
        )
        assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    async with system.client(client_token) as me:

        async def priced() -> bool:
            return (await me.get(f"/v1/sessions/{session_id}/cost")).status_code == 200

        await eventually(priced, timeout=30, what="the session priced")
    return {
        "ids": {"client": client_id, "coverage": coverage_id, "session": session_id},
        "tokens": {
            "owner": client_token,
            "other_client": other_token,
            "their_provider": provider_token,
            "other_provider": stranger_token,
            "ops": await system.token("ops"),
            "partner": await system.token("partner"),
        },
        "other_client_id": other_client,
    }


@pytest.mark.parametrize("template", READS)
async def test_read_matrix(system: System, world: dict[str, Any], template: str) -> None:
    path = template.format(**world["ids"])
    statuses = {}
    for role, token in [("anonymous", None), *world["tokens"].items()]:
        async with system.client(token) as caller:
            statuses[role] = (await caller.get(path)).status_code
    assert statuses["anonymous"] == 401, statuses
    assert statuses["owner"] == 200, statuses
    assert statuses["ops"] == 200, statuses
    assert statuses["partner"] == 200, statuses
    assert statuses["other_client"] == 404, statuses
    assert statuses["other_provider"] in (403, 404), statuses
    if template in PROVIDER_READS:
        assert statuses["their_provider"] == 200, statuses
    else:
        assert statuses["their_provider"] in (403, 404), statuses


async def test_only_the_client_or_ops_changes_coordination_of_benefits(
    system: System, world: dict[str, Any]
) -> None:
    async with system.client(world["tokens"]["their_provider"]) as provider:
        cases = await provider.post(
            "/v1/cob-cases", json={"client_id": world["ids"]["client"], "note": "insurer called"}
        )
    assert cases.status_code == 403


async def test_clients_cannot_pay_or_read_for_someone_else(system: System, world: dict[str, Any]) -> None:
    async with system.client(world["tokens"]["other_client"]) as intruder:
        pay = await intruder.post(
            f"/v1/clients/{world['ids']['client']}/payments",
            json={"amount": "1.00", "card_token": "tok_visa"},
            headers={"idempotency-key": str(uuid.uuid4())},
        )
    assert pay.status_code == 404
    async with system.client(world["tokens"]["their_provider"]) as provider:
        pay = await provider.post(
            f"/v1/clients/{world['ids']['client']}/payments",
            json={"amount": "1.00", "card_token": "tok_visa"},
            headers={"idempotency-key": str(uuid.uuid4())},
        )
    assert pay.status_code == 403


WRITES = [
    ("POST", "/v1/clients/{client}/coverages", {"payer_id": "aetna", "member_id": "AET000111"}),
    ("POST", "/v1/coverages/{coverage}/verify", None),
    ("PUT", "/v1/clients/{client}/notification-preferences", {"reminders": False}),
    ("POST", "/v1/clients/{client}/payments", {"amount": "1.00", "card_token": "tok_visa"}),
    ("POST", "/v1/sessions/{session}/cancel", None),
]


@pytest.mark.parametrize(("method", "template", "body"), WRITES)
async def test_write_matrix_refuses_everyone_but_the_owner_side(
    system: System, world: dict[str, Any], method: str, template: str, body: Any
) -> None:
    """Nobody acts on another client's records: other clients get 404, providers who do not see the client
    403/404, partners 403 (read-only), callers without a token 401; and none of it changes anything."""
    path = template.format(**world["ids"])
    statuses = {}
    for role in ("anonymous", "other_client", "other_provider", "partner"):
        async with system.client(world["tokens"].get(role)) as caller:
            response = await caller.request(
                method, path, json=body, headers={"idempotency-key": str(uuid.uuid4())}
            )
            statuses[role] = response.status_code
    assert statuses["anonymous"] == 401, statuses
    assert statuses["other_client"] == 404, statuses
    assert statuses["other_provider"] in (403, 404), statuses
    assert statuses["partner"] == 403, statuses
    async with system.client(world["tokens"]["owner"]) as owner:
        session = (await owner.get(f"/v1/sessions/{world['ids']['session']}")).json()
    assert session["status"] != "cancelled"
