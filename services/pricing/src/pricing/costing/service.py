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
    """Cost went up after the client paid: the difference is due. Cost went below what they paid: refund."""
    if not moved:
        return
    ids = [m.session_id for m in moved]
    money = await repo.session_money(db, ids, sorted({m.client_id for m in moved}))
    pending = await repo.pending_refunds(db, ids)
    due: dict[UUID, list[tuple[UUID, Decimal]]] = defaultdict(list)
    for m in moved:
        owed, paid = money.get(m.session_id, (ZERO, ZERO))
        if m.new > m.old and paid > ZERO and owed > ZERO:
            due[m.client_id].append((m.session_id, owed))
        over = -owed - pending.get(m.session_id, ZERO)
        if over > ZERO:
            await _stage_refund(db, m, over, now=now)
    for client_id, items in due.items():
        total = sum((amount for _, amount in items), ZERO)
        await runtime.outbox.publish(
            db, BalanceDue(client_id=client_id, amount=total, session_ids=[s for s, _ in items], due_at=now)
        )


async def _stage_refund(db: AsyncSession, m: _Moved, amount: Decimal, *, now: datetime) -> None:
    payment_id = await repo.paying_payment(db, m.session_id)
    if payment_id is None:  # overpaid without a payment cannot happen; never invent a refund target
        log.error("overpaid session has no payment", extra={"session_id": str(m.session_id)})
        return
    await repo.insert_refund(
        db,
        {
            "refund_id": uuid4(),
            "client_id": m.client_id,
            "session_id": m.session_id,
            "payment_id": payment_id,
            "cost_version": m.version,
            "amount": amount,
            "status": "pending",
            "created_at": now,
        },
    )
