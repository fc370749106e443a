"""HTTP for notes requests: /v1/claims/{id}/notes-requests (+ /{rid}/notes)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from claims.claim.endpoints import readable_claim
from claims.notes import service
from claims.notes.service import NotesIn, NotesRequestOut
from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from kit.errors import Forbidden

router = APIRouter(tags=["notes requests"])


@router.post(
    "/v1/claims/{claim_id}/notes-requests",
    status_code=201,
    response_model=NotesRequestOut,
    summary="Ask the provider for the session's notes (due in three business days)",
)
async def request_notes(
    claim_id: uuid.UUID, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> NotesRequestOut:
    require_role(principal, "ops")
    claim = await readable_claim(session, principal, claim_id)
    return await service.request_notes(session=session, runtime=runtime, claim=claim)


@router.get(
    "/v1/claims/{claim_id}/notes-requests",
    response_model=list[NotesRequestOut],
    summary="A claim's notes requests",
)
async def list_requests(
    claim_id: uuid.UUID, principal: PrincipalDep, session: DbSession
) -> list[NotesRequestOut]:
    if principal.role == "client":
        raise Forbidden("Notes requests are between the provider and us.")
    await readable_claim(session, principal, claim_id)
    return await service.listing(session, claim_id)


@router.post(
    "/v1/claims/{claim_id}/notes-requests/{request_id}/notes",
    response_model=NotesRequestOut,
    summary="Supply SOAP or DAP notes",
)
async def submit_notes(
    claim_id: uuid.UUID,
    request_id: uuid.UUID,
    data: NotesIn,
    principal: PrincipalDep,
    session: DbSession,
    runtime: RuntimeDep,
) -> NotesRequestOut:
    if principal.role not in ("provider", "ops"):
        raise Forbidden("Only the session's provider supplies notes.")
    claim = await readable_claim(session, principal, claim_id)
    return await service.submit_notes(
        session=session, runtime=runtime, claim=claim, request_id=request_id, data=data
    )
