"""Every query about coverages, verifications and benefit snapshots."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.models import BenefitSnapshot, Coverage, Verification


async def get(session: AsyncSession, coverage_id: UUID, *, for_update: bool = False) -> Coverage | None:
    query = select(Coverage).where(Coverage.id == coverage_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def of_client(session: AsyncSession, client_id: UUID) -> list[Coverage]:
    query = select(Coverage).where(Coverage.client_id == client_id).order_by(Coverage.created_at.desc())
    return list((await session.execute(query)).scalars())


async def retire_current(session: AsyncSession, client_id: UUID) -> list[Coverage]:
    """The client's current coverages, locked, so a new primary can replace them."""
    query = (
        select(Coverage).where(Coverage.client_id == client_id, Coverage.current.is_(True)).with_for_update()
    )
    return list((await session.execute(query)).scalars())


async def last_snapshot(session: AsyncSession, client_id: UUID) -> BenefitSnapshot | None:
    query = (
        select(BenefitSnapshot)
        .where(BenefitSnapshot.client_id == client_id)
        .order_by(BenefitSnapshot.seq.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def snapshots(session: AsyncSession, coverage_id: UUID) -> list[BenefitSnapshot]:
    query = (
        select(BenefitSnapshot)
        .where(BenefitSnapshot.coverage_id == coverage_id)
        .order_by(BenefitSnapshot.seq.desc())
    )
    return list((await session.execute(query)).scalars())


async def verifications(session: AsyncSession, coverage_id: UUID, *, limit: int = 50) -> list[Verification]:
    query = (
        select(Verification)
        .where(Verification.coverage_id == coverage_id)
        .order_by(Verification.requested_at.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def due_for_verification(session: AsyncSession, now: datetime, *, limit: int) -> list[UUID]:
    query = (
        select(Coverage.id)
        .where(Coverage.current.is_(True), Coverage.next_verification_at <= now)
        .order_by(Coverage.next_verification_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def postpone(session: AsyncSession, coverage_ids: list[UUID], until: datetime) -> None:
    """Claims a batch for one scheduled run, so an overlapping run does not verify it twice."""
    if coverage_ids:
        await session.execute(
            update(Coverage).where(Coverage.id.in_(coverage_ids)).values(next_verification_at=until)
        )
