"""Clients: registration and reads, and the coverages and COB cases under a client."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query

from eligibility.access import ensure_client_write, ensure_read
from eligibility.clients import repository, service
from eligibility.clients.schemas import ClientIn, ClientOut
from eligibility.cob import repository as cob_repo
from eligibility.cob.schemas import CobCaseOut
from eligibility.cob.views import case_out
from eligibility.config import settings_of
from eligibility.coverages import repository as coverages_repo
from eligibility.coverages import service as coverages
from eligibility.coverages.schemas import CoverageIn, CoverageOut
from eligibility.coverages.views import coverage_out
from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from kit.errors import Forbidden, NotFound

router = APIRouter(tags=["clients"])


def client_out(client: Any) -> ClientOut:
    return ClientOut.model_validate(client, from_attributes=True)


@router.post("/v1/clients", status_code=201, response_model=ClientOut, summary="Register a client")
async def register_client(
    body: ClientIn, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> ClientOut:
    """Ops register anyone; a client registers themselves (their id comes with their identity)."""
    if principal.role == "client":
        if principal.client_id is None:
            raise Forbidden("This identity carries no client id to register.")
        client_id = principal.client_id
    else:
        require_role(principal, "ops")
        client_id = uuid.uuid4()
    client = await service.register(
        session=session, runtime=runtime, client_id=client_id, data=body.model_dump()
    )
    return client_out(client)


@router.get("/v1/clients", response_model=list[ClientOut], summary="Clients the caller may see")
async def list_clients(
    principal: PrincipalDep,
    session: DbSession,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> list[ClientOut]:
    return [client_out(c) for c in await repository.visible(session, principal, limit=limit, offset=offset)]


@router.get("/v1/clients/{client_id}", response_model=ClientOut, summary="One client")
async def get_client(client_id: UUID, principal: PrincipalDep, session: DbSession) -> ClientOut:
    await ensure_read(session, principal, client_id)
    client = await repository.get(session, client_id)
    if client is None:
        raise NotFound("No such client.")
    return client_out(client)


@router.post(
    "/v1/clients/{client_id}/coverages",
    status_code=201,
    response_model=CoverageOut,
    summary="Enter the primary plan",
)
async def enter_coverage(
    client_id: UUID, body: CoverageIn, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> CoverageOut:
    """The client enters their primary plan only; it replaces an earlier one and is verified right away."""
    await ensure_client_write(session, principal, client_id)
    client = await repository.get(session, client_id, for_update=True)
    if client is None:
        raise NotFound("No such client.")
    coverage = await coverages.enter(session=session, runtime=runtime, client=client, data=body)
    return coverage_out(coverage, recertify_days=settings_of(runtime).cob_recertify_days)


@router.get(
    "/v1/clients/{client_id}/coverages", response_model=list[CoverageOut], summary="A client's coverages"
)
async def list_coverages(
    client_id: UUID, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> list[CoverageOut]:
    await ensure_read(session, principal, client_id)
    days = settings_of(runtime).cob_recertify_days
    return [coverage_out(c, recertify_days=days) for c in await coverages_repo.of_client(session, client_id)]


@router.get(
    "/v1/clients/{client_id}/cob-cases", response_model=list[CobCaseOut], summary="COB cases and timelines"
)
async def list_cob_cases(client_id: UUID, principal: PrincipalDep, session: DbSession) -> list[CobCaseOut]:
    await ensure_read(session, principal, client_id)
    cases = await cob_repo.of_client(session, client_id)
    timelines = await cob_repo.timeline(session, [c.id for c in cases])
    return [case_out(c, timelines[c.id]) for c in cases]
