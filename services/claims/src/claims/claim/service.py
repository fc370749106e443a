"""A claim's life: every status transition recorded; COB outcomes resubmit or close it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from claims.claim import repository
from claims.models import Claim, ClaimTransition
from contracts.events import CobCaseResolved
from kit.messaging.consumer import EventContext

# Where a claim can be: pending (waiting to be sent) -> submitted -> accepted | rejected -> paid |
# partially_paid | denied | denied_cob; denied_cob -> pending (resubmitted) | closed_not_billable;
# pending -> voided (session cancelled before it was sent); any adjudicated -> reversed (CLP02 22).
FINAL = frozenset({"paid", "partially_paid", "denied", "closed_not_billable", "voided"})


def transition(session: AsyncSession, claim: Claim, to_status: str, reason: str, at: datetime) -> None:
    """Move a claim to `to_status` and record why."""
    session.add(
        ClaimTransition(
            claim_id=claim.id, from_status=claim.status, to_status=to_status, reason=reason, at=at
        )
    )
    claim.status = to_status


def new_claim(
    *,
    session: AsyncSession,
    session_id: uuid.UUID,
    client_id: uuid.UUID,
    provider_id: uuid.UUID,
    coverage_id: uuid.UUID,
    payer_id: str,
    billed_amount: Decimal,
    at: datetime,
) -> Claim:
    """A confirmed insured session becomes a pending claim (sent after commit by the submission job)."""
    claim_id = uuid.uuid4()
    claim = Claim(
        id=claim_id,
        session_id=session_id,
        control_number=claim_id.hex[:20].upper(),
        client_id=client_id,
        provider_id=provider_id,
        coverage_id=coverage_id,
        payer_id=payer_id,
        status="pending",
        billed_amount=billed_amount,
        submissions=0,
        attempts=0,
    )
    session.add(claim)
    session.add(
        ClaimTransition(
            claim_id=claim_id, from_status=None, to_status="pending", reason="session confirmed", at=at
        )
    )
    return claim


async def on_cob_case_resolved(event: CobCaseResolved, ctx: EventContext) -> None:
    """Primary confirmed: resubmit every affected claim. Secondary confirmed: not billable to this plan."""
    now = ctx.state.clock.now()
    for claim in await repository.for_cob(ctx.session, event.affected_claim_ids, event.coverage_id):
        if claim.status != "denied_cob":
            continue  # already handled (or never COB-denied): redelivery and stray ids change nothing
        if event.outcome == "primary_confirmed":
            claim.attempts = 0
            claim.next_attempt_at = None
            transition(
                ctx.session,
                claim,
                "pending",
                f"resubmission: COB case {event.case_id} confirmed this plan primary",
                now,
            )
        else:
            transition(
                ctx.session,
                claim,
                "closed_not_billable",
                f"COB case {event.case_id}: this plan is secondary; not billable to it",
                now,
            )
