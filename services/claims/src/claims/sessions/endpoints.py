"""HTTP for sessions: /v1/sessions and /internal/sessions/{id}."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from claims.claim import repository as claim_repo
from claims.common import ensure_acts_as_provider
from claims.providers import repository as provider_repo
from claims.sessions import repository, service
from claims.sessions.schemas import RecodeIn, SessionIn, SessionInternal, SessionOut
from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from kit.errors import Forbidden, NotFound

router = APIRouter(tags=["sessions"])


@router.post("/v1/sessions", status_code=201, response_model=SessionOut, summary="Confirm a session")
async def confirm_session(
    data: SessionIn, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> SessionOut:
    ensure_acts_as_provider(principal, data.provider_id)
    return await service.confirm_session(session=session, runtime=runtime, principal=principal, data=data)


@router.get("/v1/sessions", response_model=list[SessionOut], summary="Sessions the caller may see")
async def list_sessions(
    principal: PrincipalDep,
    session: DbSession,
    client_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> list[SessionOut]:
    if principal.role == "client":
        client_id = principal.client_id
    elif principal.role == "provider":
        provider_id = principal.provider_id
    rows = await repository.listing(
        session, client_id=client_id, provider_id=provider_id, limit=limit, offset=offset
    )
    out = []
    for s in rows:
        claim = await claim_repo.by_session(session, s.id)
        out.append(service.to_out(s, claim.id if claim else None))
    return out


@router.get("/v1/sessions/{session_id}", response_model=SessionOut, summary="One session")
async def get_session(session_id: uuid.UUID, principal: PrincipalDep, session: DbSession) -> SessionOut:
    record = await service.readable_session(session, principal, session_id)
    claim = await claim_repo.by_session(session, record.id)
    return service.to_out(record, claim.id if claim else None)


def _ensure_writes(principal: PrincipalDep, provider_id: uuid.UUID) -> None:
    if principal.role in ("client", "partner"):
        raise Forbidden("Only the session's provider or ops can change a session.")
    ensure_acts_as_provider(principal, provider_id)


@router.post("/v1/sessions/{session_id}/cancel", response_model=SessionOut, summary="Cancel a session")
async def cancel_session(
    session_id: uuid.UUID, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> SessionOut:
    record = await service.readable_session(session, principal, session_id, lock=True)
    _ensure_writes(principal, record.provider_id)
    return await service.cancel_session(session=session, runtime=runtime, record=record)


@router.post(
    "/v1/sessions/{session_id}/recode", response_model=SessionOut, summary="Correct a session's codes"
)
async def recode_session(
    session_id: uuid.UUID, data: RecodeIn, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> SessionOut:
    record = await service.readable_session(session, principal, session_id, lock=True)
    _ensure_writes(principal, record.provider_id)
    return await service.recode_session(session=session, runtime=runtime, record=record, data=data)


@router.get("/internal/sessions/{session_id}", response_model=SessionInternal, include_in_schema=False)
async def internal_session(
    session_id: uuid.UUID, principal: PrincipalDep, session: DbSession
) -> SessionInternal:
    require_role(principal, "service")
    record = await repository.get(session, session_id)
    if record is None:
        raise NotFound("No such session.")
    provider = await provider_repo.get(session, record.provider_id)
    assert provider is not None
    return SessionInternal(
        id=record.id,
        client_id=record.client_id,
        provider_id=record.provider_id,
        provider_name=provider.name,
        provider_npi=provider.npi,
        date_of_service=record.date_of_service,
        cpt_code=record.cpt_code,
        icd10_codes=list(record.icd10_codes),
        place_of_service=record.place_of_service,
        status=record.status,
    )
