"""HTTP: invoices (JSON or PDF), estimates before booking, Good Faith Estimates."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response

from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from pricing.access import ensure_reads_client, readable_session
from pricing.documents.pdf import estimate_pdf, invoice_pdf
from pricing.documents.schemas import (
    Estimate,
    EstimateRequest,
    GoodFaithEstimate,
    GoodFaithEstimateRequest,
    Invoice,
)
from pricing.documents.service import (
    build_invoice,
    create_good_faith_estimate,
    estimate,
    good_faith_estimate,
)

router = APIRouter(tags=["documents"])
PDF = "application/pdf"
Format = Annotated[Literal["json", "pdf"] | None, Query()]
Accept = Annotated[str | None, Header()]


def _wants_pdf(fmt: str | None, accept: str | None) -> bool:
    return fmt == "pdf" or (fmt is None and accept is not None and PDF in accept)


@router.get(
    "/v1/sessions/{session_id}/invoice",
    response_model=Invoice,
    responses={200: {"content": {PDF: {}}}},
)
async def session_invoice(
    session_id: UUID,
    principal: PrincipalDep,
    db: DbSession,
    runtime: RuntimeDep,
    format: Format = None,
    accept: Accept = None,
) -> Invoice | Response:
    """The superbill a client can send to another insurer: provider, NPI, dates, CPT, ICD-10, amounts paid."""
    row = await readable_session(db, principal, session_id)
    invoice = await build_invoice(db, runtime=runtime, session=row)
    if _wants_pdf(format, accept):
        return Response(invoice_pdf(invoice), media_type=PDF)
    return invoice


@router.get("/internal/sessions/{session_id}/invoice.pdf", include_in_schema=False)
async def internal_invoice_pdf(
    session_id: UUID, principal: PrincipalDep, db: DbSession, runtime: RuntimeDep
) -> Response:
    """The invoice PDF for notifications to attach."""
    require_role(principal, "service")
    row = await readable_session(db, principal, session_id)
    return Response(invoice_pdf(await build_invoice(db, runtime=runtime, session=row)), media_type=PDF)


@router.post("/v1/estimates", response_model=Estimate)
async def create_estimate(
    body: EstimateRequest, principal: PrincipalDep, db: DbSession, runtime: RuntimeDep
) -> Estimate:
    """What the next session (or the next N, weekly) will cost this client, before booking."""
    await ensure_reads_client(db, principal, body.client_id)
    return await estimate(db, request=body, today=runtime.clock.today())


@router.post("/v1/good-faith-estimates", response_model=GoodFaithEstimate, status_code=201)
async def create_gfe(
    body: GoodFaithEstimateRequest, principal: PrincipalDep, db: DbSession, runtime: RuntimeDep
) -> GoodFaithEstimate:
    """Expected charges of a planned course of self-pay sessions."""
    require_role(principal, "client", "provider")
    await ensure_reads_client(db, principal, body.client_id)
    return await create_good_faith_estimate(db, runtime=runtime, request=body)


@router.get(
    "/v1/good-faith-estimates/{estimate_id}",
    response_model=GoodFaithEstimate,
    responses={200: {"content": {PDF: {}}}},
)
async def get_gfe(
    estimate_id: UUID, principal: PrincipalDep, db: DbSession, format: Format = None, accept: Accept = None
) -> GoodFaithEstimate | Response:
    gfe = await good_faith_estimate(db, estimate_id)
    await ensure_reads_client(db, principal, gfe.client_id)
    if _wants_pdf(format, accept):
        return Response(estimate_pdf(gfe), media_type=PDF)
    return gfe
