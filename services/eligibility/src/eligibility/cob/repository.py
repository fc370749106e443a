"""Every query about coordination-of-benefits cases."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.models import CobCase, CobCaseEvent


async def get(session: AsyncSession, case_id: UUID, *, for_update: bool = False) -> CobCase | None:
    query = select(CobCase).where(CobCase.id == case_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def of_client(session: AsyncSession, client_id: UUID) -> list[CobCase]:
    query = select(CobCase).where(CobCase.client_id == client_id).order_by(CobCase.opened_at.desc())
    return list((await session.execute(query)).scalars())


async def timeline(session: AsyncSession, case_ids: list[UUID]) -> dict[UUID, list[CobCaseEvent]]:
    out: dict[UUID, list[CobCaseEvent]] = {cid: [] for cid in case_ids}
    if case_ids:
        query = select(CobCaseEvent).where(CobCaseEvent.case_id.in_(case_ids)).order_by(CobCaseEvent.id)
        for row in (await session.execute(query)).scalars():
            out[row.case_id].append(row)
    return out


async def due_follow_ups(session: AsyncSession, now: datetime, *, limit: int) -> list[CobCase]:
    query = (
        select(CobCase)
        .where(CobCase.status == "open", CobCase.follow_up_due_at <= now)
        .order_by(CobCase.follow_up_due_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


def add_event(session: AsyncSession, case: CobCase, *, at: datetime, kind: str, detail: str) -> None:
    session.add(CobCaseEvent(case_id=case.id, at=at, kind=kind, detail=detail))
