"""HTTP for claims: /v1/claims and /v1/claims/{id}."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from claims.claim import repository
from claims.claim.schemas import ClaimOut, TransitionOut
from claims.models import Claim
from kit.auth import Principal, PrincipalDep
from kit.db import DbSession
from kit.errors import NotFound

router = APIRouter(tags=["claims"])


def can_read(principal: Principal, claim: Claim) -> bool:
    if principal.is_staff or principal.role == "partner":
        return True
    if principal.role == "client":
        return principal.client_id == claim.client_id
    return principal.role == "provider" and principal.provider_id == claim.provider_id


async def readable_claim(
    session: AsyncSession, principal: Principal, claim_id: uuid.UUID, *, lock: bool = False
) -> Claim:
    claim = await repository.get(session, claim_id, lock=lock)
    if claim is None or not can_read(principal, claim):
        raise NotFound("No such claim.")
    return claim


async def to_out(session: AsyncSession, c: Claim) -> ClaimOut:
    return ClaimOut(
        id=c.id,
        session_id=c.session_id,
        client_id=c.client_id,
        provider_id=c.provider_id,
        coverage_id=c.coverage_id,
        payer_id=c.payer_id,
        control_number=c.control_number,
        status=c.status,
        billed_amount=c.billed_amount,
        allowed_amount=c.allowed_amount,
        paid_amount=c.paid_amount,
        patient_responsibility=c.patient_responsibility,
        payer_claim_control_number=c.payer_claim_control_number,
        submissions=c.submissions,
        transitions=[
            TransitionOut(from_status=t.from_status, to_status=t.to_status, reason=t.reason, at=t.at)
            for t in await repository.transitions(session, c.id)
        ],
    )


@router.get("/v1/claims", response_model=list[ClaimOut], summary="Claims the caller may see")
async def list_claims(
    principal: PrincipalDep,
    session: DbSession,
    client_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    status: str | None = Query(None, max_length=30),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> list[ClaimOut]:
    if principal.role == "client":
        client_id = principal.client_id
    elif principal.role == "provider":
        provider_id = principal.provider_id
    rows = await repository.listing(
        session, client_id=client_id, provider_id=provider_id, status=status, limit=limit, offset=offset
    )
    return [await to_out(session, c) for c in rows]


@router.get("/v1/claims/{claim_id}", response_model=ClaimOut, summary="One claim and its history")
async def get_claim(claim_id: uuid.UUID, principal: PrincipalDep, session: DbSession) -> ClaimOut:
    return await to_out(session, await readable_claim(session, principal, claim_id))
