"""Every session query."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import ClientLocation, Session


async def get(session: AsyncSession, session_id: uuid.UUID, *, lock: bool = False) -> Session | None:
    query = select(Session).where(Session.id == session_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def location(session: AsyncSession, location_id: uuid.UUID) -> ClientLocation | None:
    return await session.get(ClientLocation, location_id)


async def listing(
    session: AsyncSession,
    *,
    client_id: uuid.UUID | None,
    provider_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[Session]:
    query = select(Session).order_by(Session.date_of_service.desc(), Session.id).limit(limit).offset(offset)
    if client_id is not None:
        query = query.where(Session.client_id == client_id)
    if provider_id is not None:
        query = query.where(Session.provider_id == provider_id)
    return list(await session.scalars(query))
