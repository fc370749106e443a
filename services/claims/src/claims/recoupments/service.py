"""Clawback protection: classify a payer's recoupment, record the decision and its ledger entries."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import Claim, LedgerEntry, Recoupment
from claims.rules import RecoupmentCause, classify_recoupment
from contracts.events import RecoupmentDecided
from kit.errors import Conflict
from kit.money import PositiveLargeAmount
from kit.runtime import Runtime


class RecoupmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: PositiveLargeAmount = Field(description="What the payer takes back, as a string with two places.")
    cause: RecoupmentCause


class LedgerOut(BaseModel):
    account: str
    amount: Decimal
    memo: str


class RecoupmentOut(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    amount: Decimal
    cause: str
    responsibility: str
    provider_paid_amount: Decimal = Field(
        description="What the provider keeps for this session after the decision."
    )
    ledger: list[LedgerOut]


def ledger_for(responsibility: str, amount: Decimal) -> list[tuple[str, Decimal, str]]:
    """Double entries (debits positive): who funds the money going back to the payer."""
    if responsibility == "platform":
        return [
            ("platform_clawback_losses", amount, "platform error: provider keeps the contracted rate"),
            ("payer_recoupments_payable", -amount, "returned to the payer"),
        ]
    return [
        ("provider_receivable", amount, "provider error: recouped from the provider's next payouts"),
        ("payer_recoupments_payable", -amount, "returned to the payer"),
    ]


async def _out(session: AsyncSession, r: Recoupment) -> RecoupmentOut:
    rows = await session.scalars(
        select(LedgerEntry).where(LedgerEntry.recoupment_id == r.id).order_by(LedgerEntry.account)
    )
    return RecoupmentOut(
        id=r.id,
        claim_id=r.claim_id,
        amount=r.amount,
        cause=r.cause,
        responsibility=r.responsibility,
        provider_paid_amount=r.provider_paid_amount,
        ledger=[LedgerOut(account=e.account, amount=e.amount, memo=e.memo) for e in rows],
    )


async def decide(
    *, session: AsyncSession, runtime: Runtime, claim: Claim, data: RecoupmentIn, idempotency_key: str
) -> tuple[RecoupmentOut, bool]:
    """Record who bears a recoupment; the same idempotency key returns the first decision (False = not new)."""
    existing = await session.scalar(
        select(Recoupment).where(
            Recoupment.claim_id == claim.id, Recoupment.idempotency_key == idempotency_key
        )
    )
    if existing is not None:
        if existing.amount != data.amount or existing.cause != data.cause:
            raise Conflict("This idempotency key was used for a different recoupment.")
        return await _out(session, existing), False
    paid = claim.paid_amount or Decimal("0.00")
    already = sum(
        await session.scalars(select(Recoupment.amount).where(Recoupment.claim_id == claim.id)),
        Decimal("0.00"),
    )
    if data.amount + already > paid:
        raise Conflict(
            f"The payer paid {paid:.2f} on this claim; it cannot recoup {data.amount + already:.2f}."
        )
    responsibility = classify_recoupment(data.cause)
    now = runtime.clock.now()
    kept = paid if responsibility == "platform" else paid - already - data.amount
    record = Recoupment(
        id=uuid.uuid4(),
        claim_id=claim.id,
        idempotency_key=idempotency_key,
        amount=data.amount,
        cause=data.cause,
        responsibility=responsibility,
        provider_paid_amount=kept,
        decided_at=now,
    )
    session.add(record)
    await session.flush()
    for account, amount, memo in ledger_for(responsibility, data.amount):
        session.add(LedgerEntry(recoupment_id=record.id, account=account, amount=amount, memo=memo))
    await session.flush()
    await runtime.outbox.publish(
        session,
        RecoupmentDecided(
            recoupment_id=record.id,
            claim_id=claim.id,
            provider_id=claim.provider_id,
            amount=data.amount,
            responsibility=responsibility,
            cause=data.cause,
            decided_at=now,
        ),
    )
    return await _out(session, record), True


async def listing(session: AsyncSession, claim_id: uuid.UUID) -> list[RecoupmentOut]:
    rows = await session.scalars(
        select(Recoupment).where(Recoupment.claim_id == claim_id).order_by(Recoupment.decided_at)
    )
    return [await _out(session, r) for r in rows]
