"""COB is re-certified yearly: a reminder 30 days before it lapses, a case when it lapses."""

from __future__ import annotations

from datetime import timedelta

from eligibility.jobs import run_cob_recertification
from kit.jobs import PeriodicJob, run_job_once
from tests.eligibility.conftest import Service

RECERT = PeriodicJob("eligibility.cob_recertification", 600, run_cob_recertification)


async def test_reminder_30_days_ahead_once_then_a_case_when_it_lapses(svc: Service) -> None:
    client = await svc.register()
    coverage = await svc.enter(client["id"], "ACTIVE0001")
    await svc.verify(coverage["id"])
    svc.clock.advance(timedelta(days=334))
    await run_job_once(svc.runtime, RECERT)
    assert await svc.outbox("cob.recertification_due") == []
    svc.clock.advance(timedelta(days=1))
    await run_job_once(svc.runtime, RECERT)
    await run_job_once(svc.runtime, RECERT)
    reminders = await svc.outbox("cob.recertification_due")
    assert [r["due_date"] for r in reminders] == [coverage["cob_recertification_due"]]
    svc.clock.advance(timedelta(days=30))
    await run_job_once(svc.runtime, RECERT)
    opened = await svc.outbox("cob.case_opened")
    assert [o["trigger"] for o in opened] == ["recertification_lapsed"]
    assert (await svc.client(client["id"]))["account_status"] == "paused"
