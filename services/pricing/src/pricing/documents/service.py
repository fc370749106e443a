"""Invoices (superbills) for sessions, and Good Faith Estimates for self-pay clients."""

from __future__ import annotations

from uuid import UUID, uuid4

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import InvoiceIssued
from kit.runtime import Runtime
from pricing.models import invoices


async def issue_invoice(db: AsyncSession, *, runtime: Runtime, session_id: UUID, client_id: UUID) -> None:
    """A confirmed, priced session gets one invoice; redeliveries do not issue another."""
    now = runtime.clock.now()
    created = await db.execute(
        pg_insert(invoices)
        .values(invoice_id=uuid4(), session_id=session_id, client_id=client_id, created_at=now)
        .on_conflict_do_nothing()
        .returning(invoices.c.invoice_id)
    )
    invoice_id = created.scalar_one_or_none()
    if invoice_id is not None:
        await runtime.outbox.publish(
            db,
            InvoiceIssued(invoice_id=invoice_id, session_id=session_id, client_id=client_id, issued_at=now),
        )
