"""Verifying a coverage: 270 out, 271 in, and what the answer changes.

Two short transactions around the clearinghouse call (never one held open across it), so verifications
run side by side however slow the clearinghouse is. A failure (down, timeout, garbage) is recorded with
its reason and retried with backoff; it changes nothing already known about the coverage.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import BenefitsChanged, BenefitValues, CoverageFlaggedSecondary
from contracts.payers import payer
from eligibility.clients import repository as clients_repo
from eligibility.clients import service as clients
from eligibility.cob import repository as cob_repo
from eligibility.cob import service as cob
from eligibility.config import settings_of
from eligibility.coverages import repository
from eligibility.coverages.service import backoff, set_status
from eligibility.models import BenefitSnapshot, Client, CobCase, Coverage, Verification
from eligibility.verification.changes import change_reason
from eligibility.verification.clearinghouse import ClearinghouseFailure, exchange, make_client
from eligibility.verification.x12_270 import Inquiry, Person, render_270
from eligibility.verification.x12_271 import Answer, PayerUnavailable, Unreadable271, parse_271
from kit.errors import NotFound
from kit.runtime import Runtime

Trigger = Literal["manual", "scheduled", "cob_follow_up"]
INACTIVE_REASONS = {
    "inactive": "terminated",
    "not_found": "member_not_found",
    "rejected": "rejected_by_payer",
}


def _inquiry(
    client: Client, coverage: Coverage, verification_id: uuid.UUID, today: datetime, runtime: Runtime
) -> Inquiry:
    plan = payer(coverage.payer_id)
    settings = settings_of(runtime)
    patient = Person(client.first_name, client.last_name, client.date_of_birth)
    subscriber = Person(
        coverage.subscriber_first_name, coverage.subscriber_last_name, coverage.subscriber_date_of_birth
    )
    return Inquiry(
        trace_number=verification_id.hex[:30],
        payer_name=plan.name if plan else coverage.payer_id,
        payer_x12_id=plan.x12_payer_id if plan else coverage.payer_id,
        member_id=coverage.member_id,
        group_number=coverage.group_number,
        subscriber=patient if coverage.relationship == "self" else subscriber,
        patient=None if coverage.relationship == "self" else patient,
        relationship=coverage.relationship,
        service_date=today.date(),
        receiver_name=settings.receiver_name,
        receiver_npi=settings.receiver_npi,
    )


def _http(runtime: Runtime):
    if "clearinghouse_http" not in runtime.extras:
        runtime.extras["clearinghouse_http"] = make_client(settings_of(runtime).clearinghouse_max_connections)
    return runtime.extras["clearinghouse_http"]


async def verify(
    *, runtime: Runtime, coverage_id: uuid.UUID, trigger: Trigger, follow_up_case_id: uuid.UUID | None = None
) -> Verification:
    """Ask the payer about this coverage now and apply the answer; returns the recorded verification."""
    settings = settings_of(runtime)
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        coverage = await repository.get(session, coverage_id)
        if coverage is None:
            raise NotFound("No such coverage.")
        client = await clients_repo.get(session, coverage.client_id)
        assert client is not None
        verification_id = uuid.uuid4()
        raw_270 = render_270(
            _inquiry(client, coverage, verification_id, now, runtime),
            sender_id=settings.x12_sender_id,
            receiver_id=settings.x12_receiver_id,
            created=now.replace(tzinfo=None),
        )
        session.add(
            Verification(
                id=verification_id,
                coverage_id=coverage.id,
                trigger=trigger,
                requested_at=now,
                outcome="pending",
                raw_270=raw_270,
            )
        )
    raw_271: str | None = None
    answer: Answer | None = None
    failure: str | None = None
    try:
        raw_271 = await exchange(
            _http(runtime), settings.clearinghouse_url, raw_270, timeout=settings.clearinghouse_timeout_s
        )
        answer = parse_271(raw_271)
    except ClearinghouseFailure as exc:
        failure = str(exc)
    except Unreadable271 as exc:
        failure = f"unreadable answer: {exc}"
    except PayerUnavailable as exc:
        failure = f"payer unavailable: {exc}"
    async with runtime.db.session() as session:
        client = await clients_repo.get(session, coverage.client_id, for_update=True)
        coverage = await repository.get(session, coverage_id, for_update=True)
        verification = await session.get(Verification, verification_id)
        assert client is not None
        assert coverage is not None
        assert verification is not None
        done = runtime.clock.now()
        verification.completed_at = done
        verification.raw_271 = raw_271
        case = await cob_repo.get(session, follow_up_case_id, for_update=True) if follow_up_case_id else None
        if answer is None:
            verification.outcome = "failed"
            verification.failure_reason = failure
            coverage.verification_failures += 1
            wait = backoff(
                coverage.verification_failures, base_s=settings.retry_base_s, max_s=settings.retry_max_s
            )
            coverage.next_verification_at = done + timedelta(seconds=wait)
            if case is not None and case.status == "open":
                case.follow_up_due_at = done + timedelta(seconds=wait)
                cob_repo.add_event(
                    session,
                    case,
                    at=done,
                    kind="follow_up_failed",
                    detail=f"Insurer not reached ({failure}); retrying.",
                )
            return verification
        await _apply(
            session=session,
            runtime=runtime,
            client=client,
            coverage=coverage,
            verification=verification,
            answer=answer,
        )
        if case is not None and case.status == "open":
            await _follow_up_outcome(
                session=session, runtime=runtime, case=case, client=client, coverage=coverage, answer=answer
            )
        if coverage.current:
            await clients.refresh_status(session=session, runtime=runtime, client=client)
        return verification


async def _apply(
    *,
    session: AsyncSession,
    runtime: Runtime,
    client: Client,
    coverage: Coverage,
    verification: Verification,
    answer: Answer,
) -> None:
    now = runtime.clock.now()
    settings = settings_of(runtime)
    coverage.last_verified_at = now
    coverage.verification_failures = 0
    coverage.next_verification_at = now + timedelta(days=settings.reverify_after_days)
    if answer.secondary:
        verification.outcome = "secondary"
        moved = await set_status(
            session=session, runtime=runtime, coverage=coverage, status="inactive", reason="secondary_flag"
        )
        if moved:
            await runtime.outbox.publish(
                session,
                CoverageFlaggedSecondary(
                    coverage_id=coverage.id,
                    client_id=client.id,
                    payer_id=coverage.payer_id,
                    other_payer_name=answer.other_payer_name,
                    flagged_at=now,
                ),
            )
        if coverage.current:
            await cob.open_case(
                session=session,
                runtime=runtime,
                client=client,
                coverage=coverage,
                trigger="secondary_flag",
                note="The insurer's 271 reports this plan as secondary"
                + (f" (primary: {answer.other_payer_name})." if answer.other_payer_name else "."),
            )
        return
    verification.outcome = answer.kind
    if answer.kind != "active":
        await set_status(
            session=session,
            runtime=runtime,
            coverage=coverage,
            status="inactive",
            reason=INACTIVE_REASONS[answer.kind],
        )
        return
    await set_status(session=session, runtime=runtime, coverage=coverage, status="active", reason=None)
    if answer.benefits is not None:
        verification.snapshot_id = await _snapshot(
            session=session,
            runtime=runtime,
            coverage=coverage,
            verification=verification,
            new=answer.benefits,
        )


async def _snapshot(
    *,
    session: AsyncSession,
    runtime: Runtime,
    coverage: Coverage,
    verification: Verification,
    new: BenefitValues,
) -> uuid.UUID:
    """Store the benefits when they differ from the client's last snapshot, and tell pricing why."""
    last = await repository.last_snapshot(session, coverage.client_id)
    old = BenefitValues.model_validate(last.values) if last else None
    reason = change_reason(old, new, same_coverage=last is None or last.coverage_id == coverage.id)
    if reason is None and last is not None:
        return last.id
    now = runtime.clock.now()
    snapshot = BenefitSnapshot(
        id=uuid.uuid4(),
        coverage_id=coverage.id,
        client_id=coverage.client_id,
        verification_id=verification.id,
        taken_at=now,
        values=new.model_dump(mode="json"),
        change_reason=reason,
    )
    session.add(snapshot)
    await runtime.outbox.publish(
        session,
        BenefitsChanged(
            coverage_id=coverage.id,
            client_id=coverage.client_id,
            payer_id=coverage.payer_id,
            snapshot_id=snapshot.id,
            reason=reason or "corrected_data",
            old=old,
            new=new,
            changed_at=now,
        ),
    )
    return snapshot.id


async def _follow_up_outcome(
    *,
    session: AsyncSession,
    runtime: Runtime,
    case: CobCase,
    client: Client,
    coverage: Coverage,
    answer: Answer,
) -> None:
    now = runtime.clock.now()
    if answer.secondary:
        await cob.resolve(
            session=session,
            runtime=runtime,
            case=case,
            client=client,
            coverage=coverage,
            outcome="secondary_confirmed",
        )
    elif answer.kind == "active":
        await cob.resolve(
            session=session,
            runtime=runtime,
            case=case,
            client=client,
            coverage=coverage,
            outcome="primary_confirmed",
        )
    else:
        case.follow_up_due_at = now + timedelta(days=settings_of(runtime).cob_follow_up_days)
        cob_repo.add_event(
            session,
            case,
            at=now,
            kind="follow_up_inconclusive",
            detail=f"The insurer reports the plan as {answer.kind.replace('_', ' ')}; checking again in a week. "
            "Entering the current primary plan resolves this sooner.",
        )
