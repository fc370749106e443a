"""Every claim query."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import Claim, ClaimTransition, Session


async def get(session: AsyncSession, claim_id: uuid.UUID, *, lock: bool = False) -> Claim | None:
    query = select(Claim).where(Claim.id == claim_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def by_session(session: AsyncSession, session_id: uuid.UUID) -> Claim | None:
    return await session.scalar(select(Claim).where(Claim.session_id == session_id))


async def by_control_number(session: AsyncSession, control_number: str) -> Claim | None:
    return await session.scalar(select(Claim).where(Claim.control_number == control_number).with_for_update())


async def transitions(session: AsyncSession, claim_id: uuid.UUID) -> list[ClaimTransition]:
    rows = await session.scalars(
        select(ClaimTransition).where(ClaimTransition.claim_id == claim_id).order_by(ClaimTransition.seq)
    )
    return list(rows)


async def listing(
    session: AsyncSession,
    *,
    client_id: uuid.UUID | None,
    provider_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[Claim]:
    query = select(Claim).order_by(Claim.created_at.desc(), Claim.id).limit(limit).offset(offset)
    if client_id is not None:
        query = query.where(Claim.client_id == client_id)
    if provider_id is not None:
        query = query.where(Claim.provider_id == provider_id)
    if status is not None:
        query = query.where(Claim.status == status)
    return list(await session.scalars(query))


async def due_for_submission(
    session: AsyncSession, *, now: datetime, today: date, limit: int
) -> list[uuid.UUID]:
    """Pending claims whose session has happened and whose retry time has come, locked for this worker."""
    rows = await session.scalars(
        select(Claim.id)
        .join(Session, Session.id == Claim.session_id)
        .where(
            Claim.status == "pending",
            Session.date_of_service <= today,
            or_(Claim.next_attempt_at.is_(None), Claim.next_attempt_at <= now),
        )
        .order_by(Claim.created_at)
        .limit(limit)
        .with_for_update(of=Claim, skip_locked=True)
    )
    return list(rows)


async def for_cob(session: AsyncSession, claim_ids: list[uuid.UUID], coverage_id: uuid.UUID) -> list[Claim]:
    """The claims a COB case is about: those it names, else every COB-denied claim of the coverage."""
    query = select(Claim).with_for_update()
    if claim_ids:
        query = query.where(Claim.id.in_(claim_ids))
    else:
        query = query.where(Claim.coverage_id == coverage_id, Claim.status == "denied_cob")
    return list(await session.scalars(query))
