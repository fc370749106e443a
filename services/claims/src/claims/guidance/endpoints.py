"""HTTP for billing guidance: /v1/providers/{pid}/clients/{cid}/billing-guidance."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from claims.common import ensure_reads_provider, provider_sees
from claims.guidance.service import GuidanceOut, billing_guidance
from claims.providers import repository as provider_repo
from kit.app import RuntimeDep
from kit.auth import PrincipalDep
from kit.db import DbSession
from kit.errors import NotFound

router = APIRouter(tags=["billing guidance"])


@router.get(
    "/v1/providers/{provider_id}/clients/{client_id}/billing-guidance",
    response_model=GuidanceOut,
    summary="Where this provider can bill this client's sessions, state by state",
)
async def get_guidance(
    provider_id: uuid.UUID,
    client_id: uuid.UUID,
    principal: PrincipalDep,
    session: DbSession,
    runtime: RuntimeDep,
) -> GuidanceOut:
    ensure_reads_provider(principal, provider_id)
    if principal.role == "client":
        raise NotFound("No such provider.")
    if principal.role == "provider" and not await provider_sees(session, provider_id, client_id):
        raise NotFound("No such client.")
    if await provider_repo.get(session, provider_id) is None:
        raise NotFound("No such provider.")
    return await billing_guidance(
        session=session, provider_id=provider_id, client_id=client_id, on=runtime.clock.today()
    )
