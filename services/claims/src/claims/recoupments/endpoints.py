"""HTTP for recoupments: /v1/claims/{id}/recoupments."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response

from claims.claim.endpoints import readable_claim
from claims.recoupments import service
from claims.recoupments.service import RecoupmentIn, RecoupmentOut
from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession

router = APIRouter(tags=["clawback protection"])


@router.post(
    "/v1/claims/{claim_id}/recoupments",
    status_code=201,
    response_model=RecoupmentOut,
    summary="Record a payer's recoupment and decide who bears it",
)
async def record_recoupment(
    claim_id: uuid.UUID,
    data: RecoupmentIn,
    principal: PrincipalDep,
    session: DbSession,
    runtime: RuntimeDep,
    response: Response,
    idempotency_key: Annotated[str, Header(min_length=8, max_length=100)],
) -> RecoupmentOut:
    require_role(principal, "ops")
    claim = await readable_claim(session, principal, claim_id, lock=True)
    out, created = await service.decide(
        session=session, runtime=runtime, claim=claim, data=data, idempotency_key=idempotency_key
    )
    if not created:
        response.status_code = 200
    return out


@router.get(
    "/v1/claims/{claim_id}/recoupments", response_model=list[RecoupmentOut], summary="A claim's recoupments"
)
async def list_recoupments(
    claim_id: uuid.UUID, principal: PrincipalDep, session: DbSession
) -> list[RecoupmentOut]:
    await readable_claim(session, principal, claim_id)
    return await service.listing(session, claim_id)
