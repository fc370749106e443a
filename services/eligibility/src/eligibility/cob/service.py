"""Coordination-of-benefits cases: opening (the account pauses), the client's update, and resolution."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CobCaseOpened, CobCaseResolved, CobOutcome, CobTrigger
from contracts.payers import payer
from eligibility.clients import repository as clients_repo
from eligibility.clients import service as clients
from eligibility.cob import repository
from eligibility.config import settings_of
from eligibility.models import Client, CobCase, Coverage
from kit.runtime import Runtime

SCRIPT = (
    "My provider let me know there's an issue with my coordination of benefits - could you let me know "
    "which of my plans is primary?"
)
PROVIDER_MESSAGE = (
    "Your client's account is paused because their insurer reported a coordination-of-benefits issue. "
    "Only the client can resolve it; no action is needed from you."
)


def instructions(case: CobCase) -> dict[str, str]:
    """Who the client calls and what they say (the phone number on the back of their card)."""
    plan = payer(case.payer_id)
    return {
        "call": f"{plan.name if plan else 'Your insurer'} at {plan.phone if plan and plan.phone else 'the member services number'}"
        " (the number on the back of your insurance card)",
        "say": SCRIPT,
        "then": f"Tell us once your insurer has updated its records (POST /v1/cob-cases/{case.id}/client-update).",
    }


async def open_case(
    *,
    session: AsyncSession,
    runtime: Runtime,
    client: Client,
    coverage: Coverage,
    trigger: CobTrigger,
    claim_ids: list[uuid.UUID] | None = None,
    note: str = "",
) -> CobCase:
    """Open a case and pause the account; a client with an open case gets the new claims added to it."""
    now = runtime.clock.now()
    claim_ids = claim_ids or []
    existing = await clients_repo.open_case(session, client.id)
    if existing is not None:
        new = [c for c in claim_ids if c not in existing.claim_ids]
        if new:
            existing.claim_ids = [*existing.claim_ids, *new]
        repository.add_event(
            session,
            existing,
            at=now,
            kind=f"{trigger}_again",
            detail=note or f"{len(new)} more affected claim(s)",
        )
        return existing
    case = CobCase(
        id=uuid.uuid4(),
        client_id=client.id,
        coverage_id=coverage.id,
        payer_id=coverage.payer_id,
        trigger=trigger,
        status="open",
        claim_ids=list(claim_ids),
        opened_at=now,
        notified_at=now,
        follow_up_due_at=now + timedelta(days=settings_of(runtime).cob_follow_up_days),
    )
    session.add(case)
    await session.flush()
    repository.add_event(session, case, at=now, kind="opened", detail=note or f"Opened on {trigger}.")
    repository.add_event(
        session, case, at=now, kind="client_notified", detail="Client told who to call and what to say."
    )
    repository.add_event(session, case, at=now, kind="provider_notified", detail=PROVIDER_MESSAGE)
    await runtime.outbox.publish(
        session,
        CobCaseOpened(
            case_id=case.id,
            client_id=client.id,
            coverage_id=coverage.id,
            payer_id=coverage.payer_id,
            trigger=trigger,
            claim_ids=list(claim_ids),
            opened_at=now,
        ),
    )
    await clients.refresh_status(session=session, runtime=runtime, client=client)
    return case


async def client_update(*, session: AsyncSession, runtime: Runtime, case: CobCase, by: str) -> CobCase:
    """The client says the insurer's records are updated; the scheduled follow-up still checks."""
    now = runtime.clock.now()
    case.client_updated_at = now
    repository.add_event(
        session,
        case,
        at=now,
        kind="client_updated",
        detail=f"Reported by {by}: the insurer's records are updated. The follow-up with the insurer "
        f"confirms it on {case.follow_up_due_at:%Y-%m-%d}."
        if case.follow_up_due_at
        else "Reported updated.",
    )
    return case


async def resolve(
    *,
    session: AsyncSession,
    runtime: Runtime,
    case: CobCase,
    client: Client,
    coverage: Coverage,
    outcome: CobOutcome,
) -> None:
    """Close the case: primary confirmed unpauses the client and the claims reprocess; secondary confirmed
    leaves the client ineligible for insurance billing until a new primary plan is entered."""
    now = runtime.clock.now()
    case.status = "resolved"
    case.outcome = outcome
    case.resolved_at = now
    case.follow_up_due_at = None
    if outcome == "primary_confirmed":
        coverage.cob_certified_on = now.date()
        coverage.cob_reminder_sent_for = None
        detail = "The insurer confirmed this plan is primary; affected claims are reprocessed."
    else:
        client.insurance_ineligible = True
        detail = "The insurer confirmed this plan is secondary; sessions are self-pay until a new primary plan is entered."
    repository.add_event(session, case, at=now, kind=outcome, detail=detail)
    await runtime.outbox.publish(
        session,
        CobCaseResolved(
            case_id=case.id,
            client_id=case.client_id,
            coverage_id=case.coverage_id,
            outcome=outcome,
            affected_claim_ids=list(case.claim_ids),
            resolved_at=now,
        ),
    )
    await clients.refresh_status(session=session, runtime=runtime, client=client)
