"""The secondary flag and the coordination-of-benefits case, with the one-week follow-up on a controllable
clock."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from contracts.events import ClaimDenied
from eligibility.handlers import on_claim_denied
from eligibility.jobs import run_cob_follow_ups
from kit.jobs import PeriodicJob, run_job_once
from kit.messaging.consumer import EventContext
from kit.testing.helpers import OPS, TopicReader, as_role
from kit.testing.plugin import SettingsFactory
from tests.eligibility.conftest import Service, make_service

FOLLOW_UP = PeriodicJob("eligibility.cob_follow_ups", 60, run_cob_follow_ups)
PLAN = {"plan_year_start": "2026-01-01", "plan_year_end": "2026-12-31", "copay": "20.00"}
SERVICE = as_role("service")


async def test_secondary_flag_makes_coverage_inactive_and_publishes_on_the_topic(
    make_settings: SettingsFactory, clearinghouse_url: str, topics: TopicReader
) -> None:
    async with make_service(make_settings, clearinghouse_url, run_relay=True) as svc:
        client = await svc.register()
        coverage = await svc.enter(client["id"], "SECOND0001")
        result = await svc.verify(coverage["id"])
        assert (result["coverage_status"], result["coverage_status_reason"]) == ("inactive", "secondary_flag")
        after = await svc.client(client["id"])
        assert (after["account_status"], after["cleared_for_scheduling"]) == ("paused", False)
        active = await svc.http.get(f"/internal/clients/{client['id']}/active-coverage", headers=SERVICE)
        assert active.status_code == 404
        flagged = await topics.wait_for("coverage.flagged_secondary")
        opened = await topics.wait_for("cob.case_opened")
        status = await topics.wait_for(
            "client.status_changed", lambda e: e.data["account_status"] == "paused"
        )
    assert flagged[0].data["other_payer_name"] == "AETNA"
    assert flagged[0].subject == client["id"]
    assert opened[0].data["trigger"] == "secondary_flag"
    assert status[0].data["previous_account_status"] == "active"


async def _open_case_by_notice(svc: Service, member_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    await svc.stage(member_id, benefits=PLAN)
    client = await svc.register()
    coverage = await svc.enter(client["id"], member_id)
    await svc.verify(coverage["id"])
    claim = str(uuid.uuid4())
    response = await svc.http.post(
        "/v1/cob-cases", json={"client_id": client["id"], "claim_ids": [claim]}, headers=OPS
    )
    assert response.status_code == 201, response.text
    return client, response.json()


async def test_cob_case_pauses_client_and_tells_them_who_to_call(svc: Service) -> None:
    client, case = await _open_case_by_notice(svc, "COBNOTICE1")
    assert case["trigger"] == "insurer_notice"
    assert "1-800-872-3862" in case["instructions"]["call"]
    assert "which of my plans is primary" in case["instructions"]["say"]
    assert "no action is needed" in case["provider_message"]
    assert (await svc.client(client["id"]))["account_status"] == "paused"


async def test_one_week_follow_up_confirming_primary_unpauses_and_reprocesses_claims(svc: Service) -> None:
    client, case = await _open_case_by_notice(svc, "COBPRIM001")
    update = await svc.http.post(
        f"/v1/cob-cases/{case['id']}/client-update", headers=as_role("client", client_id=client["id"])
    )
    assert update.status_code == 200

    svc.clock.advance(timedelta(days=6))
    await run_job_once(svc.runtime, FOLLOW_UP)
    assert (await svc.client(client["id"]))["account_status"] == "paused"  # not a week yet

    svc.clock.advance(timedelta(days=1))
    await run_job_once(svc.runtime, FOLLOW_UP)

    after = await svc.client(client["id"])
    assert (after["account_status"], after["cleared_for_scheduling"]) == ("active", True)
    resolved = await svc.outbox("cob.case_resolved")
    assert resolved[0]["outcome"] == "primary_confirmed"
    assert resolved[0]["affected_claim_ids"] == case["claim_ids"]
    cases = (await svc.http.get(f"/v1/clients/{client['id']}/cob-cases", headers=OPS)).json()
    kinds = [e["kind"] for e in cases[0]["timeline"]]
    assert kinds[0] == "opened"
    assert kinds[-2:] == ["client_updated", "primary_confirmed"]


async def test_one_week_follow_up_confirming_secondary_makes_client_ineligible(svc: Service) -> None:
    client, _case = await _open_case_by_notice(svc, "COBSEC0001")
    await svc.stage("COBSEC0001", status="secondary", benefits=PLAN, other_payer_name="CIGNA")

    svc.clock.advance(timedelta(days=7))
    await run_job_once(svc.runtime, FOLLOW_UP)

    after = await svc.client(client["id"])
    assert after["account_status"] == "ineligible"
    resolved = await svc.outbox("cob.case_resolved")
    assert [r["outcome"] for r in resolved] == ["secondary_confirmed"]
    # a new primary plan ends the ineligibility
    await svc.enter(client["id"], "ACTIVE0001", payer_id="uhc")
    assert (await svc.client(client["id"]))["account_status"] == "active"


async def test_follow_up_that_cannot_reach_the_insurer_keeps_the_case_open(svc: Service) -> None:
    client, _case = await _open_case_by_notice(svc, "COBDOWN001")
    await svc.stage("COBDOWN001", status="malformed")
    svc.clock.advance(timedelta(days=7))
    await run_job_once(svc.runtime, FOLLOW_UP)
    cases = (await svc.http.get(f"/v1/clients/{client['id']}/cob-cases", headers=OPS)).json()
    assert cases[0]["status"] == "open"
    assert cases[0]["timeline"][-1]["kind"] == "follow_up_failed"
    assert await svc.outbox("cob.case_resolved") == []


async def test_providers_can_never_update_a_clients_cob(svc: Service) -> None:
    client, case = await _open_case_by_notice(svc, "COBPROV001")
    provider = uuid.uuid4()
    async with svc.runtime.db.session() as session:
        from eligibility.models import CareRelationship

        session.add(
            CareRelationship(
                provider_id=provider, client_id=uuid.UUID(client["id"]), started_at=svc.clock.now()
            )
        )
    seen = await svc.http.get(
        f"/v1/cob-cases/{case['id']}", headers=as_role("provider", provider_id=provider)
    )
    assert seen.status_code == 200
    refused = await svc.http.post(
        f"/v1/cob-cases/{case['id']}/client-update", headers=as_role("provider", provider_id=provider)
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    other = await svc.http.post(
        f"/v1/cob-cases/{case['id']}/client-update", headers=as_role("client", client_id=uuid.uuid4())
    )
    assert other.status_code == 404


async def test_claim_denied_for_cob_opens_a_case_and_later_denials_join_it(svc: Service) -> None:
    await svc.stage("COBCLAIM01", benefits=PLAN)
    client = await svc.register()
    coverage = await svc.enter(client["id"], "COBCLAIM01")
    await svc.verify(coverage["id"])
    claims = [uuid.uuid4(), uuid.uuid4()]
    for claim in claims:
        event = ClaimDenied(
            claim_id=claim,
            session_id=uuid.uuid4(),
            client_id=uuid.UUID(client["id"]),
            coverage_id=uuid.UUID(coverage["id"]),
            reason="coordination_of_benefits",
            carc_codes=["22"],
            denied_at=svc.clock.now(),
        )
        async with svc.runtime.db.session() as session:
            await on_claim_denied(event, EventContext(session=session, envelope=None, state=svc.runtime))  # type: ignore[arg-type]
    cases = (await svc.http.get(f"/v1/clients/{client['id']}/cob-cases", headers=OPS)).json()
    assert len(cases) == 1
    assert cases[0]["trigger"] == "claim_denied"
    assert cases[0]["claim_ids"] == [str(c) for c in claims]
    assert len(await svc.outbox("cob.case_opened")) == 1
    assert (await svc.client(client["id"]))["account_status"] == "paused"
