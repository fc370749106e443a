"""Verification over X12 270/271 against the sandbox clearinghouse (over the network)."""

from __future__ import annotations

from decimal import Decimal

from kit.testing.helpers import OPS
from tests.eligibility.conftest import Service

PLAN = {
    "plan_year_start": "2026-01-01",
    "plan_year_end": "2026-12-31",
    "coinsurance_rate": "0.20",
    "deductible": "1500.00",
    "deductible_met": "300.00",
    "out_of_pocket_max": "5000.00",
    "out_of_pocket_met": "300.00",
}


async def test_active_271_activates_coverage_clears_client_and_stores_benefits(svc: Service) -> None:
    client = await svc.register()
    assert client["cleared_for_scheduling"] is False
    coverage = await svc.enter(client["id"], "ACTIVE0001")
    assert coverage["status"] == "pending"

    result = await svc.verify(coverage["id"])

    assert result["outcome"] == "active"
    assert result["coverage_status"] == "active"
    assert Decimal(result["benefits"]["deductible_met"]) == Decimal("300.00")
    assert (await svc.client(client["id"]))["cleared_for_scheduling"] is True
    page = (await svc.http.get(f"/v1/coverages/{coverage['id']}/benefits", headers=OPS)).json()
    assert page["current"]["change_reason"] == "first_verification"
    assert Decimal(page["current"]["benefits"]["coinsurance_rate"]) == Decimal("0.20")
    assert page["verifications"][0]["outcome"] == "active"
    changed = await svc.outbox("benefits.changed")
    assert [e["reason"] for e in changed] == ["first_verification"]
    statuses = await svc.outbox("client.status_changed")
    assert statuses[-1]["cleared_for_scheduling"] is True
    assert statuses[-1]["previous_cleared_for_scheduling"] is False


async def test_the_raw_exchange_is_a_real_270_and_271(svc: Service) -> None:
    client = await svc.register()
    coverage = await svc.enter(client["id"], "COPAY00001", group_number="GRP-7")
    await svc.verify(coverage["id"])
    inquiries = (await svc.clearinghouse.get("/admin/inquiries", params={"member_id": "COPAY00001"})).json()
    raw = inquiries[-1]["raw"]
    assert "ST*270*" in raw
    assert "005010X279A1" in raw
    assert "NM1*IL*1*LOVELACE*ADA****MI*COPAY00001" in raw
    assert "DMG*D8*19900412" in raw
    assert "EQ*MH" in raw
    assert "REF*6P*GRP-7" in raw


async def test_reverification_with_met_deductible_publishes_old_and_new_benefits(svc: Service) -> None:
    client = await svc.register()
    await svc.stage("STAGED0001", benefits=PLAN)
    coverage = await svc.enter(client["id"], "STAGED0001")
    await svc.verify(coverage["id"])
    await svc.stage(
        "STAGED0001", benefits={**PLAN, "deductible_met": "1500.00", "out_of_pocket_met": "1500.00"}
    )

    await svc.verify(coverage["id"])

    changed = await svc.outbox("benefits.changed")
    assert [e["reason"] for e in changed] == ["first_verification", "deductible_met"]
    assert changed[1]["old"]["deductible_met"] == "300.00"
    assert changed[1]["new"]["deductible_met"] == "1500.00"
    page = (await svc.http.get(f"/v1/coverages/{coverage['id']}/benefits", headers=OPS)).json()
    assert [s["change_reason"] for s in page["history"]] == ["deductible_met", "first_verification"]


async def test_unchanged_benefits_publish_nothing_new(svc: Service) -> None:
    client = await svc.register()
    coverage = await svc.enter(client["id"], "ACTIVE0001")
    await svc.verify(coverage["id"])
    await svc.verify(coverage["id"])
    assert len(await svc.outbox("benefits.changed")) == 1


async def test_a_new_plan_is_reported_as_new_plan(svc: Service) -> None:
    client = await svc.register()
    first = await svc.enter(client["id"], "ACTIVE0001")
    await svc.verify(first["id"])
    second = await svc.enter(client["id"], "COINS00001", payer_id="cigna")
    await svc.verify(second["id"])
    assert [e["reason"] for e in await svc.outbox("benefits.changed")] == ["first_verification", "new_plan"]
    old = (await svc.http.get(f"/v1/coverages/{first['id']}", headers=OPS)).json()
    assert (old["current"], old["status"], old["status_reason"]) == (False, "inactive", "replaced")


async def test_terminated_plan_is_inactive_and_client_not_cleared(svc: Service) -> None:
    client = await svc.register()
    coverage = await svc.enter(client["id"], "TERM000001")
    result = await svc.verify(coverage["id"])
    assert (result["outcome"], result["coverage_status"], result["coverage_status_reason"]) == (
        "inactive",
        "inactive",
        "terminated",
    )
    after = await svc.client(client["id"])
    assert after["cleared_for_scheduling"] is False
    assert after["status_reason_code"] == "coverage_terminated"


async def test_unknown_member_is_recorded_as_not_found(svc: Service) -> None:
    client = await svc.register()
    coverage = await svc.enter(client["id"], "NOTFOUND01")
    result = await svc.verify(coverage["id"])
    assert (result["outcome"], result["coverage_status_reason"]) == ("not_found", "member_not_found")


async def test_dependent_coverage_is_verified_through_the_subscriber(svc: Service) -> None:
    client = await svc.register(date_of_birth="2012-05-01")
    coverage = await svc.enter(
        client["id"],
        "PRIORAUTH1",
        relationship="child",
        subscriber={"first_name": "Grace", "last_name": "Lovelace", "date_of_birth": "1980-01-01"},
    )
    result = await svc.verify(coverage["id"])
    assert result["outcome"] == "active"
    assert result["benefits"]["prior_authorization_required"] is True
    raw = (await svc.clearinghouse.get("/admin/inquiries", params={"member_id": "PRIORAUTH1"})).json()[-1][
        "raw"
    ]
    assert "NM1*03*1*LOVELACE*ADA" in raw
    assert "INS*N*19" in raw
