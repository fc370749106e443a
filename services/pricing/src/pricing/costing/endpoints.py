"""HTTP: a session's cost and its history."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from sqlalchemy import select

from kit.auth import PrincipalDep
from kit.db import DbSession
from pricing.access import readable_session
from pricing.costing.schemas import CostVersion, SessionCost
from pricing.models import cost_versions

router = APIRouter(tags=["cost"])


@router.get("/v1/sessions/{session_id}/cost", response_model=SessionCost)
async def session_cost(session_id: UUID, principal: PrincipalDep, db: DbSession) -> SessionCost:
    """The current cost of a session, its breakdown, and every earlier version with the reason it changed."""
    row = await readable_session(db, principal, session_id)
    versions = (
        await db.execute(
            select(cost_versions)
            .where(cost_versions.c.session_id == session_id)
            .order_by(cost_versions.c.version.desc())
        )
    ).all()
    history = [CostVersion.model_validate(v, from_attributes=True) for v in versions]
    return SessionCost(
        session_id=row.session_id,
        client_id=row.client_id,
        date_of_service=row.date_of_service,
        cpt_code=row.cpt_code,
        status=row.status,
        current=history[0] if history else None,
        history=history[1:],
    )
