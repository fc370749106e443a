"""Local views fed by other services' events: who sees whom, session dates, secondary flags."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID, aggregate_order_by, insert
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


async def record_flags(session: AsyncSession, flags: Sequence[dict[str, object]]) -> None:
    """Record flags (`coverage_id`, `client_id`, `payer_id`, `other_payer_name`, `flagged_at`) in one
    statement, with the effect of recording them one after the other: per coverage the latest flag is kept (of
    equal times, the later one)."""
    latest: dict[object, dict[str, object]] = {}
    for flag in flags:
        kept = latest.get(flag["coverage_id"])
        if kept is None or kept["flagged_at"] <= flag["flagged_at"]:  # type: ignore[operator]
            latest[flag["coverage_id"]] = flag
    if latest:
        await session.execute(_RECORD_FLAG, list(latest.values()))


_COB_FACTS = select(
    select(func.array_agg(aggregate_order_by(CareRelationship.provider_id, CareRelationship.started_at)))
    .where(CareRelationship.client_id == bindparam("client_id"))
    .scalar_subquery(),
    select(SecondaryFlag.other_payer_name)
    .where(SecondaryFlag.coverage_id == bindparam("coverage_id"))
    .scalar_subquery(),
)


_COB_FACTS_MANY = text(
    """
    SELECT (SELECT array_agg(r.provider_id ORDER BY r.started_at)
            FROM notifications.care_relationships r WHERE r.client_id = i.client_id),
           (SELECT f.other_payer_name FROM notifications.secondary_flags f WHERE f.coverage_id = i.coverage_id)
    FROM unnest(:client_ids, :coverage_ids) WITH ORDINALITY AS i(client_id, coverage_id, n)
    ORDER BY i.n
    """
).bindparams(
    bindparam("client_ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("coverage_ids", type_=ARRAY(UUID(as_uuid=True))),
)


async def cob_facts_many(
    session: AsyncSession, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[tuple[list[uuid.UUID], str | None]]:
    """`cob_facts` of several (client_id, coverage_id) pairs in one query, in their order."""
    if not pairs:
        return []
    rows = await session.execute(
        _COB_FACTS_MANY, {"client_ids": [p[0] for p in pairs], "coverage_ids": [p[1] for p in pairs]}
    )
    return [(list(providers or []), other) for providers, other in rows.all()]


async def cob_facts(
    session: AsyncSession, *, client_id: uuid.UUID, coverage_id: uuid.UUID
) -> tuple[list[uuid.UUID], str | None]:
    """In one query: the client's providers (`providers_of`) and the other plan the flag named
    (`other_payer_name`)."""
    providers, other = (
        await session.execute(_COB_FACTS, {"client_id": client_id, "coverage_id": coverage_id})
    ).one()
    return list(providers or []), other
