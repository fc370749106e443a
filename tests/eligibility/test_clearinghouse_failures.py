"""Clearinghouse down, timing out or answering garbage: recorded as failed with the reason, retried with
backoff, and nothing already known is overwritten."""

from __future__ import annotations

from datetime import datetime, timedelta

from eligibility.jobs import run_scheduled_verifications
from kit.jobs import PeriodicJob, run_job_once
from kit.testing.helpers import OPS
from kit.testing.plugin import SettingsFactory
from tests.eligibility.conftest import Service, free_port, make_service

SCHEDULED = PeriodicJob("eligibility.scheduled_verifications", 60, run_scheduled_verifications)
PLAN = {"plan_year_start": "2026-01-01", "plan_year_end": "2026-12-31", "copay": "20.00"}


async def _known_good(svc: Service, member_id: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
    await svc.stage(member_id, benefits=PLAN)
    client = await svc.register()
    coverage = await svc.enter(client["id"], member_id)
    assert (await svc.verify(coverage["id"]))["outcome"] == "active"
    return client, coverage


async def _assert_nothing_overwritten(svc: Service, client: dict, coverage: dict) -> None:  # type: ignore[type-arg]
    page = (await svc.http.get(f"/v1/coverages/{coverage['id']}/benefits", headers=OPS)).json()
    assert page["coverage_status"] == "active"
    assert page["current"]["benefits"]["copay"] == "20.00"
    assert len(page["history"]) == 1
    assert (await svc.client(client["id"]))["cleared_for_scheduling"] is True


async def test_garbage_answer_is_a_failed_verification_that_changes_nothing(svc: Service) -> None:
    client, coverage = await _known_good(svc, "GARBAGE001")
    await svc.stage("GARBAGE001", status="malformed")
    result = await svc.verify(coverage["id"])
    assert result["outcome"] == "failed"
    assert "unreadable" in result["failure_reason"]
    await _assert_nothing_overwritten(svc, client, coverage)


async def test_271_from_another_system_that_is_not_x12_5010_is_refused(svc: Service) -> None:
    client, coverage = await _known_good(svc, "RAWBAD0001")
    await svc.clearinghouse.put("/admin/members/RAWBAD0001/raw-271", content="ISA*00*broken~ST*999*1~")
    result = await svc.verify(coverage["id"])
    assert result["outcome"] == "failed"
    await _assert_nothing_overwritten(svc, client, coverage)


async def test_timeout_is_recorded_and_retried_with_backoff(svc: Service) -> None:
    client, coverage = await _known_good(svc, "SLOWSTAGE1")
    await svc.stage("SLOWSTAGE1", benefits=PLAN, delay_seconds=3)  # the service waits 2 s
    first = await svc.verify(coverage["id"])
    assert first["outcome"] == "failed"
    assert first["failure_reason"].startswith("timeout")
    second = await svc.verify(coverage["id"])
    wait_1 = datetime.fromisoformat(first["next_verification_at"]) - svc.clock.now()
    wait_2 = datetime.fromisoformat(second["next_verification_at"]) - svc.clock.now()
    assert wait_1 == timedelta(seconds=300)
    assert wait_2 == timedelta(seconds=600)
    await _assert_nothing_overwritten(svc, client, coverage)


async def test_scheduled_retry_succeeds_once_the_clearinghouse_answers(svc: Service) -> None:
    _client, coverage = await _known_good(svc, "RETRY00001")
    await svc.stage("RETRY00001", status="malformed")
    assert (await svc.verify(coverage["id"]))["outcome"] == "failed"
    await svc.stage("RETRY00001", benefits={**PLAN, "copay": "35.00"})
    await run_job_once(svc.runtime, SCHEDULED)  # not due yet: nothing is sent
    page = (await svc.http.get(f"/v1/coverages/{coverage['id']}/benefits", headers=OPS)).json()
    assert len(page["verifications"]) == 2
    svc.clock.advance(timedelta(minutes=5))
    await run_job_once(svc.runtime, SCHEDULED)
    page = (await svc.http.get(f"/v1/coverages/{coverage['id']}/benefits", headers=OPS)).json()
    assert page["verifications"][0]["outcome"] == "active"
    assert page["verifications"][0]["trigger"] == "scheduled"
    assert page["current"]["benefits"]["copay"] == "35.00"
    assert page["current"]["change_reason"] == "corrected_data"


async def test_clearinghouse_down_is_a_failed_verification(
    make_settings: SettingsFactory, clearinghouse_url: str
) -> None:
    async with make_service(make_settings, f"http://127.0.0.1:{free_port()}") as svc:
        client = await svc.register()
        coverage = await svc.enter(client["id"], "ACTIVE0001")
        result = await svc.verify(coverage["id"])
        assert result["outcome"] == "failed"
        assert result["failure_reason"].startswith("unreachable")
        assert result["coverage_status"] == "pending"
        assert (await svc.client(client["id"]))["cleared_for_scheduling"] is False


async def test_new_coverages_are_verified_by_the_schedule(svc: Service) -> None:
    client = await svc.register()
    coverage = await svc.enter(client["id"], "COINS00001")
    await run_job_once(svc.runtime, SCHEDULED)
    after = (await svc.http.get(f"/v1/coverages/{coverage['id']}", headers=OPS)).json()
    assert after["status"] == "active"
    assert datetime.fromisoformat(after["next_verification_at"]) == svc.clock.now() + timedelta(days=30)
