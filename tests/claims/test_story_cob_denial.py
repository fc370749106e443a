"""The whole COB-denial story with the real eligibility service, over HTTP and the broker: eligibility
verifies a coverage and tells us (client.status_changed, coverage.status_changed); a session becomes an 837P;
the payer denies it with CARC 22 and the clearinghouse pushes the 835 to us; our claim.denied opens a COB
case in eligibility; the client updates the insurer, eligibility confirms the plan primary, and we resubmit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from claims import eligibility_view
from claims.config import Settings
from claims.jobs import SUBMIT_CLAIMS
from claims.main import create_app
from eligibility.config import Settings as EligibilitySettings
from eligibility.jobs import run_cob_follow_ups
from eligibility.main import create_app as create_eligibility
from kit.clock import ControllableClock
from kit.jobs import PeriodicJob, run_job_once
from kit.testing.helpers import OPS, TopicReader, as_role, eventually
from kit.testing.plugin import SettingsFactory
from sandbox.clearinghouse.app import create_app as create_clearinghouse

from .conftest import START, Claims, EligibilityStandIn, add_location, make_provider, session_body

PLAN = {"plan_year_start": "2026-01-01", "plan_year_end": "2026-12-31", "copay": "20.00"}


async def test_cob_denial_opens_a_case_in_eligibility_and_primary_confirmed_resubmits(
    make_settings: SettingsFactory, serve: Any, kafka_topics: list[str], topics: TopicReader
) -> None:
    clearinghouse_url = await serve(create_clearinghouse())
    eligibility_clock = ControllableClock(START)
    eligibility_app = create_eligibility(
        make_settings(
            EligibilitySettings, clearinghouse_url=clearinghouse_url, run_relay=True, run_consumers=True
        ),
        eligibility_clock,
    )
    eligibility_url = await serve(eligibility_app)
    claims_app = create_app(
        make_settings(
            Settings,
            eligibility_url=eligibility_url,
            clearinghouse_url=clearinghouse_url,
            run_relay=True,
            run_consumers=True,
            remittance_poll_interval_s=0,
        ),
        clock=ControllableClock(START),
    )
    claims_url = await serve(claims_app)
    async with (
        httpx.AsyncClient(base_url=eligibility_url) as elig,
        httpx.AsyncClient(base_url=claims_url) as http,
        httpx.AsyncClient(base_url=clearinghouse_url) as ch,
    ):
        claims = Claims(
            http,
            claims_app.state.runtime,
            claims_app.state.runtime.clock,
            EligibilityStandIn(),
            clearinghouse_url,
        )
        await ch.put(
            "/admin/settings",
            json={"webhook_url": f"{claims_url}/internal/remittances", "webhook_headers": as_role("service")},
        )
        assert (await ch.put("/admin/members/STORY00001", json={"benefits": PLAN})).status_code == 200

        # eligibility: a client, a coverage, a verification
        body = {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_of_birth": "1990-04-12",
            "email": "ada@example.com",
            "home_state": "NY",
        }
        client = (await elig.post("/v1/clients", json=body, headers=OPS)).json()
        client_id = client["id"]
        coverage = (
            await elig.post(
                f"/v1/clients/{client_id}/coverages",
                json={"payer_id": "aetna", "member_id": "STORY00001"},
                headers=as_role("client", client_id=client_id),
            )
        ).json()
        verified = await elig.post(f"/v1/coverages/{coverage['id']}/verify", headers=OPS)
        assert verified.status_code == 200, verified.text

        async def cleared() -> bool:
            async with claims.runtime.db.session() as s:
                view = await eligibility_view.client(s, client["id"])
                cov = await eligibility_view.coverage(s, coverage["id"])
            return bool(view and view.cleared_for_scheduling and cov and cov.status == "active")

        await eventually(cleared, timeout=30, what="eligibility's events in claims' view")

        # claims: provider, location, session, 837P
        pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
        loc = await add_location(claims, client_id, "NY", seen_by=pid)
        r = await http.post(
            "/v1/sessions",
            json=session_body(pid, client_id, loc),
            headers=as_role("provider", provider_id=pid),
        )
        assert r.status_code == 201, r.text
        claim_id = r.json()["claim_id"]
        await run_job_once(claims.runtime, SUBMIT_CLAIMS)
        claim = (await http.get(f"/v1/claims/{claim_id}", headers=OPS)).json()
        assert claim["status"] == "accepted", claim

        # the payer denies for COB; the 835 is pushed to us
        adjudicated = await ch.post(
            f"/admin/claims/{claim['control_number']}/adjudicate",
            json={"outcome": "denied", "carc_codes": ["22"], "group_code": "OA"},
        )
        assert adjudicated.json()["pushed"] == 200

        async def case_opened() -> list[dict[str, Any]]:
            cases = (await elig.get(f"/v1/clients/{client_id}/cob-cases", headers=OPS)).json()
            return [c for c in cases if c["trigger"] == "claim_denied"]

        [case] = await eventually(case_opened, timeout=30, what="a COB case in eligibility")
        assert case["claim_ids"] == [claim_id]

        # the client tells us the insurer updated; eligibility confirms this plan primary; we resubmit
        update = await elig.post(
            f"/v1/cob-cases/{case['id']}/client-update", headers=as_role("client", client_id=client_id)
        )
        assert update.status_code == 200, update.text
        eligibility_clock.advance(timedelta(days=7))  # the one-week follow-up with the insurer
        follow_up = PeriodicJob("eligibility.cob_follow_ups", 60, run_cob_follow_ups)
        assert await run_job_once(eligibility_app.state.runtime, follow_up)
        await topics.wait_for(
            "cob.case_resolved", lambda e: e.data["outcome"] == "primary_confirmed", timeout=30
        )

        async def requeued() -> bool:
            return (await http.get(f"/v1/claims/{claim_id}", headers=OPS)).json()["status"] == "pending"

        await eventually(requeued, timeout=30, what="the claim queued for resubmission")
        await run_job_once(claims.runtime, SUBMIT_CLAIMS)
        after = (await http.get(f"/v1/claims/{claim_id}", headers=OPS)).json()
        assert after["submissions"] == 2
        assert after["status"] == "accepted"
        held = (await ch.get(f"/admin/claims/{claim['control_number']}")).json()
        assert held["submissions"] == 2
