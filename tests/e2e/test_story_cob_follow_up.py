"""Story (seed 004): after a COB flag the client calls their insurer and tells us; one week after we told
them, the follow-up re-verifies by itself. Either the plan is primary (account unpaused) or it really is
secondary (ineligible for insurance billing, sessions become self-pay)."""

from __future__ import annotations

import uuid

import pytest

from kit.testing.helpers import eventually
from tests.e2e.conftest import System, advance_clocks, register_client, stage_member

ACTIVE_BENEFITS = {
    "plan_year_start": "2026-01-01",
    "plan_year_end": "2026-12-31",
    "copay": "25.00",
    "deductible": "500.00",
    "deductible_met": "500.00",
    "out_of_pocket_max": "3000.00",
    "out_of_pocket_met": "800.00",
}


@pytest.mark.parametrize(
    ("insurer_says", "outcome", "account_status"),
    [("primary", "primary_confirmed", "active"), ("secondary", "secondary_confirmed", "ineligible")],
)
async def test_one_week_follow_up_resolves_the_case_by_itself(
    system: System, insurer_says: str, outcome: str, account_status: str
) -> None:
    member_id = f"COB{uuid.uuid4().hex[:10].upper()}"
    await stage_member(system, member_id, status="secondary", other_payer_name="United")
    client_id, email, token = await register_client(system)
    async with system.client(token) as me:
        coverage_id = (
            await me.post(
                f"/v1/clients/{client_id}/coverages", json={"payer_id": "aetna", "member_id": member_id}
            )
        ).json()["id"]
        await me.post(f"/v1/coverages/{coverage_id}/verify")
        cases = (await me.get(f"/v1/clients/{client_id}/cob-cases")).json()
        assert len(cases) == 1
        case_id = cases[0]["id"]
        told_us = await me.post(f"/v1/cob-cases/{case_id}/client-update")
        assert told_us.status_code in (200, 201), told_us.text

    provider_token = await system.token("provider", provider_id=uuid.uuid4())
    async with system.client(provider_token) as provider:
        refused = await provider.post(f"/v1/cob-cases/{case_id}/client-update")
    assert refused.status_code in (403, 404)  # providers can never update a client's COB

    if insurer_says == "primary":
        await stage_member(system, member_id, status="active", benefits=ACTIVE_BENEFITS)
    await advance_clocks(system, days=8)

    resolved = await system.topics.wait_for(
        "cob.case_resolved", lambda e: e.data["case_id"] == case_id, timeout=60
    )
    assert resolved[0].data["outcome"] == outcome
    async with system.client(token) as me:

        async def settled() -> dict:  # type: ignore[type-arg]
            body = (await me.get(f"/v1/clients/{client_id}")).json()
            return body if body["account_status"] == account_status else {}

        client = await eventually(settled, timeout=30, what=f"account {account_status}")
    assert client["account_status"] == account_status
    mails = await eventually(
        lambda: _at_least(system, email, 2), timeout=30, what="paused and resolved e-mails"
    )
    assert len(mails) >= 2


async def _at_least(system: System, address: str, n: int) -> list:  # type: ignore[type-arg]
    found = system.mailbox.to(address)
    return found if len(found) >= n else []
