"""Every query about clients."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.models import CareRelationship, Client, CobCase, Coverage
from kit.auth import Principal


async def get(session: AsyncSession, client_id: UUID, *, for_update: bool = False) -> Client | None:
    query = select(Client).where(Client.id == client_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def visible(session: AsyncSession, principal: Principal, *, limit: int, offset: int) -> list[Client]:
    query = select(Client).order_by(Client.created_at, Client.id).limit(limit).offset(offset)
    if principal.role == "client":
        query = query.where(Client.id == principal.client_id)
    elif principal.role == "provider":
        seen = select(CareRelationship.client_id).where(CareRelationship.provider_id == principal.provider_id)
        query = query.where(Client.id.in_(seen))
    return list((await session.execute(query)).scalars())


async def current_coverage(session: AsyncSession, client_id: UUID) -> Coverage | None:
    query = (
        select(Coverage)
        .where(Coverage.client_id == client_id, Coverage.current.is_(True))
        .order_by(Coverage.created_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def open_case(session: AsyncSession, client_id: UUID) -> CobCase | None:
    query = (
        select(CobCase)
        .where(CobCase.client_id == client_id, CobCase.status == "open")
        .order_by(CobCase.opened_at)
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()
