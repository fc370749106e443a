"""Notes requests: three business days to supply SOAP or DAP notes; silence becomes a provider error."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from claims.common import LongText
from claims.models import Claim, NotesRequest
from claims.rules import notes_deadline
from contracts.events import NotesRequested
from kit.errors import Conflict, NotFound
from kit.runtime import Runtime


class SoapNotes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["SOAP"]
    subjective: LongText
    objective: LongText
    assessment: LongText
    plan: LongText


class DapNotes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["DAP"]
    data: LongText
    assessment: LongText
    plan: LongText


NotesIn = Annotated[SoapNotes | DapNotes, Field(discriminator="format")]


class NotesRequestOut(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    provider_id: uuid.UUID
    requested_on: date
    deadline: date
    status: str
    note_format: str | None
    answered_at: datetime | None


def _out(r: NotesRequest) -> NotesRequestOut:
    return NotesRequestOut(
        id=r.id,
        claim_id=r.claim_id,
        provider_id=r.provider_id,
        requested_on=r.requested_on,
        deadline=r.deadline,
        status=r.status,
        note_format=r.note_format,
        answered_at=r.answered_at,
    )


async def request_notes(*, session: AsyncSession, runtime: Runtime, claim: Claim) -> NotesRequestOut:
    """Ask the provider for a session's notes, due in three business days."""
    today = runtime.clock.today()
    record = NotesRequest(
        id=uuid.uuid4(),
        claim_id=claim.id,
        provider_id=claim.provider_id,
        requested_on=today,
        deadline=notes_deadline(today),
        status="open",
    )
    session.add(record)
    await runtime.outbox.publish(
        session,
        NotesRequested(
            request_id=record.id,
            claim_id=claim.id,
            session_id=claim.session_id,
            provider_id=claim.provider_id,
            deadline=record.deadline,
            requested_at=runtime.clock.now(),
        ),
    )
    return _out(record)


async def submit_notes(
    *,
    session: AsyncSession,
    runtime: Runtime,
    claim: Claim,
    request_id: uuid.UUID,
    data: SoapNotes | DapNotes,
) -> NotesRequestOut:
    """Accept notes until the end of the deadline day; after it the request is already a provider error."""
    record = await session.scalar(
        select(NotesRequest)
        .where(NotesRequest.id == request_id, NotesRequest.claim_id == claim.id)
        .with_for_update()
    )
    if record is None:
        raise NotFound("No such notes request.")
    if record.status == "answered":
        raise Conflict("Notes were already supplied for this request.")
    if record.status == "provider_error" or runtime.clock.today() > record.deadline:
        raise Conflict(
            f"The deadline ({record.deadline.isoformat()}) has passed; this is recorded as a provider error."
        )
    record.status = "answered"
    record.note_format = data.format
    record.note = data.model_dump(exclude={"format"})
    record.answered_at = runtime.clock.now()
    return _out(record)


async def listing(session: AsyncSession, claim_id: uuid.UUID) -> list[NotesRequestOut]:
    rows = await session.scalars(
        select(NotesRequest)
        .where(NotesRequest.claim_id == claim_id)
        .order_by(NotesRequest.requested_on, NotesRequest.id)
    )
    return [_out(r) for r in rows]


async def mark_overdue(runtime: Runtime) -> int:
    """Every open request past its deadline becomes a provider error; returns how many."""
    today = runtime.clock.today()
    async with runtime.db.session() as session:
        rows = list(
            await session.scalars(
                select(NotesRequest)
                .where(NotesRequest.status == "open", NotesRequest.deadline < today)
                .with_for_update(skip_locked=True)
            )
        )
        for r in rows:
            r.status = "provider_error"
            r.overdue_at = runtime.clock.now()
    return len(rows)
