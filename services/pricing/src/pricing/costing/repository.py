"""Every query of re-pricing: set-based reads of a chunk of clients and batched writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import copy_rows
from pricing.costing.costshare import Accumulators, PlanTerms
from pricing.costing.schedule import ClientFacts, SessionFacts, Snapshot
from pricing.models import (
    benefit_snapshots,
    cost_versions,
    coverages,
    fee_schedules,
    ledger_entries,
    refunds,
    sessions,
)


async def lock_clients(db: AsyncSession, client_ids: Sequence[UUID]) -> dict[UUID, str]:
    """Row-lock the clients (created when first seen) so re-pricings of one client run one at a time."""
    ids = list(client_ids)
    # One array parameter, not a VALUES list of hundreds of bound rows compiled per call.
    await db.execute(
        text(
            "INSERT INTO pricing.clients (client_id) SELECT unnest(CAST(:ids AS uuid[])) "
            "ON CONFLICT DO NOTHING"
        ),
        {"ids": ids},
    )
    rows = await db.execute(
        text(
            "SELECT client_id, account_status FROM pricing.clients WHERE client_id = ANY(CAST(:ids AS uuid[])) "
            "ORDER BY client_id FOR UPDATE"
        ),
        {"ids": ids},
    )
    return {r.client_id: r.account_status for r in rows}


async def load_sessions(db: AsyncSession, client_ids: Sequence[UUID]) -> dict[UUID, list[Any]]:
    rows = await db.execute(select(sessions).where(sessions.c.client_id.in_(client_ids)))
    out: dict[UUID, list[Any]] = defaultdict(list)
    for r in rows:
        out[r.client_id].append(r)
    return out


def to_facts(row: Any) -> SessionFacts:
    return SessionFacts(
        session_id=row.session_id,
        coverage_id=row.coverage_id,
        payer_id=row.payer_id,
        date_of_service=row.date_of_service,
        cpt_code=row.cpt_code,
        billing_route=row.billing_route,
        cancelled=row.status == "cancelled",
        confirmed_at=row.confirmed_at,
        patient_responsibility=row.patient_responsibility,
    )


async def load_client_facts(
    db: AsyncSession, statuses: dict[UUID, str], client_ids: Sequence[UUID]
) -> dict[UUID, ClientFacts]:
    cov_rows = (
        await db.execute(
            select(coverages.c.coverage_id, coverages.c.client_id, coverages.c.cob_secondary).where(
                coverages.c.client_id.in_(client_ids)
            )
        )
    ).all()
    snap_rows = (
        await db.execute(
            select(benefit_snapshots, coverages.c.client_id)
            .join(coverages, coverages.c.coverage_id == benefit_snapshots.c.coverage_id)
            .where(coverages.c.client_id.in_(client_ids))
        )
    ).all()
    secondary: dict[UUID, set[UUID]] = defaultdict(set)
    for c in cov_rows:
        if c.cob_secondary:
            secondary[c.client_id].add(c.coverage_id)
    snaps: dict[UUID, dict[UUID, list[Snapshot]]] = defaultdict(lambda: defaultdict(list))
    for s in snap_rows:
        snaps[s.client_id][s.coverage_id].append(snapshot_of(s))
    return {
        c: ClientFacts(
            ineligible=statuses.get(c) == "ineligible",
            secondary_coverages=frozenset(secondary[c]),
            snapshots=dict(snaps[c]),
        )
        for c in client_ids
    }


def snapshot_of(row: Any) -> Snapshot:
    return Snapshot(
        plan_year_start=row.plan_year_start,
        plan_year_end=row.plan_year_end,
        terms=PlanTerms(
            deductible=row.deductible,
            out_of_pocket_max=row.out_of_pocket_max,
            copay=row.copay,
            coinsurance_rate=row.coinsurance_rate,
        ),
        met=Accumulators(row.deductible_met, row.out_of_pocket_met),
    )


async def load_rates(db: AsyncSession) -> dict[tuple[str, str], Decimal]:
    rows = await db.execute(
        select(fee_schedules.c.payer_id, fee_schedules.c.cpt_code, fee_schedules.c.allowed_amount)
    )
    return {(r.payer_id, r.cpt_code): r.allowed_amount for r in rows}


# From this many rows a write goes in with COPY: a plan-wide correction writes hundreds of thousands.
COPY_FROM = 64
_VERSION_COLUMNS = (
    "session_id",
    "version",
    "amount",
    "allowed_amount",
    "plan_amount",
    "basis",
    "reason",
    "lines",
    "created_at",
)
_ENTRY_COLUMNS = (
    "transaction_id",
    "client_id",
    "session_id",
    "account",
    "kind",
    "amount",
    "payment_id",
    "refund_id",
    "created_at",
)


async def insert_versions(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if len(rows) >= COPY_FROM:
        dumps = orjson.dumps
        records = [
            (
                r["session_id"],
                r["version"],
                r["amount"],
                r["allowed_amount"],
                r["plan_amount"],
                r["basis"],
                r["reason"],
                dumps(r["lines"]).decode(),
                r["created_at"],
            )
            for r in rows
        ]
        await copy_rows(db, cost_versions, _VERSION_COLUMNS, records)
    elif rows:
        await db.execute(insert(cost_versions), rows)


async def set_current(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Point each session at its newest version in one statement."""
    if not rows:
        return
    await db.execute(
        text(
            "UPDATE pricing.sessions s SET current_version = v.version, current_amount = v.amount "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:versions AS int[]), CAST(:amounts AS numeric[])) "
            "AS v(session_id, version, amount) WHERE s.session_id = v.session_id "
            # the second predicate lets the planner use the primary key instead of hashing the whole table
            "AND s.session_id = ANY(CAST(:ids AS uuid[]))"
        ),
        {
            "ids": [r["session_id"] for r in rows],
            "versions": [r["version"] for r in rows],
            "amounts": [r["amount"] for r in rows],
        },
    )


async def insert_entries(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if len(rows) >= COPY_FROM:
        records = [
            (
                r["transaction_id"],
                r["client_id"],
                r.get("session_id"),
                r["account"],
                r["kind"],
                r["amount"],
                r.get("payment_id"),
                r.get("refund_id"),
                r["created_at"],
            )
            for r in rows
        ]
        await copy_rows(db, ledger_entries, _ENTRY_COLUMNS, records)
    elif rows:
        await db.execute(insert(ledger_entries), rows)


async def session_money(
    db: AsyncSession, session_ids: Sequence[UUID], client_ids: Sequence[UUID]
) -> dict[UUID, tuple[Decimal, Decimal]]:
    """Per session: what the client still owes (negative: overpaid) and what they paid, net of refunds."""
    if not session_ids:
        return {}
    rows = await db.execute(
        text(
            "SELECT session_id, sum(amount) AS owed, "
            "coalesce(-sum(amount) FILTER (WHERE kind IN ('payment', 'refund')), 0) AS paid "
            "FROM pricing.ledger_entries WHERE client_id = ANY(:clients) AND session_id = ANY(:ids) "
            "AND account = 'receivable' "
            "GROUP BY session_id"
        ),
        {"ids": list(session_ids), "clients": list(client_ids)},
    )
    return {r.session_id: (r.owed, r.paid) for r in rows}


async def pending_refunds(db: AsyncSession, session_ids: Sequence[UUID]) -> dict[UUID, Decimal]:
    if not session_ids:
        return {}
    rows = await db.execute(
        text(
            "SELECT session_id, amount FROM pricing.refunds "
            "WHERE session_id = ANY(CAST(:ids AS uuid[])) AND status = 'pending'"
        ),
        {"ids": list(session_ids)},
    )
    out: dict[UUID, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[r.session_id] += r.amount
    return out


async def refundable_payments(db: AsyncSession, session_id: UUID) -> list[tuple[UUID, Decimal]]:
    """The payments that paid this session, newest first, each with what is still refundable to it for this
    session (paid to the session minus refunds already staged or issued against it)."""
    paid = (
        select(
            ledger_entries.c.payment_id,
            (-func.sum(ledger_entries.c.amount)).label("paid"),
            func.max(ledger_entries.c.id).label("last_entry"),
        )
        .where(
            ledger_entries.c.session_id == session_id,
            ledger_entries.c.kind == "payment",
            ledger_entries.c.account == "receivable",
        )
        .group_by(ledger_entries.c.payment_id)
        .subquery()
    )
    refunded = (
        select(refunds.c.payment_id, func.sum(refunds.c.amount).label("refunded"))
        .where(refunds.c.session_id == session_id, refunds.c.status != "failed")
        .group_by(refunds.c.payment_id)
        .subquery()
    )
    rows = await db.execute(
        select(paid.c.payment_id, paid.c.paid - func.coalesce(refunded.c.refunded, 0))
        .select_from(paid.outerjoin(refunded, refunded.c.payment_id == paid.c.payment_id))
        .order_by(paid.c.last_entry.desc())
    )
    return [(r[0], Decimal(r[1])) for r in rows.all() if r[1] > 0]


async def insert_refund(db: AsyncSession, values: dict[str, Any]) -> bool:
    """Stage a refund; False when this cost version of the session already has one."""
    result = await db.execute(
        pg_insert(refunds).values(**values).on_conflict_do_nothing().returning(refunds.c.refund_id)
    )
    return result.first() is not None
