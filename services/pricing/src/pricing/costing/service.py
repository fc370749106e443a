"""Re-pricing: every session of a client priced again in order; each change becomes a cost version, a ledger
adjustment and a `cost.changed`, and moves money (balance due, refund) when the client had already paid."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import BalanceDue, CostChanged, CostChangeReason
from kit.runtime import Runtime
from pricing.costing import repository as repo
from pricing.costing.schedule import SELF_PAY, SessionFacts, price_client
from pricing.ledger import repository as ledger_repo
from pricing.money import ZERO

log = logging.getLogger("pricing.repricing")

ReasonFor = Callable[[SessionFacts], CostChangeReason]


def because(reason: CostChangeReason, *, when: Callable[[SessionFacts], bool]) -> ReasonFor:
    """`reason` for the sessions the trigger touched; the others changed because an earlier one did."""
    return lambda s: reason if when(s) else "earlier_session_changed"


def rate_lookup(rates: dict[tuple[str, str], Decimal]) -> Callable[[str, str], Decimal | None]:
    def lookup(payer_id: str, cpt: str) -> Decimal | None:
        if payer_id == SELF_PAY:
            return rates.get((SELF_PAY, cpt))
        return rates.get((payer_id, cpt)) or rates.get(("*", cpt))

    return lookup


@dataclass
class _Moved:
    client_id: UUID
    session_id: UUID
    old: Decimal
    new: Decimal
    version: int


async def reprice_clients(
    db: AsyncSession, *, runtime: Runtime, client_ids: Sequence[UUID], reason_for: ReasonFor
) -> int:
    """Decide the current cost of every session of these clients; returns how many costs changed."""
    ids = sorted(set(client_ids))
    statuses = await repo.lock_clients(db, ids)
    by_client = await repo.load_sessions(db, ids)
    facts = await repo.load_client_facts(db, statuses, ids)
    lookup = rate_lookup(await repo.load_rates(db))
    now = runtime.clock.now()
    versions: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    events: list[CostChanged] = []
    moved: list[_Moved] = []
    for client_id in ids:
        rows = by_client.get(client_id, [])
        session_facts = [repo.to_facts(r) for r in rows]
        prices = price_client(session_facts, facts[client_id], lookup)
        for row, sf in zip(rows, session_facts, strict=True):
            price = prices.get(row.session_id)
            old = row.current_amount
            if price is None or (old is not None and old == price.amount):
                continue
            reason: CostChangeReason = "first_price" if row.current_version == 0 else reason_for(sf)
            version = row.current_version + 1
            versions.append(
                {
                    "session_id": row.session_id,
                    "version": version,
                    "amount": price.amount,
                    "allowed_amount": price.allowed,
                    "plan_amount": price.plan,
                    "basis": price.basis,
                    "reason": reason,
                    "lines": [{"label": ln.label, "amount": f"{ln.amount:.2f}"} for ln in price.lines],
                    "created_at": now,
                }
            )
            delta = price.amount - (old or ZERO)
            if delta:
                entries.extend(_charge(client_id, row.session_id, delta, first=old is None, now=now))
            events.append(
                CostChanged(
                    session_id=row.session_id,
                    client_id=client_id,
                    provider_id=row.provider_id,
                    version=version,
                    old_amount=old,
                    new_amount=price.amount,
                    reason=reason,
                    changed_at=now,
                )
            )
            if old is not None:
                moved.append(_Moved(client_id, row.session_id, old, price.amount, version))
    await repo.insert_versions(db, versions)
    await repo.set_current(db, versions)
    await repo.insert_entries(db, entries)
    await runtime.outbox.publish(db, *events)
    await _settle(db, runtime=runtime, moved=moved, now=now)
    return len(events)


def _charge(
    client_id: UUID, session_id: UUID, delta: Decimal, *, first: bool, now: datetime
) -> list[dict[str, Any]]:
    txn = uuid4()
    kind = "charge" if first else "adjustment"
    base = {
        "transaction_id": txn,
        "client_id": client_id,
        "session_id": session_id,
        "kind": kind,
        "created_at": now,
    }
    return [
        {**base, "account": "receivable", "amount": delta},
        {**base, "account": "revenue", "amount": -delta},
    ]


async def _settle(db: AsyncSession, *, runtime: Runtime, moved: list[_Moved], now: datetime) -> None:
    """Cost went up after the client paid: the difference is due. Cost went below what they paid: the excess
    first pays what the client still owes on other sessions (one ledger transfer), and the rest is refunded
    to the original payments. A client is never refunded money they would then be asked to pay again."""
    if not moved:
        return
    ids = [m.session_id for m in moved]
    money = await repo.session_money(db, ids, sorted({m.client_id for m in moved}))
    pending = await repo.pending_refunds(db, ids)
    by_client: dict[UUID, list[_Moved]] = defaultdict(list)
    for m in moved:
        by_client[m.client_id].append(m)
    for client_id, items in by_client.items():
        overs = {
            m.session_id: -money.get(m.session_id, (ZERO, ZERO))[0] - pending.get(m.session_id, ZERO)
            for m in items
        }
        owed_elsewhere: dict[UUID, Decimal] = {}
        if any(v > ZERO for v in overs.values()):
            owed_elsewhere = {
                r.session_id: r.owed
                for r in await ledger_repo.owed_by_session(db, client_id)
                if r.session_id is not None and r.owed > ZERO
            }
        transfers: list[dict[str, Any]] = []
        for m in items:
            over = overs[m.session_id]
            for target, amount in list(owed_elsewhere.items()):
                if over <= ZERO:
                    break
                take = min(over, amount)
                transfers += _apply_credit(client_id, m.session_id, target, take, now=now)
                owed_elsewhere[target] = amount - take
                over -= take
            if over > ZERO:
                await _stage_refund(db, m, over, now=now)
        if transfers:
            await repo.insert_entries(db, transfers)
        due = []
        for m in items:
            owed, paid = money.get(m.session_id, (ZERO, ZERO))
            owed = owed_elsewhere.get(m.session_id, owed)
            if m.new > m.old and paid > ZERO and owed > ZERO:
                due.append((m.session_id, owed))
        if due:
            await runtime.outbox.publish(
                db,
                BalanceDue(
                    client_id=client_id,
                    amount=sum((amount for _, amount in due), ZERO),
                    session_ids=[s for s, _ in due],
                    due_at=now,
                ),
            )


def _apply_credit(
    client_id: UUID, from_session: UUID, to_session: UUID, amount: Decimal, *, now: datetime
) -> list[dict[str, Any]]:
    """Move an overpayment on one session to what the client owes on another (entries sum to zero)."""
    base = {"transaction_id": uuid4(), "client_id": client_id, "kind": "credit_applied", "created_at": now}
    return [
        {**base, "account": "receivable", "amount": amount, "session_id": from_session},
        {**base, "account": "receivable", "amount": -amount, "session_id": to_session},
    ]


async def _stage_refund(db: AsyncSession, m: _Moved, amount: Decimal, *, now: datetime) -> None:
    """Refund to the original payments, newest first, never more to one payment than it paid this session:
    a card processor refuses a refund larger than the charge it goes back to."""
    left = amount
    for payment_id, refundable in await repo.refundable_payments(db, m.session_id):
        if left <= ZERO:
            break
        part = min(left, refundable)
        await repo.insert_refund(
            db,
            {
                "refund_id": uuid4(),
                "client_id": m.client_id,
                "session_id": m.session_id,
                "payment_id": payment_id,
                "cost_version": m.version,
                "amount": part,
                "status": "pending",
                "created_at": now,
            },
        )
        left -= part
    if left > ZERO:  # overpaid beyond what payments cover cannot happen; never invent a refund target
        log.error("overpaid session has no payment left to refund", extra={"session_id": str(m.session_id)})
