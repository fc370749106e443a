"""Every provider query."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import Credential, Licence, PracticeLocation, Provider


async def get(session: AsyncSession, provider_id: uuid.UUID) -> Provider | None:
    return await session.get(Provider, provider_id)


async def by_npi(session: AsyncSession, npi: str) -> Provider | None:
    return await session.scalar(select(Provider).where(Provider.npi == npi))


async def all_ids(session: AsyncSession, limit: int, offset: int) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Provider.id).order_by(Provider.created_at, Provider.id).limit(limit).offset(offset)
    )
    return list(rows)


async def licences(session: AsyncSession, provider_id: uuid.UUID) -> list[Licence]:
    return list(
        await session.scalars(
            select(Licence).where(Licence.provider_id == provider_id).order_by(Licence.state)
        )
    )


async def credentials(session: AsyncSession, provider_id: uuid.UUID) -> list[Credential]:
    rows = await session.scalars(
        select(Credential)
        .where(Credential.provider_id == provider_id)
        .order_by(Credential.state, Credential.payer_id)
    )
    return list(rows)


async def practice_locations(session: AsyncSession, provider_id: uuid.UUID) -> list[PracticeLocation]:
    rows = await session.scalars(
        select(PracticeLocation)
        .where(PracticeLocation.provider_id == provider_id)
        .order_by(PracticeLocation.state)
    )
    return list(rows)
