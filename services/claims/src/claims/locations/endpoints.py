"""HTTP for client locations: /v1/clients/{id}/locations."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from claims.locations import service
from claims.locations.schemas import ClientLocationIn, ClientLocationOut
from kit.app import RuntimeDep
from kit.auth import PrincipalDep
from kit.db import DbSession
from kit.errors import Forbidden

router = APIRouter(tags=["client locations"])


@router.post(
    "/v1/clients/{client_id}/locations",
    status_code=201,
    response_model=ClientLocationOut,
    summary="Add a place the client can be during sessions",
)
async def add_location(
    client_id: uuid.UUID,
    data: ClientLocationIn,
    principal: PrincipalDep,
    session: DbSession,
    runtime: RuntimeDep,
) -> ClientLocationOut:
    if principal.role == "partner":
        raise Forbidden("Partners have read-only access.")
    return await service.add_location(
        session=session,
        runtime=runtime,
        principal=principal,
        client_id=client_id,
        data=data,
    )


@router.get(
    "/v1/clients/{client_id}/locations",
    response_model=list[ClientLocationOut],
    summary="A client's locations",
)
async def list_locations(
    client_id: uuid.UUID, principal: PrincipalDep, session: DbSession
) -> list[ClientLocationOut]:
    return await service.list_locations(session=session, principal=principal, client_id=client_id)
