"""Verifying a coverage: 270 out, 271 in, and what the answer changes.

Two short steps around the clearinghouse call (never a transaction held open across it), so verifications
run side by side however slow the clearinghouse is. A failure (down, timeout, garbage) is recorded with
its reason and retried with backoff; it changes nothing already known about the coverage.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import BenefitsChanged, BenefitValues, CoverageFlaggedSecondary
from contracts.payers import payer
from eligibility.clients import repository as clients_repo
from eligibility.clients import service as clients
from eligibility.cob import repository as cob_repo
from eligibility.cob import service as cob
from eligibility.config import Settings, settings_of
from eligibility.coverages import repository as coverages_repo
from eligibility.coverages.service import backoff, set_status
from eligibility.models import BenefitSnapshot, Client, CobCase, Coverage, Verification
from eligibility.verification import repository
from eligibility.verification.changes import change_reason
from eligibility.verification.clearinghouse import (
    ClearinghouseClient,
    ClearinghouseFailure,
    exchange,
    make_client,
)
from eligibility.verification.record import Pending, Trigger, Verified, record, verdict
from eligibility.verification.slots import Slots
from eligibility.verification.x12_270 import Inquiry, Person, render_270
from eligibility.verification.x12_271 import Answer, PayerUnavailable, Unreadable271, parse_271
from kit.errors import NotFound
from kit.runtime import Runtime


def _inquiry(facts: repository.InquiryFacts, trace_number: str, today: date, settings: Settings) -> Inquiry:
    plan = payer(facts.payer_id)
    patient = Person(facts.first_name, facts.last_name, facts.date_of_birth)
    subscriber = Person(
        facts.subscriber_first_name, facts.subscriber_last_name, facts.subscriber_date_of_birth
    )
    return Inquiry(
        trace_number=trace_number,
        payer_name=plan.name if plan else facts.payer_id,
        payer_x12_id=plan.x12_payer_id if plan else facts.payer_id,
        member_id=facts.member_id,
        group_number=facts.group_number,
        subscriber=patient if facts.relationship == "self" else subscriber,
        patient=None if facts.relationship == "self" else patient,
        relationship=facts.relationship,
        service_date=today,
        receiver_name=settings.receiver_name,
        receiver_npi=settings.receiver_npi,
    )


def _http(runtime: Runtime) -> ClearinghouseClient:
    if "clearinghouse_http" not in runtime.extras:
        runtime.extras["clearinghouse_http"] = make_client(settings_of(runtime).clearinghouse_max_connections)
    client: ClearinghouseClient = runtime.extras["clearinghouse_http"]
    return client


def database_slots(runtime: Runtime) -> Slots:
    """The verifications' share of the database pool (never more connections than the pool has)."""
    slots = runtime.extras.get("verification_db_slots")
    if slots is None:
        settings = settings_of(runtime)
        slots = Slots(settings.verification_db_slots or settings.database_pool_size)
        runtime.extras["verification_db_slots"] = slots
    gate: Slots = slots
    return gate


Authorize = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]


async def verify(
    *,
    runtime: Runtime,
    coverage_id: uuid.UUID,
    trigger: Trigger,
    follow_up_case_id: uuid.UUID | None = None,
    authorize: Authorize | None = None,
) -> Verified:
    """Ask the payer about this coverage now and apply the answer; returns what was recorded.

    `authorize(session, client_id)` runs before anything is written (the caller's access rule)."""
    settings = settings_of(runtime)
    slots = database_slots(runtime)
    now = runtime.clock.now()
    verification_id = uuid.uuid4()
    # Reading what to ask and recording the pending 270 need no transaction: each is one statement.
    async with slots.hold(finishing=False), runtime.db.pinned() as db:
        facts = await repository.inquiry_facts(db.driver, coverage_id)
        if facts is None:
            raise NotFound("No such coverage.")
        if authorize is not None:
            await authorize(db.session(), facts.client_id)  # its session reads only for a provider
        raw_270 = render_270(
            _inquiry(facts, verification_id.hex[:30], now.date(), settings),
            sender_id=settings.x12_sender_id,
            receiver_id=settings.x12_receiver_id,
            created=now.replace(tzinfo=None),
        )
        await repository.add_pending(
            db.driver,
            verification_id=verification_id,
            coverage_id=coverage_id,
            trigger=trigger,
            requested_at=now,
            raw_270=raw_270,
        )
    # No connection is held from here until the answer is in: the partner is slow, we are not.
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
    pending = Pending(
        id=verification_id,
        coverage_id=coverage_id,
        client_id=facts.client_id,
        trigger=trigger,
        requested_at=now,
        raw_271=raw_271,
    )
    async with slots.hold(finishing=True):
        if follow_up_case_id is None:
            async with runtime.db.transaction() as pg:
                return await record(pg=pg, runtime=runtime, pending=pending, answer=answer, failure=failure)
        async with runtime.db.session() as session:
            return await _record_follow_up(
                session=session,
                runtime=runtime,
                pending=pending,
                answer=answer,
                failure=failure,
                follow_up_case_id=follow_up_case_id,
            )


async def _record_follow_up(
    *,
    session: AsyncSession,
    runtime: Runtime,
    pending: Pending,
    answer: Answer | None,
    failure: str | None,
    follow_up_case_id: uuid.UUID,
) -> Verified:
    """The answer to a COB follow-up: besides the coverage, it resolves (or keeps open) the case."""
    settings = settings_of(runtime)
    client = await clients_repo.get(session, pending.client_id, for_update=True)
    coverage = await coverages_repo.get(session, pending.coverage_id, for_update=True)
    verification = await session.get(Verification, pending.id)
    assert client is not None
    assert coverage is not None
    assert verification is not None
    done = runtime.clock.now()
    verification.completed_at = done
    verification.raw_271 = pending.raw_271
    case = await cob_repo.get(session, follow_up_case_id, for_update=True)
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
        return _verified(verification, coverage, None)
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
    return _verified(verification, coverage, answer.benefits if verification.snapshot_id else None)


def _verified(verification: Verification, coverage: Coverage, benefits: BenefitValues | None) -> Verified:
    return Verified(
        id=verification.id,
        coverage_id=verification.coverage_id,
        trigger=verification.trigger,
        outcome=verification.outcome,
        failure_reason=verification.failure_reason,
        requested_at=verification.requested_at,
        completed_at=verification.completed_at,
        coverage_status=coverage.status,
        coverage_status_reason=coverage.status_reason,
        next_verification_at=coverage.next_verification_at,
        snapshot_id=verification.snapshot_id,
        benefits=benefits,
    )


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
    verification.outcome, status, reason = verdict(answer)
    moved = await set_status(
        session=session, runtime=runtime, coverage=coverage, status=status, reason=reason
    )
    if answer.secondary:
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
    if status == "active" and answer.benefits is not None:
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
    last = await coverages_repo.last_snapshot(session, coverage.client_id)
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
