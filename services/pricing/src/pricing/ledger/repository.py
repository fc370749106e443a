"""Every query of balances, payments and refunds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pricing.models import ledger_entries, payment_requests, payments, refunds


async def claim_request(db: AsyncSession, client_id: UUID, key: str, fingerprint: str) -> Any | None:
    """Claim an idempotency key; None when claimed now, else the row that already holds it."""
    claimed = await db.execute(
        pg_insert(payment_requests)
        .values(client_id=client_id, idempotency_key=key, request_hash=fingerprint, state="in_progress")
        .on_conflict_do_nothing()
        .returning(payment_requests.c.idempotency_key)
    )
    if claimed.first() is not None:
        return None
    return (
        await db.execute(
            select(payment_requests).where(
                payment_requests.c.client_id == client_id, payment_requests.c.idempotency_key == key
            )
        )
    ).one()


async def release_request(db: AsyncSession, client_id: UUID, key: str) -> None:
    await db.execute(
        delete(payment_requests).where(
            payment_requests.c.client_id == client_id,
            payment_requests.c.idempotency_key == key,
            payment_requests.c.state == "in_progress",
        )
    )


async def finish_request(
    db: AsyncSession, client_id: UUID, key: str, status: int, body: dict[str, Any]
) -> None:
    await db.execute(
        update(payment_requests)
        .where(payment_requests.c.client_id == client_id, payment_requests.c.idempotency_key == key)
        .values(state="done", response_status=status, response_body=body)
    )


async def owed_by_session(db: AsyncSession, client_id: UUID) -> list[Any]:
    """Each session of the client with its cost, what was paid on it and what is still owed (date order);
    a row with no session id holds payments not applied to any session (a credit)."""
    rows = await db.execute(
        text(
            "SELECT e.session_id, s.date_of_service, s.current_amount AS cost, "
            "sum(e.amount) AS owed, "
            "coalesce(-sum(e.amount) FILTER (WHERE e.kind IN ('payment', 'refund')), 0) AS paid "
            "FROM pricing.ledger_entries e LEFT JOIN pricing.sessions s ON s.session_id = e.session_id "
            "WHERE e.client_id = :c AND e.account = 'receivable' "
            "GROUP BY e.session_id, s.date_of_service, s.current_amount "
            "ORDER BY s.date_of_service NULLS LAST, e.session_id"
        ),
        {"c": client_id},
    )
    return list(rows)


async def pending_refund_total(db: AsyncSession, client_id: UUID) -> Any:
    return (
        await db.execute(
            text(
                "SELECT coalesce(sum(amount), 0) FROM pricing.refunds WHERE client_id = :c AND status = 'pending'"
            ),
            {"c": client_id},
        )
    ).scalar_one()


async def insert_payment(db: AsyncSession, values: dict[str, Any]) -> None:
    await db.execute(pg_insert(payments).values(**values))


async def insert_entries(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(pg_insert(ledger_entries), rows)


async def ledger_of(db: AsyncSession, client_id: UUID) -> list[Any]:
    rows = await db.execute(
        select(ledger_entries).where(ledger_entries.c.client_id == client_id).order_by(ledger_entries.c.id)
    )
    return list(rows)


async def refunds_of(db: AsyncSession, client_id: UUID) -> list[Any]:
    rows = await db.execute(
        select(refunds)
        .where(refunds.c.client_id == client_id)
        .order_by(refunds.c.created_at, refunds.c.refund_id)
    )
    return list(rows)


async def payments_of(db: AsyncSession, client_id: UUID) -> list[Any]:
    rows = await db.execute(
        select(payments).where(payments.c.client_id == client_id).order_by(payments.c.created_at)
    )
    return list(rows)


async def claim_pending_refunds(db: AsyncSession, limit: int) -> list[Any]:
    """Staged refunds nobody else is sending right now, with the charge they go back to."""
    rows = await db.execute(
        select(refunds, payments.c.charge_id)
        .join(payments, payments.c.payment_id == refunds.c.payment_id)
        .where(refunds.c.status == "pending")
        .order_by(refunds.c.created_at)
        .limit(limit)
        .with_for_update(of=refunds, skip_locked=True)
    )
    return list(rows)


async def mark_refund(db: AsyncSession, refund_id: UUID, **values: Any) -> None:
    await db.execute(update(refunds).where(refunds.c.refund_id == refund_id).values(**values))


async def sessions_exist(db: AsyncSession, client_id: UUID, session_ids: Sequence[UUID]) -> bool:
    if not session_ids:
        return True
    found = await db.execute(
        text("SELECT count(*) FROM pricing.sessions WHERE client_id = :c AND session_id = ANY(:ids)"),
        {"c": client_id, "ids": list(set(session_ids))},
    )
    return int(found.scalar_one()) == len(set(session_ids))
