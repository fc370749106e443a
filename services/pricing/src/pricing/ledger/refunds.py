"""Sending staged refunds to the card processor, once each (the refund id is the processor's
idempotency key, and a row lock keeps two workers off the same refund)."""

from __future__ import annotations

import logging
from uuid import uuid4

from contracts.events import RefundIssued
from kit.jobs import PeriodicJob
from kit.runtime import Runtime
from pricing.ledger import repository as repo
from pricing.ledger.business_days import add_business_days
from pricing.ledger.processor import CardDeclined, ProcessorRejected, ProcessorTimeout, ProcessorUnavailable
from pricing.ledger.service import processor_of

log = logging.getLogger("pricing.refunds")

# The article: "reflected on their statement within 3-5 business days".
STATEMENT_BUSINESS_DAYS = 5


async def issue_pending_refunds(runtime: Runtime, *, batch: int = 20) -> int:
    """Send every staged refund; returns how many were issued."""
    issued = 0
    while True:
        async with runtime.db.session() as db:
            rows = await repo.claim_pending_refunds(db, batch)
            if not rows:
                return issued
            processor = processor_of(runtime)
            progressed = False
            for r in rows:
                try:
                    result = await processor.refund(
                        charge_id=r.charge_id,
                        amount=r.amount,
                        key=str(r.refund_id),
                        metadata={"refund_id": str(r.refund_id), "session_id": str(r.session_id)},
                    )
                except (ProcessorTimeout, ProcessorUnavailable):
                    log.warning("refund not sent yet; will retry", extra={"refund_id": str(r.refund_id)})
                    continue
                except (CardDeclined, ProcessorRejected) as exc:
                    await repo.mark_refund(db, r.refund_id, status="failed", failure=str(exc)[:200])
                    log.error("refund refused by the processor", extra={"refund_id": str(r.refund_id)})
                    progressed = True
                    continue
                now = runtime.clock.now()
                expected_by = add_business_days(now.date(), STATEMENT_BUSINESS_DAYS)
                await repo.mark_refund(
                    db,
                    r.refund_id,
                    status="issued",
                    processor_refund_id=result["id"],
                    issued_at=now,
                    expected_by=expected_by,
                )
                base = {
                    "transaction_id": uuid4(),
                    "client_id": r.client_id,
                    "kind": "refund",
                    "payment_id": r.payment_id,
                    "refund_id": r.refund_id,
                    "created_at": now,
                }
                await repo.insert_entries(
                    db,
                    [
                        {**base, "account": "receivable", "amount": r.amount, "session_id": r.session_id},
                        {**base, "account": "cash", "amount": -r.amount, "session_id": None},
                    ],
                )
                await runtime.outbox.publish(
                    db,
                    RefundIssued(
                        refund_id=r.refund_id,
                        client_id=r.client_id,
                        session_id=r.session_id,
                        payment_id=r.payment_id,
                        amount=r.amount,
                        issued_at=now,
                        expected_by=expected_by,
                    ),
                )
                issued += 1
                progressed = True
        if not progressed:
            return issued


def refund_job(interval_s: float) -> PeriodicJob:
    return PeriodicJob("pricing.issue_refunds", interval_s, issue_pending_refunds)
