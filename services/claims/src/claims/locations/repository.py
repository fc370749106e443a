"""Every client-location and care-relationship query."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import CareRelationship, ClientLocation, ClientView


async def for_client(session: AsyncSession, client_id: uuid.UUID) -> list[ClientLocation]:
    rows = await session.scalars(
        select(ClientLocation)
        .where(ClientLocation.client_id == client_id)
        .order_by(ClientLocation.created_at)
    )
    return list(rows)


async def client_known(session: AsyncSession, client_id: uuid.UUID) -> bool:
    return await session.get(ClientView, client_id) is not None


async def insert_relationship(session: AsyncSession, provider_id: uuid.UUID, client_id: uuid.UUID) -> bool:
    """True when this provider-client pair is new."""
    result = await session.execute(
        insert(CareRelationship)
        .values(provider_id=provider_id, client_id=client_id)
        .on_conflict_do_nothing()
        .returning(CareRelationship.provider_id)
    )
    return result.first() is not None
