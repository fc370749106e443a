"""Recording a 271 (or the failure to get one) in one transaction: the coverage, the benefit snapshot, the
client's status, a COB case on the secondary flag, and their events, each written once.

The rules are the ones coverage entry, COB cases and client status apply elsewhere (`client_status`,
`change_reason`, `backoff`); here they are applied to the rows read under the locks and written with one
statement per table, every event goes to the outbox in one insert, and all of those statements are sent to
the database together, as one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from contracts.base import Event
from contracts.events import (
    BenefitsChanged,
    BenefitValues,
    ClientStatusChanged,
    CobCaseOpened,
    CoverageFlaggedSecondary,
    CoverageStatusChanged,
)
from eligibility.clients.status import ClientFacts, client_status
from eligibility.cob.service import PROVIDER_MESSAGE
from eligibility.config import settings_of
from eligibility.coverages.service import backoff
from eligibility.verification import repository
from eligibility.verification.changes import change_reason
from eligibility.verification.x12_271 import Answer
from kit.errors import NotFound
from kit.runtime import Runtime

Trigger = Literal["manual", "scheduled", "cob_follow_up"]
INACTIVE_REASONS = {
    "inactive": "terminated",
    "not_found": "member_not_found",
    "rejected": "rejected_by_payer",
}


@dataclass(frozen=True)
class Pending:
    """A verification whose 270 is recorded and sent."""

    id: uuid.UUID
    coverage_id: uuid.UUID
    client_id: uuid.UUID
    trigger: str
    requested_at: datetime
    raw_271: str | None


@dataclass(frozen=True)
class Verified:
    """A recorded verification and where it left the coverage."""

    id: uuid.UUID
    coverage_id: uuid.UUID
    trigger: str
    outcome: str
    failure_reason: str | None
    requested_at: datetime
    completed_at: datetime | None
    coverage_status: str
    coverage_status_reason: str | None
    next_verification_at: datetime | None
    snapshot_id: uuid.UUID | None
    benefits: BenefitValues | None


def verdict(answer: Answer) -> tuple[str, str, str | None]:
    """What a 271 makes of the verification and its coverage: (outcome, coverage status, status reason).
    A plan the insurer reports as secondary is inactive here whatever else the 271 says."""
    if answer.secondary:
        return "secondary", "inactive", "secondary_flag"
    if answer.kind != "active":
        return answer.kind, "inactive", INACTIVE_REASONS[answer.kind]
    return "active", "active", None


async def record(
    *, pg: asyncpg.Connection, runtime: Runtime, pending: Pending, answer: Answer | None, failure: str | None
) -> Verified:
    """Apply the payer's answer to the coverage and the client; a failure only schedules the retry."""
    settings = settings_of(runtime)
    facts = await repository.lock(pg, pending.coverage_id)
    if facts is None:
        raise NotFound("No such coverage.")
    done = runtime.clock.now()
    writes = repository.Writes()

    def verified(
        outcome: str, status: str, reason: str | None, next_at: datetime, snapshot: uuid.UUID | None = None
    ) -> Verified:
        return Verified(
            id=pending.id,
            coverage_id=pending.coverage_id,
            trigger=pending.trigger,
            outcome=outcome,
            failure_reason=failure if answer is None else None,
            requested_at=pending.requested_at,
            completed_at=done,
            coverage_status=status,
            coverage_status_reason=reason,
            next_verification_at=next_at,
            snapshot_id=snapshot,
            benefits=answer.benefits if answer is not None and snapshot is not None else None,
        )

    if answer is None:
        failures = facts.verification_failures + 1
        next_at = done + timedelta(
            seconds=backoff(failures, base_s=settings.retry_base_s, max_s=settings.retry_max_s)
        )
        writes.coverage_failed(pending.coverage_id, failures=failures, next_at=next_at)
        _complete(writes, pending, done=done, outcome="failed", failure=failure, snapshot_id=None)
        await writes.run(pg)
        return verified("failed", facts.status, facts.status_reason, next_at)

    events: list[Event] = []
    next_at = done + timedelta(days=settings.reverify_after_days)
    snapshot_id: uuid.UUID | None = None
    open_case = facts.open_case_id is not None
    outcome, status, reason = verdict(answer)
    moved = (facts.status, facts.status_reason) != (status, reason)
    if moved:
        events.append(
            CoverageStatusChanged(
                coverage_id=pending.coverage_id,
                client_id=facts.client_id,
                payer_id=facts.payer_id,
                status=status,
                status_reason=reason,
                changed_at=done,
            )
        )
    writes.coverage_answered(
        pending.coverage_id, at=done, next_at=next_at, status=status, reason=reason, moved=moved
    )
    if answer.secondary:
        if moved:
            events.append(
                CoverageFlaggedSecondary(
                    coverage_id=pending.coverage_id,
                    client_id=facts.client_id,
                    payer_id=facts.payer_id,
                    other_payer_name=answer.other_payer_name,
                    flagged_at=done,
                )
            )
        if facts.current:
            events += _open_case(writes, runtime, pending, facts, answer, done)
            open_case = True
    elif answer.kind == "active" and answer.benefits is not None:
        snapshot_id = _snapshot(writes, pending, facts, answer.benefits, done, events)
    _complete(writes, pending, done=done, outcome=outcome, failure=None, snapshot_id=snapshot_id)
    if facts.current:
        events += _client_status(writes, facts, pending, status, reason, open_case, done)
    if events:
        writes.add(*runtime.outbox.statement(*events))
    await writes.run(pg)
    return verified(outcome, status, reason, next_at, snapshot_id)


def _complete(
    writes: repository.Writes,
    pending: Pending,
    *,
    done: datetime,
    outcome: str,
    failure: str | None,
    snapshot_id: uuid.UUID | None,
) -> None:
    writes.complete(
        pending.id,
        completed_at=done,
        raw_271=pending.raw_271,
        outcome=outcome,
        failure_reason=failure,
        snapshot_id=snapshot_id,
    )


def _snapshot(
    writes: repository.Writes,
    pending: Pending,
    facts: repository.LockedFacts,
    new: BenefitValues,
    done: datetime,
    events: list[Event],
) -> uuid.UUID:
    """Store the benefits when they differ from the client's last snapshot, and tell pricing why."""
    values = facts.last_snapshot_values
    old = BenefitValues.model_validate(values) if values is not None else None
    same_coverage = facts.last_snapshot_id is None or facts.last_snapshot_coverage_id == pending.coverage_id
    reason = change_reason(old, new, same_coverage=same_coverage)
    if reason is None and facts.last_snapshot_id is not None:
        return facts.last_snapshot_id
    snapshot_id = uuid.uuid4()
    writes.add_snapshot(
        snapshot_id=snapshot_id,
        coverage_id=pending.coverage_id,
        client_id=facts.client_id,
        verification_id=pending.id,
        taken_at=done,
        values_json=new.model_dump_json(),
        reason=reason,
    )
    events.append(
        BenefitsChanged(
            coverage_id=pending.coverage_id,
            client_id=facts.client_id,
            payer_id=facts.payer_id,
            snapshot_id=snapshot_id,
            reason=reason or "corrected_data",
            old=old,
            new=new,
            changed_at=done,
        )
    )
    return snapshot_id


def _open_case(
    writes: repository.Writes,
    runtime: Runtime,
    pending: Pending,
    facts: repository.LockedFacts,
    answer: Answer,
    done: datetime,
) -> list[Event]:
    """The secondary flag opens a COB case (the account pauses), or joins the client's open one."""
    note = "The insurer's 271 reports this plan as secondary" + (
        f" (primary: {answer.other_payer_name})." if answer.other_payer_name else "."
    )
    if facts.open_case_id is not None:
        writes.add_case_events(facts.open_case_id, at=done, events=[("secondary_flag_again", note)])
        return []
    case_id = uuid.uuid4()
    writes.open_case(
        case_id=case_id,
        client_id=facts.client_id,
        coverage_id=pending.coverage_id,
        payer_id=facts.payer_id,
        trigger="secondary_flag",
        at=done,
        follow_up_due_at=done + timedelta(days=settings_of(runtime).cob_follow_up_days),
    )
    writes.add_case_events(
        case_id,
        at=done,
        events=[
            ("opened", note),
            ("client_notified", "Client told who to call and what to say."),
            ("provider_notified", PROVIDER_MESSAGE),
        ],
    )
    return [
        CobCaseOpened(
            case_id=case_id,
            client_id=facts.client_id,
            coverage_id=pending.coverage_id,
            payer_id=facts.payer_id,
            trigger="secondary_flag",
            claim_ids=[],
            opened_at=done,
        )
    ]


def _client_status(
    writes: repository.Writes,
    facts: repository.LockedFacts,
    pending: Pending,
    status: str,
    reason: str | None,
    open_case: bool,
    done: datetime,
) -> list[Event]:
    """Re-derive the account status and clearance from the coverage as it now stands."""
    if facts.current_coverage_id == pending.coverage_id:
        coverage_status, coverage_reason = status, reason
    else:
        coverage_status, coverage_reason = facts.current_coverage_status, facts.current_coverage_reason
    derived = client_status(
        ClientFacts(
            self_pay=facts.self_pay,
            insurance_ineligible=facts.insurance_ineligible,
            open_cob_case=open_case,
            coverage_status=coverage_status,
            coverage_reason=coverage_reason,
        )
    )
    previous = (facts.account_status, facts.cleared_for_scheduling)
    moved = previous != (derived.account_status, derived.cleared_for_scheduling)
    unchanged = (derived.reason_code, derived.reason) == (
        facts.status_reason_code,
        facts.client_status_reason,
    )
    if not moved and unchanged:
        return []
    writes.client_status(
        facts.client_id,
        account_status=derived.account_status,
        cleared=derived.cleared_for_scheduling,
        reason_code=derived.reason_code,
        reason=derived.reason,
        moved=moved,
        at=done,
    )
    if not moved:
        return []
    return [
        ClientStatusChanged(
            client_id=facts.client_id,
            account_status=derived.account_status,
            cleared_for_scheduling=derived.cleared_for_scheduling,
            reason_code=derived.reason_code,
            previous_account_status=previous[0],
            previous_cleared_for_scheduling=previous[1],
            changed_at=done,
        )
    ]
