"""Coverages: read, verify with the payer, and the detailed benefits page."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from eligibility.access import ensure_client_write, ensure_read
from eligibility.config import settings_of
from eligibility.coverages import repository
from eligibility.coverages.schemas import BenefitsPageOut, CoverageOut, VerificationOut
from eligibility.coverages.views import coverage_out, snapshot_out, verification_out, verified_out
from eligibility.models import Coverage
from eligibility.verification import service as verification
from kit.app import RuntimeDep
from kit.auth import Principal, PrincipalDep
from kit.db import DbSession
from kit.errors import NotFound

router = APIRouter(tags=["coverages"])


async def _readable(session: AsyncSession, principal: Principal, coverage_id: UUID) -> Coverage:
    coverage = await repository.get(session, coverage_id)
    if coverage is None:
        raise NotFound("No such coverage.")
    try:
        await ensure_read(session, principal, coverage.client_id)
    except NotFound as exc:
        raise NotFound("No such coverage.") from exc
    return coverage


@router.get("/v1/coverages/{coverage_id}", response_model=CoverageOut, summary="One coverage")
async def get_coverage(
    coverage_id: UUID, principal: PrincipalDep, session: DbSession, runtime: RuntimeDep
) -> CoverageOut:
    coverage = await _readable(session, principal, coverage_id)
    return coverage_out(coverage, recertify_days=settings_of(runtime).cob_recertify_days)


@router.post(
    "/v1/coverages/{coverage_id}/verify", response_model=VerificationOut, summary="Verify with the payer now"
)
async def verify_coverage(coverage_id: UUID, principal: PrincipalDep, runtime: RuntimeDep) -> VerificationOut:
    """Sends a 270 and applies the 271. A clearinghouse failure is answered 200 with outcome `failed`,
    its reason and the retry time: the verification was recorded and nothing known was changed."""

    async def authorize(session: AsyncSession, client_id: UUID) -> None:
        try:
            await ensure_read(session, principal, client_id)
        except NotFound as exc:
            raise NotFound("No such coverage.") from exc
        if principal.role == "partner":
            await ensure_client_write(session, principal, client_id)

    done = await verification.verify(
        runtime=runtime, coverage_id=coverage_id, trigger="manual", authorize=authorize
    )
    return verified_out(done)


@router.get(
    "/v1/coverages/{coverage_id}/benefits",
    response_model=BenefitsPageOut,
    summary="The detailed benefits page",
)
async def benefits_page(coverage_id: UUID, principal: PrincipalDep, session: DbSession) -> BenefitsPageOut:
    """The current benefit snapshot (outpatient behavioral health, in network), its history, and the
    verifications that produced them."""
    coverage = await _readable(session, principal, coverage_id)
    history = [snapshot_out(s) for s in await repository.snapshots(session, coverage_id)]
    checks = [verification_out(v, coverage) for v in await repository.verifications(session, coverage_id)]
    return BenefitsPageOut(
        coverage_id=coverage.id,
        payer_id=coverage.payer_id,
        coverage_status=coverage.status,
        current=history[0] if history else None,
        history=history,
        verifications=checks,
    )
