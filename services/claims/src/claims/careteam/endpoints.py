"""HTTP for a client's care team: /v1/clients/{id}/care-team. A provider starts seeing a client when the client
(or ops, on the client's word) adds them; only then may the provider act for the client."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from claims import eligibility_view
from claims.common import provider_sees
from claims.locations.service import start_relationship
from claims.models import CareRelationship
from claims.providers import repository as provider_repo
from kit.app import RuntimeDep
from kit.auth import PrincipalDep, ensure_own_client, require_role
from kit.db import DbSession
from kit.errors import NotFound

router = APIRouter(tags=["care team"])


class CareTeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_id: uuid.UUID


class CareTeamMember(BaseModel):
    provider_id: uuid.UUID
    client_id: uuid.UUID


@router.post(
    "/v1/clients/{client_id}/care-team",
    status_code=201,
    response_model=CareTeamMember,
    summary="Add a provider to the client's care team (the client or ops)",
)
async def add_member(
    client_id: uuid.UUID, data: CareTeamIn, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> CareTeamMember:
    require_role(principal, "client")
    ensure_own_client(principal, client_id)
    if await provider_repo.get(session, data.provider_id) is None:
        raise NotFound("No such provider.")
    if await eligibility_view.client(session, client_id) is None and not await eligibility_view.refresh(
        session, runtime, client_id
    ):
        raise NotFound("No such client.")
    await start_relationship(
        session=session, runtime=runtime, provider_id=data.provider_id, client_id=client_id
    )
    return CareTeamMember(provider_id=data.provider_id, client_id=client_id)


@router.get(
    "/v1/clients/{client_id}/care-team",
    response_model=list[CareTeamMember],
    summary="The providers who see the client",
)
async def list_members(
    client_id: uuid.UUID, principal: PrincipalDep, session: DbSession
) -> list[CareTeamMember]:
    sees = principal.role == "provider" and await provider_sees(session, principal.provider_id, client_id)
    ensure_own_client(principal, client_id, provider_sees=sees)
    rows = await session.scalars(select(CareRelationship).where(CareRelationship.client_id == client_id))
    return [CareTeamMember(provider_id=r.provider_id, client_id=r.client_id) for r in rows]
