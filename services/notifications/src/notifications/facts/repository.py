"""Local views fed by other services' events: who sees whom, session dates, secondary flags."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import CareRelationship, SecondaryFlag, SessionFact


async def add_relationship(
    session: AsyncSession, *, provider_id: uuid.UUID, client_id: uuid.UUID, started_at: datetime
) -> None:
    await session.execute(
        insert(CareRelationship)
        .values(provider_id=provider_id, client_id=client_id, started_at=started_at)
        .on_conflict_do_nothing()
    )


async def providers_of(session: AsyncSession, client_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(CareRelationship.provider_id)
        .where(CareRelationship.client_id == client_id)
        .order_by(CareRelationship.started_at)
    )
    return list(rows.scalars())


async def provider_sees(session: AsyncSession, *, provider_id: uuid.UUID, client_id: uuid.UUID) -> bool:
    found = await session.execute(
        select(CareRelationship.client_id).where(
            CareRelationship.provider_id == provider_id, CareRelationship.client_id == client_id
        )
    )
    return found.first() is not None


async def add_session(
    session: AsyncSession,
    *,
    session_id: uuid.UUID,
    client_id: uuid.UUID,
    provider_id: uuid.UUID,
    date_of_service: date,
) -> None:
    stmt = insert(SessionFact).values(
        session_id=session_id, client_id=client_id, provider_id=provider_id, date_of_service=date_of_service
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SessionFact.session_id], set_={"date_of_service": stmt.excluded.date_of_service}
        )
    )


async def session_dates(session: AsyncSession, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    if not session_ids:
        return {}
    rows = await session.execute(
        select(SessionFact.session_id, SessionFact.date_of_service).where(
            SessionFact.session_id.in_(session_ids)
        )
    )
    return {r.session_id: r.date_of_service for r in rows}


_flag = insert(SecondaryFlag)
# Built once: only the values change from one flag to the next.
_RECORD_FLAG = _flag.on_conflict_do_update(
    index_elements=[SecondaryFlag.coverage_id],
    set_={k: _flag.excluded[k] for k in ("payer_id", "other_payer_name", "flagged_at")},
    where=SecondaryFlag.flagged_at <= _flag.excluded.flagged_at,
)


async def record_flag(
    session: AsyncSession,
    *,
    coverage_id: uuid.UUID,
    client_id: uuid.UUID,
    payer_id: str,
    other_payer_name: str | None,
    flagged_at: datetime,
) -> None:
    await session.execute(
        _RECORD_FLAG,
        {
            "coverage_id": coverage_id,
            "client_id": client_id,
            "payer_id": payer_id,
            "other_payer_name": other_payer_name,
            "flagged_at": flagged_at,
        },
    )


_COB_FACTS = select(
    select(func.array_agg(aggregate_order_by(CareRelationship.provider_id, CareRelationship.started_at)))
    .where(CareRelationship.client_id == bindparam("client_id"))
    .scalar_subquery(),
    select(SecondaryFlag.other_payer_name)
    .where(SecondaryFlag.coverage_id == bindparam("coverage_id"))
    .scalar_subquery(),
)


async def cob_facts(
    session: AsyncSession, *, client_id: uuid.UUID, coverage_id: uuid.UUID
) -> tuple[list[uuid.UUID], str | None]:
    """In one query: the client's providers (`providers_of`) and the other plan the flag named
    (`other_payer_name`)."""
    providers, other = (
        await session.execute(_COB_FACTS, {"client_id": client_id, "coverage_id": coverage_id})
    ).one()
    return list(providers or []), other
