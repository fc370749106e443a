"""Stories (seeds 002 and 001): a BCBS NC member studying in New York is seen through BlueCard by a provider
with an Anthem NY credential and a NY licence; the session is priced from the client's real benefits, the
client pays, and when the insurer says the deductible was already met the cost drops and the difference is
refunded once, with an e-mail that says 3-5 business days."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from kit.testing.helpers import eventually
from tests.e2e.conftest import System, covered_client, join_care_team, register_provider, stage_member

BENEFITS = {
    "plan_year_start": f"{date.today().year}-01-01",
    "plan_year_end": f"{date.today().year}-12-31",
    "coinsurance_rate": "0.20",
    "deductible": "1000.00",
    "deductible_met": "0.00",
    "out_of_pocket_max": "4000.00",
    "out_of_pocket_met": "0.00",
}


def session_body(provider_id: str, client_id: str, location_id: str, **extra: object) -> dict[str, object]:
    return {
        "provider_id": provider_id,
        "client_id": client_id,
        "client_location_id": location_id,
        "date_of_service": str(date.today() - timedelta(days=3)),
        "cpt_code": "90837",
        "duration_minutes": 55,
        "icd10_codes": ["F41.1"],
        "place_of_service": "10",
        "telehealth_modifier": "95",
        **extra,
    }


async def test_bluecard_session_priced_paid_then_refunded_when_deductible_was_met(system: System) -> None:
    client_id, email, client_token, coverage_id, member_id = await covered_client(
        system, payer_id="bcbs-nc", member_prefix="YPB", home_state="NC", benefits=BENEFITS
    )
    provider_id, _, provider_token = await register_provider(
        system, licences=["NY"], credentials=[("anthem-bcbs-ny", "NY", "standard")]
    )
    await join_care_team(system, client_token, client_id, provider_id)
    async with system.client(provider_token) as provider:
        location = await provider.post(
            f"/v1/clients/{client_id}/locations",
            json={
                "state": "NY",
                "kind": "temporary",
                "address_line": "10 College Ave",
                "city": "Ithaca",
                "postal_code": "14850",
            },
        )
        assert location.status_code == 201, location.text
        confirmed = await provider.post(
            "/v1/sessions",
            json=session_body(provider_id, client_id, location.json()["id"]),
            headers={"idempotency-key": str(uuid.uuid4())},
        )
        assert confirmed.status_code == 201, confirmed.text
    session = confirmed.json()
    assert session["billing_route"] == "bluecard"
    assert session["payer_id"] == "bcbs-nc"

    async with system.client(client_token) as me:

        async def first_price() -> dict:  # type: ignore[type-arg]
            response = await me.get(f"/v1/sessions/{session['id']}/cost")
            body = response.json() if response.status_code == 200 else {}
            return body if body.get("current") else {}

        cost = await eventually(first_price, timeout=30, what="the session's first price")
        owed = Decimal(cost["current"]["amount"])
        assert owed > 0  # deductible not met: the client pays the allowed amount
        paid = await me.post(
            f"/v1/clients/{client_id}/payments",
            json={"amount": str(owed), "card_token": "tok_visa", "session_ids": [session["id"]]},
            headers={"idempotency-key": str(uuid.uuid4())},
        )
        assert paid.status_code == 201, paid.text

        # The insurer's corrected data: the deductible was already met this year.
        await stage_member(
            system, member_id, status="active", benefits={**BENEFITS, "deductible_met": "1000.00"}
        )
        assert (await me.post(f"/v1/coverages/{coverage_id}/verify")).status_code == 200

        refunds = await system.topics.wait_for(
            "refund.issued", lambda e: e.data["session_id"] == session["id"], timeout=60
        )
        changed = await system.topics.wait_for(
            "cost.changed", lambda e: e.data["session_id"] == session["id"] and e.data["version"] >= 2
        )
        listed = (await me.get(f"/v1/clients/{client_id}/refunds")).json()
    assert len(refunds) == 1  # once, whatever redeliveries happen
    new_amount = Decimal(changed[-1].data["new_amount"])
    assert new_amount < owed
    assert Decimal(refunds[0].data["amount"]) == owed - new_amount
    assert len(listed) == 1
    mails = await eventually(
        lambda: _containing(system, email, "3-5 business days"), timeout=30, what="the refund e-mail"
    )
    assert mails


async def _containing(system: System, address: str, phrase: str) -> list:  # type: ignore[type-arg]
    found = []
    for mail in system.mailbox.to(address):
        body = mail.message.get_body(("plain",))
        if body is not None and phrase in " ".join(body.get_content().split()):
            found.append(mail)
    return found


async def test_corrected_benefits_raise_the_cost_and_the_client_is_asked_to_pay_now(system: System) -> None:
    copay_plan = {**BENEFITS, "coinsurance_rate": None, "copay": "20.00", "deductible": "0.00"}
    client_id, email, client_token, coverage_id, member_id = await covered_client(
        system, payer_id="aetna", member_prefix="AET", home_state="NY", benefits=copay_plan
    )
    provider_id, _, provider_token = await register_provider(
        system, licences=["NY"], credentials=[("aetna", "NY", "standard")]
    )
    await join_care_team(system, client_token, client_id, provider_id)
    async with system.client(provider_token) as provider:
        location = await provider.post(f"/v1/clients/{client_id}/locations", json={"state": "NY"})
        session = (
            await provider.post(
                "/v1/sessions",
                json=session_body(provider_id, client_id, location.json()["id"]),
                headers={"idempotency-key": str(uuid.uuid4())},
            )
        ).json()
    async with system.client(client_token) as me:

        async def priced() -> dict:  # type: ignore[type-arg]
            body = (await me.get(f"/v1/sessions/{session['id']}/cost")).json()
            return body if body.get("current") else {}

        assert Decimal(
            (await eventually(priced, timeout=30, what="first price"))["current"]["amount"]
        ) == Decimal("20.00")
        paid = await me.post(
            f"/v1/clients/{client_id}/payments",
            json={"amount": "20.00", "card_token": "tok_visa", "session_ids": [session["id"]]},
            headers={"idempotency-key": str(uuid.uuid4())},
        )
        assert paid.status_code == 201, paid.text
        await stage_member(system, member_id, status="active", benefits={**copay_plan, "copay": "45.00"})
        await me.post(f"/v1/coverages/{coverage_id}/verify")
        due = await system.topics.wait_for(
            "balance.due", lambda e: e.data["client_id"] == client_id, timeout=60
        )
        balance = (await me.get(f"/v1/clients/{client_id}/balance")).json()
    assert Decimal(due[-1].data["amount"]) == Decimal("25.00")
    assert session["id"] in due[-1].data["session_ids"]
    assert Decimal(balance["outstanding"]) == Decimal("25.00")
    mails = await eventually(
        lambda: _containing(system, email, "/appointments/past"), timeout=30, what="pay now"
    )
    assert mails
