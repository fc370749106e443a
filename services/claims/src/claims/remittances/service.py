"""Posting 835 remittances to their claims: amounts, adjustments, the claim's new status, and the events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.claim import repository as claim_repo
from claims.claim.service import transition
from claims.models import Claim, RemittancePosting
from claims.rules import is_cob_denial
from claims.x12_835 import ClaimPayment, read_835
from contracts.events import Adjustment, ClaimAdjudicated, ClaimDenied
from kit.runtime import Runtime

NOT_POSTABLE = frozenset({"pending", "voided"})


@dataclass
class PostingSummary:
    posted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


async def post_remittance(
    *, session: AsyncSession, runtime: Runtime, text: str, source: Literal["clearinghouse", "upload"]
) -> PostingSummary:
    """Post every claim payment of an 835; a payment already posted, or for no claim of ours, changes nothing."""
    summary = PostingSummary()
    for payment in read_835(text):
        claim = await claim_repo.by_control_number(session, payment.control_number)
        if claim is None or claim.status in NOT_POSTABLE:
            summary.unmatched.append(payment.control_number)
            continue
        inserted = await session.execute(
            insert(RemittancePosting)
            .values(
                claim_id=claim.id,
                posting_key=payment.posting_key,
                source=source,
                claim_status_code=payment.status_code,
                paid_amount=payment.paid,
                allowed_amount=payment.allowed,
                patient_responsibility=payment.patient_responsibility,
                adjustments=[
                    {"group_code": a.group_code, "reason_code": a.reason_code, "amount": f"{a.amount:.2f}"}
                    for a in payment.adjustments
                ],
                remark_codes=list(payment.remark_codes),
                posted_at=runtime.clock.now(),
            )
            .on_conflict_do_nothing()
            .returning(RemittancePosting.id)
        )
        if inserted.first() is None:
            summary.duplicates.append(payment.control_number)
            continue
        await _apply(session=session, runtime=runtime, claim=claim, payment=payment)
        summary.posted.append(payment.control_number)
    return summary


async def _apply(*, session: AsyncSession, runtime: Runtime, claim: Claim, payment: ClaimPayment) -> None:
    now = runtime.clock.now()
    outcome = payment.outcome
    if outcome in ("reversed", "forwarded"):
        # A reversal takes back an earlier payment (a corrected one usually follows); a forwarded claim is the
        # next payer's. Neither is an adjudication pricing can use, so they are recorded only.
        transition(session, claim, outcome, f"835 CLP02 {payment.status_code}", now)
        return
    cob = outcome == "denied" and is_cob_denial(payment.carc_codes)
    claim.paid_amount = payment.paid
    claim.allowed_amount = payment.allowed
    claim.patient_responsibility = payment.patient_responsibility
    claim.payer_claim_control_number = payment.payer_claim_control_number or claim.payer_claim_control_number
    carcs = ", ".join(f"{a.group_code}-{a.reason_code}" for a in payment.adjustments) or "none"
    transition(
        session,
        claim,
        "denied_cob" if cob else outcome,
        f"835 posted (CLP02 {payment.status_code}; CAS {carcs})",
        now,
    )
    await runtime.outbox.publish(
        session,
        ClaimAdjudicated(
            claim_id=claim.id,
            session_id=claim.session_id,
            client_id=claim.client_id,
            status=outcome,
            billed_amount=payment.charge,
            allowed_amount=payment.allowed,
            paid_amount=payment.paid,
            patient_responsibility=payment.patient_responsibility,
            adjustments=[
                Adjustment(group_code=a.group_code, reason_code=a.reason_code, amount=a.amount)
                for a in payment.adjustments
            ],
            remark_codes=list(payment.remark_codes),
            adjudicated_at=now,
        ),
    )
    if outcome == "denied":
        await runtime.outbox.publish(
            session,
            ClaimDenied(
                claim_id=claim.id,
                session_id=claim.session_id,
                client_id=claim.client_id,
                coverage_id=claim.coverage_id,
                reason="coordination_of_benefits" if cob else "other",
                carc_codes=payment.carc_codes,
                denied_at=now,
            ),
        )
