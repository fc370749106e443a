"""Ops endpoints every service has: list dead letters and replay them after a fix."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import func, select, update

from contracts.cloudevents import Envelope
from kit.auth import PrincipalDep, require_role
from kit.errors import NotFound, Unprocessable

router = APIRouter(prefix="/ops", tags=["ops"])


class DeadLetterOut(BaseModel):
    id: int
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    error: str
    created_at: datetime
    replayed_at: datetime | None


class ReplayOut(BaseModel):
    id: int
    outcome: str


@router.get(
    "/dead-letters", response_model=list[DeadLetterOut], summary="Dead-lettered events of this service"
)
async def list_dead_letters(
    request: Request,
    principal: PrincipalDep,
    pending_only: bool = True,
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    require_role(principal, "ops")
    runtime = request.app.state.runtime
    t = runtime.tables.dead_letters
    query = select(t).order_by(t.c.id).limit(limit)
    if pending_only:
        query = query.where(t.c.replayed_at.is_(None))
    async with runtime.db.session() as session:
        rows = (await session.execute(query)).mappings().all()
    return [dict(r) for r in rows]


@router.post("/dead-letters/{dead_letter_id}/replay", response_model=ReplayOut, summary="Process it again")
async def replay_dead_letter(request: Request, principal: PrincipalDep, dead_letter_id: int) -> ReplayOut:
    """Run the consumer's handler on the stored event again (idempotent: a processed event is skipped)."""
    require_role(principal, "ops")
    runtime = request.app.state.runtime
    t = runtime.tables.dead_letters
    async with runtime.db.session() as session:
        row = (await session.execute(select(t).where(t.c.id == dead_letter_id))).mappings().first()
    if row is None:
        raise NotFound(f"No dead letter {dead_letter_id}.")
    consumer = next((c for c in runtime.consumers if c.name == row["consumer"]), None)
    if consumer is None:
        raise Unprocessable(f"Consumer {row['consumer']} is not part of this service any more.")
    headers = [(k, str(v).encode()) for k, v in row["headers"].items()]
    envelope: Envelope = consumer.decode(headers, row["value"].encode() if row["value"] else None)
    done = await consumer.process(envelope)
    async with runtime.db.session() as session:
        await session.execute(update(t).where(t.c.id == dead_letter_id).values(replayed_at=func.now()))
    return ReplayOut(id=dead_letter_id, outcome="processed" if done else "already_processed")
