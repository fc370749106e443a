"""Balances from the double-entry ledger, and payments that are idempotent per key."""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import PaymentReceived
from kit.errors import Conflict, ProblemError, Unprocessable, UpstreamTimeout, UpstreamUnavailable
from kit.runtime import Runtime
from pricing.costing.repository import lock_clients
from pricing.ledger import repository as repo
from pricing.ledger.processor import (
    CardDeclined,
    CardProcessor,
    ProcessorRejected,
    ProcessorTimeout,
    ProcessorUnavailable,
)
from pricing.ledger.schemas import Allocation, Balance, PaymentIn, PaymentOut, SessionBalance
from pricing.money import ZERO

log = logging.getLogger("pricing.payments")


class PaymentDeclined(ProblemError):
    status, type, title = 402, "payment-declined", "The card was declined"


def processor_of(runtime: Runtime) -> CardProcessor:
    """The service's card-processor client, made once and closed when the service stops."""
    processor: CardProcessor | None = runtime.extras.get("card_processor")
    if processor is None:
        s: Any = runtime.settings
        processor = CardProcessor(s.card_processor_url, s.card_processor_timeout_s)
        runtime.extras["card_processor"] = processor
        runtime.on_stop(processor.aclose)
    return processor


async def balance_of(db: AsyncSession, *, client_id: UUID) -> Balance:
    """What the client owes (sessions with money due), what they have in credit, and what is being refunded."""
    rows = await repo.owed_by_session(db, client_id)
    pending = Decimal(await repo.pending_refund_total(db, client_id))
    sessions = [
        SessionBalance(
            session_id=r.session_id, date_of_service=r.date_of_service, cost=r.cost, paid=r.paid, owed=r.owed
        )
        for r in rows
        if r.session_id is not None
    ]
    outstanding = sum((s.owed for s in sessions if s.owed > 0), ZERO)
    overpaid = -sum((r.owed for r in rows if r.owed < 0), ZERO)
    return Balance(
        client_id=client_id,
        outstanding=outstanding,
        credits=max(ZERO, overpaid - pending),
        refunds_pending=pending,
        sessions=sessions,
    )


async def pay(
    *, runtime: Runtime, client_id: UUID, key: str, request: PaymentIn
) -> tuple[int, dict[str, Any]]:
    """Charge the card once per idempotency key and apply the payment to what the client owes."""
    fingerprint = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
    async with runtime.db.session() as db:
        held = await repo.claim_request(db, client_id, key, fingerprint)
    if held is not None:
        if held.request_hash != fingerprint:
            raise Unprocessable("This Idempotency-Key was already used with a different request.")
        if held.state != "done":
            raise Conflict("A payment with this Idempotency-Key is in progress; retry later.")
        return int(held.response_status), dict(held.response_body)
    try:
        return await _charge_and_record(runtime=runtime, client_id=client_id, key=key, request=request)
    except BaseException:
        # Nothing was recorded: free the key so the same request can be retried (the processor's own
        # idempotency key is derived from ours, so a charge that did happen is found, not repeated).
        async with runtime.db.session() as db:
            await repo.release_request(db, client_id, key)
        raise


async def _charge_and_record(
    *, runtime: Runtime, client_id: UUID, key: str, request: PaymentIn
) -> tuple[int, dict[str, Any]]:
    # One transaction holding the client's row lock from the balance check to the recorded payment: two
    # concurrent payments (or a payment racing a re-pricing) of one client run one after the other, so a
    # payment is checked against the balance the previous one left and can never overpay. The lock is held
    # across the card call, bounded by the processor timeout; other clients are not affected.
    async with runtime.db.session() as db:
        await lock_clients(db, [client_id])
        if not await repo.sessions_exist(db, client_id, request.session_ids):
            raise Unprocessable("Some of these sessions are not this client's.")
        balance = await balance_of(db, client_id=client_id)
        if request.amount > balance.outstanding:
            raise Unprocessable(
                f"The payment ({request.amount}) is more than the outstanding balance ({balance.outstanding}).",
                reasons=["amount_exceeds_balance"],
            )
        payment_id = uuid5(NAMESPACE_URL, f"parity:payment:{client_id}:{key}")
        try:
            charge = await processor_of(runtime).charge(
                token=request.card_token,
                amount=request.amount,
                key=str(payment_id),
                metadata={"payment_id": str(payment_id), "client_id": str(client_id)},
            )
        except CardDeclined as exc:
            problem = PaymentDeclined(
                f"The card was declined ({exc.decline_code or exc.code}); nothing was charged.",
                decline_code=exc.decline_code or exc.code,
            ).to_problem(f"/v1/clients/{client_id}/payments")
            await repo.finish_request(db, client_id, key, 402, problem)
            return 402, problem
        except ProcessorTimeout as exc:
            raise UpstreamTimeout(
                "The card processor did not answer in time; retry with the same Idempotency-Key."
            ) from exc
        except (ProcessorUnavailable, ProcessorRejected) as exc:
            raise UpstreamUnavailable("The card processor could not take the payment; retry later.") from exc
        out = await _record_payment(
            db,
            runtime=runtime,
            client_id=client_id,
            payment_id=payment_id,
            charge_id=charge["id"],
            request=request,
        )
        body = out.model_dump(mode="json")
        await repo.finish_request(db, client_id, key, 201, body)
    return 201, body


async def _record_payment(
    db: AsyncSession,
    *,
    runtime: Runtime,
    client_id: UUID,
    payment_id: UUID,
    charge_id: str,
    request: PaymentIn,
) -> PaymentOut:
    await lock_clients(db, [client_id])
    now = runtime.clock.now()
    rows = await repo.owed_by_session(db, client_id)
    owed = [(r.session_id, r.owed) for r in rows if r.session_id is not None and r.owed > 0]
    wanted = set(request.session_ids)
    owed.sort(key=lambda item: item[0] not in wanted)  # named sessions first, then date order
    left = request.amount
    applied: list[Allocation] = []
    for session_id, amount in owed:
        if left <= 0:
            break
        take = min(left, amount)
        applied.append(Allocation(session_id=session_id, amount=take))
        left -= take
    await repo.insert_payment(
        db,
        {
            "payment_id": payment_id,
            "client_id": client_id,
            "amount": request.amount,
            "charge_id": charge_id,
            "created_at": now,
        },
    )
    txn = uuid4()
    base = {
        "transaction_id": txn,
        "client_id": client_id,
        "kind": "payment",
        "payment_id": payment_id,
        "created_at": now,
    }
    entries = [{**base, "account": "cash", "amount": request.amount, "session_id": None}]
    entries += [
        {**base, "account": "receivable", "amount": -a.amount, "session_id": a.session_id} for a in applied
    ]
    if left > 0:
        entries.append({**base, "account": "receivable", "amount": -left, "session_id": None})
    await repo.insert_entries(db, entries)
    await runtime.outbox.publish(
        db,
        PaymentReceived(
            payment_id=payment_id,
            client_id=client_id,
            amount=request.amount,
            session_ids=[a.session_id for a in applied],
            received_at=now,
        ),
    )
    return PaymentOut(
        payment_id=payment_id,
        client_id=client_id,
        amount=request.amount,
        charge_id=charge_id,
        applied=applied,
        unapplied=left,
        received_at=now,
    )
