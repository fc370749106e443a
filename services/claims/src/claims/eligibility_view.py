"""Our local view of eligibility's clients and coverages, fed by its events."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import ClientView, CoverageView
from claims.submission.eligibility_client import EligibilityUnavailable, _get
from contracts.events import ClientStatusChanged, CoverageStatusChanged
from kit.messaging.consumer import EventContext
from kit.runtime import Runtime


async def on_client_status_changed(event: ClientStatusChanged, ctx: EventContext) -> None:
    """Keep the newest status (events of one client arrive in order, but a replay may be older)."""
    await _upsert_client(
        ctx.session,
        {
            "client_id": event.client_id,
            "account_status": event.account_status,
            "cleared_for_scheduling": event.cleared_for_scheduling,
            "changed_at": event.changed_at,
        },
    )


async def _upsert_client(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = insert(ClientView).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ClientView.client_id],
            set_={k: stmt.excluded[k] for k in values if k != "client_id"},
            where=ClientView.changed_at <= stmt.excluded.changed_at,
        )
    )


async def on_coverage_status_changed(event: CoverageStatusChanged, ctx: EventContext) -> None:
    await _upsert_coverage(
        ctx.session,
        {
            "coverage_id": event.coverage_id,
            "client_id": event.client_id,
            "payer_id": event.payer_id,
            "status": event.status,
            "changed_at": event.changed_at,
        },
    )


async def _upsert_coverage(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = insert(CoverageView).values(**values)
    await session.execute(
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


async def refresh(session: AsyncSession, runtime: Runtime, client_id: uuid.UUID) -> ClientView | None:
    """Ask eligibility, the owner, for the client's status and active coverage now, and keep the answer.

    Used before refusing on what our event-fed view says: a client verified a moment ago may not have
    reached us through the broker yet. Events older than this answer will not overwrite it."""
    now = runtime.clock.now()
    try:
        client_data = await _get(runtime, f"/internal/clients/{client_id}")
    except EligibilityUnavailable:
        return await client(session, client_id)
    await _upsert_client(
        session,
        {
            "client_id": client_id,
            "account_status": client_data["account_status"],
            "cleared_for_scheduling": client_data["cleared_for_scheduling"],
            "changed_at": now,
        },
    )
    try:
        coverage_data = await _get(runtime, f"/internal/clients/{client_id}/active-coverage")
    except EligibilityUnavailable:
        coverage_data = None  # no active coverage (404) or eligibility unreachable: keep what we know
    if coverage_data is not None:
        await _upsert_coverage(
            session,
            {
                "coverage_id": uuid.UUID(str(coverage_data["id"])),
                "client_id": client_id,
                "payer_id": coverage_data["payer_id"],
                "status": coverage_data["status"],
                "changed_at": now,
            },
        )
    await session.flush()
    session.expire_all()
    return await client(session, client_id)
