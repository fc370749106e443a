"""The facts pricing keeps from other services' events (clients, coverages, benefits, sessions)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import BenefitsChanged, SessionConfirmed
from pricing.models import benefit_snapshots, care_relationships, clients, coverages, sessions


async def _ensure_coverage(db: AsyncSession, coverage_id: UUID, client_id: UUID, payer_id: str) -> None:
    await db.execute(
        pg_insert(coverages)
        .values(coverage_id=coverage_id, client_id=client_id, payer_id=payer_id)
        .on_conflict_do_update(index_elements=[coverages.c.coverage_id], set_={"payer_id": payer_id})
    )


async def record_session(db: AsyncSession, event: SessionConfirmed) -> None:
    if event.coverage_id is not None and event.payer_id is not None:
        await _ensure_coverage(db, event.coverage_id, event.client_id, event.payer_id)
    await db.execute(
        pg_insert(sessions)
        .values(
            session_id=event.session_id,
            client_id=event.client_id,
            provider_id=event.provider_id,
            coverage_id=event.coverage_id,
            payer_id=event.payer_id,
            date_of_service=event.date_of_service,
            cpt_code=event.cpt_code,
            billing_route=event.billing_route,
            confirmed_at=event.confirmed_at,
        )
        .on_conflict_do_nothing()
    )


async def cancel_session(db: AsyncSession, session_id: UUID) -> bool:
    result = await db.execute(
        update(sessions)
        .where(sessions.c.session_id == session_id, sessions.c.status != "cancelled")
        .values(status="cancelled")
        .returning(sessions.c.session_id)
    )
    return result.first() is not None


async def recode_session(db: AsyncSession, session_id: UUID, cpt_code: str) -> bool:
    result = await db.execute(
        update(sessions)
        .where(sessions.c.session_id == session_id, sessions.c.cpt_code != cpt_code)
        .values(cpt_code=cpt_code)
        .returning(sessions.c.session_id)
    )
    return result.first() is not None


async def record_adjudication(db: AsyncSession, session_id: UUID, patient_responsibility: Decimal) -> bool:
    result = await db.execute(
        update(sessions)
        .where(sessions.c.session_id == session_id)
        .values(patient_responsibility=patient_responsibility)
        .returning(sessions.c.session_id)
    )
    return result.first() is not None


async def record_benefits(db: AsyncSession, event: BenefitsChanged) -> None:
    await _ensure_coverage(db, event.coverage_id, event.client_id, event.payer_id)
    new = event.new
    values = {
        "plan_year_end": new.plan_year_end,
        "copay": new.copay,
        "coinsurance_rate": new.coinsurance_rate,
        "deductible": new.deductible,
        "deductible_met": new.deductible_met,
        "out_of_pocket_max": new.out_of_pocket_max,
        "out_of_pocket_met": new.out_of_pocket_met,
        "snapshot_id": event.snapshot_id,
    }
    await db.execute(
        pg_insert(benefit_snapshots)
        .values(coverage_id=event.coverage_id, plan_year_start=new.plan_year_start, **values)
        .on_conflict_do_update(
            index_elements=[benefit_snapshots.c.coverage_id, benefit_snapshots.c.plan_year_start], set_=values
        )
    )


async def set_cob_secondary(db: AsyncSession, coverage_id: UUID, client_id: UUID, *, secondary: bool) -> None:
    payer = (
        await db.execute(select(sessions.c.payer_id).where(sessions.c.coverage_id == coverage_id).limit(1))
    ).scalar_one_or_none()
    await db.execute(
        pg_insert(coverages)
        .values(
            coverage_id=coverage_id, client_id=client_id, payer_id=payer or "unknown", cob_secondary=secondary
        )
        .on_conflict_do_update(index_elements=[coverages.c.coverage_id], set_={"cob_secondary": secondary})
    )


async def set_account_status(db: AsyncSession, client_id: UUID, status: str) -> bool:
    """Record the account status; True when billability changed (to or from ineligible)."""
    before = (
        await db.execute(
            select(clients.c.account_status).where(clients.c.client_id == client_id).with_for_update()
        )
    ).scalar_one_or_none()
    await db.execute(
        pg_insert(clients)
        .values(client_id=client_id, account_status=status)
        .on_conflict_do_update(index_elements=[clients.c.client_id], set_={"account_status": status})
    )
    return (before == "ineligible") != (status == "ineligible")


async def record_care_relationship(db: AsyncSession, provider_id: UUID, client_id: UUID) -> None:
    await db.execute(
        pg_insert(care_relationships)
        .values(provider_id=provider_id, client_id=client_id)
        .on_conflict_do_nothing()
    )


async def provider_sees(db: AsyncSession, provider_id: UUID | None, client_id: UUID) -> bool:
    if provider_id is None:
        return False
    row = await db.execute(
        select(care_relationships.c.client_id).where(
            care_relationships.c.provider_id == provider_id, care_relationships.c.client_id == client_id
        )
    )
    return row.first() is not None
