"""Periodic work: scheduled verifications (with retries), the one-week COB follow-up, and the yearly COB
re-certification (reminder 30 days ahead, a case when it lapses). Each job runs on one replica at a time."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from contracts.events import CobRecertificationDue
from eligibility.clients import repository as clients_repo
from eligibility.cob import repository as cob_repo
from eligibility.cob import service as cob
from eligibility.config import settings_of
from eligibility.coverages import repository as coverages_repo
from eligibility.models import Coverage
from eligibility.verification import service as verification
from kit.jobs import PeriodicJob
from kit.runtime import Runtime

log = logging.getLogger("eligibility.jobs")


async def _each(items: list[Any], run: Any, *, limit: int = 50) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(item: Any) -> None:
        async with gate:
            try:
                await run(item)
            except Exception:
                log.exception("scheduled item failed", extra={"item": str(item)})

    await asyncio.gather(*(one(i) for i in items))


async def run_scheduled_verifications(runtime: Runtime) -> None:
    """Coverages due: new ones (before their first session), monthly re-checks, changes and retries."""
    settings = settings_of(runtime)
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        due = await coverages_repo.due_for_verification(session, now, limit=settings.verification_batch)
        # claimed for this run; a verification that completes sets the real next time
        await coverages_repo.postpone(
            session, due, now + timedelta(seconds=settings.clearinghouse_timeout_s * 3)
        )
    await _each(due, lambda cid: verification.verify(runtime=runtime, coverage_id=cid, trigger="scheduled"))


async def run_cob_follow_ups(runtime: Runtime) -> None:
    """One week after the client was notified, ask the insurer again which plan is primary."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        cases = await cob_repo.due_follow_ups(session, now, limit=settings_of(runtime).verification_batch)
        pairs = [(c.id, c.coverage_id) for c in cases]
    await _each(
        pairs,
        lambda pair: verification.verify(
            runtime=runtime, coverage_id=pair[1], trigger="cob_follow_up", follow_up_case_id=pair[0]
        ),
    )


async def run_cob_recertification(runtime: Runtime) -> None:
    """Remind 30 days before a coverage's yearly COB certification lapses; open a case once it lapses."""
    settings = settings_of(runtime)
    today = runtime.clock.today()
    remind_from = today - timedelta(days=settings.cob_recertify_days - settings.cob_reminder_days)
    async with runtime.db.session() as session:
        query = (
            select(Coverage)
            .where(
                Coverage.current.is_(True),
                Coverage.status == "active",
                Coverage.cob_certified_on <= remind_from,
            )
            .with_for_update(skip_locked=True)
            .limit(settings.verification_batch)
        )
        for coverage in (await session.execute(query)).scalars():
            due = coverage.cob_certified_on + timedelta(days=settings.cob_recertify_days)
            if due <= today:
                client = await clients_repo.get(session, coverage.client_id, for_update=True)
                if client is not None and await clients_repo.open_case(session, client.id) is None:
                    await cob.open_case(
                        session=session,
                        runtime=runtime,
                        client=client,
                        coverage=coverage,
                        trigger="recertification_lapsed",
                        note=f"The yearly COB re-certification lapsed on {due.isoformat()}.",
                    )
            elif coverage.cob_reminder_sent_for != due:
                coverage.cob_reminder_sent_for = due
                await runtime.outbox.publish(
                    session,
                    CobRecertificationDue(
                        coverage_id=coverage.id, client_id=coverage.client_id, due_date=due
                    ),
                )


def jobs(interval_s: float) -> list[PeriodicJob]:
    return [
        PeriodicJob("eligibility.scheduled_verifications", interval_s, run_scheduled_verifications),
        PeriodicJob("eligibility.cob_follow_ups", interval_s, run_cob_follow_ups),
        PeriodicJob("eligibility.cob_recertification", interval_s * 10, run_cob_recertification),
    ]
