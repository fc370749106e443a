"""A claim end to end over the network: 837P to the sandbox clearinghouse, its 835 pushed back and posted,
a COB denial handed to eligibility on the broker and the resubmission after the COB case is resolved."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from claims import eligibility_view
from claims.jobs import POLL_REMITTANCES, SUBMIT_CLAIMS
from claims.models import PollCursor, messaging
from contracts.events import ClientStatusChanged, CobCaseResolved, CoverageStatusChanged
from kit.jobs import run_job_once
from kit.testing.helpers import TopicReader, as_role, eventually

from .conftest import OPS, START, Claims, add_location, make_provider, produce, session_body

SERVICE = as_role("service")


async def _confirmed_claim(claims: Claims, payer_id: str = "aetna") -> tuple[dict[str, Any], uuid.UUID]:
    pid = await make_provider(claims, licences=["NY"], credentials=[(payer_id, "NY", "standard")])
    client_id, coverage_id = await claims.client_with_coverage(payer_id)
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    r = await claims.client.post(
        "/v1/sessions", json=session_body(pid, client_id, loc), headers=as_role("provider", provider_id=pid)
    )
    assert r.status_code == 201, r.text
    claim = (await claims.client.get(f"/v1/claims/{r.json()['claim_id']}", headers=OPS)).json()
    return claim, coverage_id


async def _adjudicate(claims: Claims, control_number: str, **body: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=claims.clearinghouse_url) as ch:
        r = await ch.post(f"/admin/claims/{control_number}/adjudicate", json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())


async def _claim(claims: Claims, claim_id: str) -> dict[str, Any]:
    return dict((await claims.client.get(f"/v1/claims/{claim_id}", headers=OPS)).json())


async def test_claim_is_sent_after_commit_and_acknowledged(claims: Claims) -> None:
    claim, _ = await _confirmed_claim(claims)
    assert claim["status"] == "pending"  # confirming did not wait for the clearinghouse
    assert await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    after = await _claim(claims, claim["id"])
    assert [t["to_status"] for t in after["transitions"]] == ["pending", "submitted", "accepted"]
    assert after["submissions"] == 1
    async with httpx.AsyncClient(base_url=claims.clearinghouse_url) as ch:
        held = (await ch.get(f"/admin/claims/{claim['control_number']}")).json()
    assert held["charge"] == "130.00"
    assert held["lines"] == [{"procedure": "90834", "charge": "130.00"}]
    assert held["payer_x12_id"] == "60054"


async def test_claim_submission_retries_when_eligibility_is_down(claims: Claims) -> None:
    claim, _ = await _confirmed_claim(claims)
    claims.eligibility.clients.clear()  # eligibility answers 404: we try again later, we do not give up
    assert await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    after = await _claim(claims, claim["id"])
    assert after["status"] == "pending"
    assert after["submissions"] == 0


async def test_polled_835_is_posted_and_publishes_claim_adjudicated(claims: Claims) -> None:
    claim, _ = await _confirmed_claim(claims)
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    await _adjudicate(
        claims,
        claim["control_number"],
        outcome="paid",
        allowed_amount="100.00",
        patient_responsibility="20.00",
    )
    await run_job_once(claims.runtime, POLL_REMITTANCES)
    await run_job_once(claims.runtime, POLL_REMITTANCES)  # a second poll finds nothing new
    after = await _claim(claims, claim["id"])
    assert after["status"] == "paid"
    assert (after["allowed_amount"], after["paid_amount"], after["patient_responsibility"]) == (
        "100.00",
        "80.00",
        "20.00",
    )
    async with claims.runtime.db.session() as s:
        payloads = list(
            await s.scalars(
                select(messaging.outbox.c.payload).where(
                    messaging.outbox.c.event_type == "parity.claim.adjudicated.v1"
                )
            )
        )
    assert len(payloads) == 1
    assert payloads[0]["patient_responsibility"] == "20.00"
    assert payloads[0]["status"] == "paid"


async def test_a_restarted_835_feed_is_read_again_from_the_start(claims: Claims) -> None:
    """A feed whose sequence is behind our cursor was reset; we start over instead of waiting forever."""
    async with claims.runtime.db.session() as s:
        await s.merge(PollCursor(name="clearinghouse-835", value="500"))
    claim, _ = await _confirmed_claim(claims)
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    await _adjudicate(claims, claim["control_number"], outcome="paid", allowed_amount="100.00")
    await run_job_once(claims.runtime, POLL_REMITTANCES)  # sees the feed behind our cursor: rewinds
    await run_job_once(claims.runtime, POLL_REMITTANCES)  # reads it from the start
    assert (await _claim(claims, claim["id"]))["status"] == "paid"


async def test_uploaded_835_posts_once_and_rejects_garbage(claims: Claims) -> None:
    claim, _ = await _confirmed_claim(claims)
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    x12 = (await _adjudicate(claims, claim["control_number"], outcome="denied", carc_codes=["50"]))["x12"]
    r = await claims.client.post(
        "/v1/remittances", content=x12, headers={**OPS, "content-type": "application/edi-x12"}
    )
    assert r.json() == {"posted": [claim["control_number"]], "duplicates": [], "unmatched": []}
    files = {"file": ("remit.835", x12.encode(), "application/octet-stream")}
    r = await claims.client.post("/v1/remittances", files=files, headers=OPS)
    assert r.json()["duplicates"] == [claim["control_number"]]
    assert (await _claim(claims, claim["id"]))["status"] == "denied"
    r = await claims.client.post("/v1/remittances", content=b"not x12", headers=OPS)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    r = await claims.client.post("/v1/remittances", content=x12, headers=as_role("partner"))
    assert r.status_code == 403


async def test_cob_denial_end_to_end_opens_cob_and_primary_confirmed_resubmits(
    claims_net: Claims, topics: TopicReader
) -> None:
    claims = claims_net
    settings = claims.runtime.settings
    async with httpx.AsyncClient(base_url=claims.clearinghouse_url) as ch:
        await ch.put(
            "/admin/settings",
            json={
                "webhook_url": str(claims.client.base_url).rstrip("/") + "/internal/remittances",
                "webhook_headers": SERVICE,
            },
        )
    # eligibility's events arrive over the broker and feed our view
    client_id, coverage_id = uuid.uuid4(), uuid.uuid4()
    await produce(
        settings,  # type: ignore[arg-type]
        ClientStatusChanged(
            client_id=client_id, account_status="active", cleared_for_scheduling=True, changed_at=START
        ),
        CoverageStatusChanged(
            coverage_id=coverage_id, client_id=client_id, payer_id="aetna", status="active", changed_at=START
        ),
    )

    async def view_ready() -> bool:
        async with claims.runtime.db.session() as s:
            return await eligibility_view.coverage(s, coverage_id) is not None

    await eventually(view_ready, what="coverage in the local view")
    claims.eligibility.clients[str(client_id)] = {
        "id": str(client_id),
        "first_name": "JANE",
        "last_name": "DOE",
        "date_of_birth": "1990-01-02",
    }
    claims.eligibility.coverages[str(coverage_id)] = {
        "id": str(coverage_id),
        "client_id": str(client_id),
        "payer_id": "aetna",
        "member_id": "M1",
        "group_number": None,
        "subscriber": {
            "first_name": "JANE",
            "last_name": "DOE",
            "date_of_birth": "1990-01-02",
            "relationship": "self",
        },
    }
    pid = await make_provider(claims, licences=["NY"], credentials=[("aetna", "NY", "standard")])
    loc = await add_location(claims, client_id, "NY", seen_by=pid)
    r = await claims.client.post(
        "/v1/sessions", json=session_body(pid, client_id, loc), headers=as_role("provider", provider_id=pid)
    )
    claim_id = r.json()["claim_id"]
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    control = (await _claim(claims, claim_id))["control_number"]

    pushed = await _adjudicate(claims, control, outcome="denied", carc_codes=["22"], group_code="OA")
    assert pushed["pushed"] == 200
    assert (await _claim(claims, claim_id))["status"] == "denied_cob"
    [denied] = await topics.wait_for("claim.denied")
    assert denied.data["reason"] == "coordination_of_benefits"
    assert denied.data["coverage_id"] == str(coverage_id)
    assert denied.data["carc_codes"] == ["22"]

    resolved = CobCaseResolved(
        case_id=uuid.uuid4(),
        client_id=client_id,
        coverage_id=coverage_id,
        outcome="primary_confirmed",
        affected_claim_ids=[uuid.UUID(claim_id)],
        resolved_at=datetime.now(UTC),
    )
    await produce(settings, resolved, resolved)  # type: ignore[arg-type]

    async def back_to_pending() -> bool:
        return (await _claim(claims, claim_id))["status"] == "pending"

    await eventually(back_to_pending, what="claim queued for resubmission")
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    after = await _claim(claims, claim_id)
    assert after["submissions"] == 2
    assert [t["to_status"] for t in after["transitions"]] == [
        "pending",
        "submitted",
        "accepted",
        "denied_cob",
        "pending",
        "submitted",
        "accepted",
    ]
    assert "resubmission" in after["transitions"][4]["reason"]
    submitted = await topics.wait_for("claim.submitted", count=2)
    assert sorted(e.data["submission"] for e in submitted) == [1, 2]


async def test_secondary_confirmed_closes_the_claim_as_not_billable(claims: Claims) -> None:
    claim, coverage_id = await _confirmed_claim(claims)
    await run_job_once(claims.runtime, SUBMIT_CLAIMS)
    x12 = (await _adjudicate(claims, claim["control_number"], outcome="denied", carc_codes=["22"]))["x12"]
    await claims.client.post("/internal/remittances", content=x12, headers=SERVICE)
    await claims.feed(
        CobCaseResolved(
            case_id=uuid.uuid4(),
            client_id=uuid.UUID(claim["client_id"]),
            coverage_id=coverage_id,
            outcome="secondary_confirmed",
            affected_claim_ids=[],
            resolved_at=datetime.now(UTC),
        )
    )
    assert (await _claim(claims, claim["id"]))["status"] == "closed_not_billable"
