"""Invoices (superbills) for sessions, and Good Faith Estimates for self-pay clients."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import InvoiceIssued
from kit.errors import NotFound, Unprocessable
from kit.runtime import Runtime
from pricing.costing import repository as repo
from pricing.costing.repository import session_money
from pricing.costing.schedule import SELF_PAY, SessionFacts, price_client
from pricing.costing.service import rate_lookup
from pricing.documents.schemas import (
    Estimate,
    EstimatedSession,
    EstimateRequest,
    GoodFaithEstimate,
    GoodFaithEstimateRequest,
    Invoice,
    ProviderDetails,
)
from pricing.models import cost_versions, coverages, good_faith_estimates, invoices
from pricing.money import ZERO, q

log = logging.getLogger("pricing.documents")


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


async def build_invoice(db: AsyncSession, *, runtime: Runtime, session: Any) -> Invoice:
    """The superbill of a session: provider, codes and amounts (provider details come from claims)."""
    invoice = (await db.execute(select(invoices).where(invoices.c.session_id == session.session_id))).first()
    if invoice is None or session.current_amount is None:
        raise NotFound("This session has no invoice yet.")
    version = (
        await db.execute(
            select(cost_versions.c.allowed_amount).where(
                cost_versions.c.session_id == session.session_id,
                cost_versions.c.version == session.current_version,
            )
        )
    ).scalar_one()
    money = await session_money(db, [session.session_id], [session.client_id])
    owed, paid = money.get(session.session_id, (ZERO, ZERO))
    details = await _claims_session(runtime, session.session_id)
    provider = None
    if details is not None:
        provider = ProviderDetails(
            provider_id=details["provider_id"], name=details["provider_name"], npi=details["provider_npi"]
        )
    return Invoice(
        invoice_id=invoice.invoice_id,
        session_id=session.session_id,
        client_id=session.client_id,
        issued_at=invoice.created_at,
        provider=provider,
        provider_details_missing=provider is None,
        date_of_service=session.date_of_service,
        place_of_service=details.get("place_of_service") if details else None,
        cpt_code=session.cpt_code,
        icd10_codes=list(details.get("icd10_codes", [])) if details else [],
        allowed_amount=version,
        client_amount=session.current_amount,
        amount_paid=paid,
        balance=owed,
    )


async def _claims_session(runtime: Runtime, session_id: UUID) -> dict[str, Any] | None:
    """Claims' view of the session, or None when claims cannot tell us now (the invoice says so)."""
    url = f"{runtime.settings.claims_url.rstrip('/')}/internal/sessions/{session_id}"
    try:
        r = await runtime.http.get(url, timeout=3.0)
    except httpx.HTTPError as exc:
        log.warning("claims unreachable for invoice details", extra={"error": type(exc).__name__})
        return None
    if r.status_code != 200:
        return None
    data: dict[str, Any] = r.json()
    return data


async def estimate(db: AsyncSession, *, request: EstimateRequest, today: date) -> Estimate:
    """What the client's next sessions will cost, priced after every session they already have."""
    statuses = await repo.lock_clients(db, [request.client_id])
    rows = (await repo.load_sessions(db, [request.client_id])).get(request.client_id, [])
    facts = (await repo.load_client_facts(db, statuses, [request.client_id]))[request.client_id]
    coverage_id, payer_id = await _coverage_for(db, request, rows)
    start = request.date_of_service or today
    planned = [
        SessionFacts(
            session_id=uuid4(),
            coverage_id=coverage_id,
            payer_id=payer_id,
            date_of_service=start + timedelta(weeks=i),
            cpt_code=request.cpt_code,
            billing_route="standard" if coverage_id else SELF_PAY,
            cancelled=False,
            confirmed_at=datetime.max.replace(tzinfo=UTC),
        )
        for i in range(request.session_count)
    ]
    prices = price_client(
        [repo.to_facts(r) for r in rows] + planned, facts, rate_lookup(await repo.load_rates(db))
    )
    if any(p.session_id not in prices for p in planned):
        raise Unprocessable(f"There is no rate for CPT {request.cpt_code} on the fee schedule.")
    sessions = [
        EstimatedSession(
            date_of_service=p.date_of_service,
            amount=prices[p.session_id].amount,
            basis=prices[p.session_id].basis,
        )
        for p in planned
    ]
    return Estimate(
        client_id=request.client_id,
        cpt_code=request.cpt_code,
        sessions=sessions,
        total=sum((s.amount for s in sessions), ZERO),
    )


async def _coverage_for(
    db: AsyncSession, request: EstimateRequest, rows: list[Any]
) -> tuple[UUID | None, str | None]:
    query = select(coverages.c.coverage_id, coverages.c.payer_id).where(
        coverages.c.client_id == request.client_id
    )
    if request.coverage_id is not None:
        row = (await db.execute(query.where(coverages.c.coverage_id == request.coverage_id))).first()
        if row is None:
            raise Unprocessable("This coverage is not the client's.")
        return row.coverage_id, row.payer_id
    insured = sorted((r for r in rows if r.coverage_id is not None), key=lambda r: r.date_of_service)
    if insured:
        return insured[-1].coverage_id, insured[-1].payer_id
    row = (await db.execute(query.where(coverages.c.cob_secondary.is_(False)).limit(1))).first()
    return (row.coverage_id, row.payer_id) if row is not None else (None, None)


async def create_good_faith_estimate(
    db: AsyncSession, *, runtime: Runtime, request: GoodFaithEstimateRequest
) -> GoodFaithEstimate:
    """Expected self-pay charges for a planned course of sessions (No Surprises Act)."""
    rate = (await repo.load_rates(db)).get((SELF_PAY, request.cpt_code))
    if rate is None:
        raise Unprocessable(f"There is no self-pay rate for CPT {request.cpt_code}.")
    gfe = GoodFaithEstimate(
        estimate_id=uuid4(),
        client_id=request.client_id,
        provider_id=request.provider_id,
        cpt_code=request.cpt_code,
        session_count=request.session_count,
        unit_rate=rate,
        total=q(rate * request.session_count),
        first_date=request.first_date,
        created_at=runtime.clock.now(),
    )
    await db.execute(insert(good_faith_estimates).values(**gfe.model_dump()))
    return gfe


async def good_faith_estimate(db: AsyncSession, estimate_id: UUID) -> GoodFaithEstimate:
    row = (
        await db.execute(
            select(good_faith_estimates).where(good_faith_estimates.c.estimate_id == estimate_id)
        )
    ).first()
    if row is None:
        raise NotFound("No such Good Faith Estimate.")
    return GoodFaithEstimate.model_validate(row, from_attributes=True)
