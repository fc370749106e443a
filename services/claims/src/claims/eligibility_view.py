"""Our local view of eligibility's clients and coverages, fed by its events."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import ClientView, CoverageView
from contracts.events import ClientStatusChanged, CoverageStatusChanged
from kit.messaging.consumer import EventContext


async def on_client_status_changed(event: ClientStatusChanged, ctx: EventContext) -> None:
    """Keep the newest status (events of one client arrive in order, but a replay may be older)."""
    values = {
        "client_id": event.client_id,
        "account_status": event.account_status,
        "cleared_for_scheduling": event.cleared_for_scheduling,
        "changed_at": event.changed_at,
    }
    stmt = insert(ClientView).values(**values)
    await ctx.session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ClientView.client_id],
            set_={k: stmt.excluded[k] for k in values if k != "client_id"},
            where=ClientView.changed_at <= stmt.excluded.changed_at,
        )
    )


async def on_coverage_status_changed(event: CoverageStatusChanged, ctx: EventContext) -> None:
    values = {
        "coverage_id": event.coverage_id,
        "client_id": event.client_id,
        "payer_id": event.payer_id,
        "status": event.status,
        "changed_at": event.changed_at,
    }
    stmt = insert(CoverageView).values(**values)
    await ctx.session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CoverageView.coverage_id],
            set_={k: stmt.excluded[k] for k in values if k != "coverage_id"},
            where=CoverageView.changed_at <= stmt.excluded.changed_at,
        )
    )


async def client(session: AsyncSession, client_id: uuid.UUID) -> ClientView | None:
    return await session.get(ClientView, client_id)


async def coverage(session: AsyncSession, coverage_id: uuid.UUID) -> CoverageView | None:
    return await session.get(CoverageView, coverage_id)


async def active_coverages(session: AsyncSession, client_id: uuid.UUID) -> list[CoverageView]:
    rows = await session.scalars(
        select(CoverageView)
        .where(CoverageView.client_id == client_id, CoverageView.status == "active")
        .order_by(CoverageView.changed_at.desc())
    )
    return list(rows)
