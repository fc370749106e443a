"""HTTP: the fee schedule, and plan-wide corrections."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from kit.money import Amount
from pricing.costing.costshare import PlanTerms
from pricing.fees.service import correct_plan_benefits, set_rate
from pricing.models import fee_schedules

router = APIRouter(tags=["fee schedules"])


class Rate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payer_id: Annotated[str, Field(pattern=r"^[a-z0-9*_-]{1,50}$", description='"*" default, "self_pay"')]
    cpt_code: Annotated[str, Field(pattern=r"^\d{5}$")]
    allowed_amount: Amount
    provider_rate: Amount


class PlanCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_year_start: date
    deductible: Amount
    out_of_pocket_max: Amount
    copay: Amount | None = None
    coinsurance_rate: Annotated[Decimal, Field(ge=0, le=1, decimal_places=4)] | None = None


@router.get("/v1/fee-schedules", response_model=list[Rate])
async def list_rates(principal: PrincipalDep, db: DbSession) -> list[Any]:
    """Contracted allowed amounts per payer and CPT code, provider payout rates, and self-pay rates."""
    rows = await db.execute(
        select(fee_schedules).order_by(fee_schedules.c.payer_id, fee_schedules.c.cpt_code)
    )
    return [Rate.model_validate(r, from_attributes=True) for r in rows]


@router.put("/v1/fee-schedules")
async def put_rate(body: Rate, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Set a rate (ops); every session it prices is re-priced in bulk."""
    require_role(principal, "ops")
    changed = await set_rate(runtime, **body.model_dump())
    return {"rate": body.model_dump(mode="json"), "costs_changed": changed}


@router.post("/internal/plans/{payer_id}/benefit-corrections", include_in_schema=False)
async def plan_correction(
    payer_id: str, body: PlanCorrection, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, int]:
    """Corrected benefits for every member of a plan (from eligibility or ops), re-priced in bulk."""
    require_role(principal, "service")
    terms = PlanTerms(
        deductible=body.deductible,
        out_of_pocket_max=body.out_of_pocket_max,
        copay=body.copay,
        coinsurance_rate=body.coinsurance_rate,
    )
    changed = await correct_plan_benefits(
        runtime, payer_id=payer_id, plan_year_start=body.plan_year_start, terms=terms
    )
    return {"costs_changed": changed}
