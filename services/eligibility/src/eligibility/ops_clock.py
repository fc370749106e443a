"""Outside production, ops (and the demo) move a controllable clock forward: the one-week follow-up and
yearly re-certification then happen without waiting."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kit.app import RuntimeDep
from kit.auth import PrincipalDep, require_role
from kit.clock import ControllableClock
from kit.errors import NotFound

router = APIRouter(prefix="/ops/clock", tags=["ops"])


class AdvanceIn(BaseModel):
    days: float = Field(0, ge=0, le=3650)
    hours: float = Field(0, ge=0, le=24 * 3650)


class ClockOut(BaseModel):
    now: datetime


@router.post("/advance", response_model=ClockOut, summary="Move the controllable clock forward")
async def advance(body: AdvanceIn, principal: PrincipalDep, runtime: RuntimeDep) -> ClockOut:
    require_role(principal, "ops")
    clock = runtime.clock
    if runtime.settings.environment == "production" or not isinstance(clock, ControllableClock):
        raise NotFound("The clock is not controllable here.")
    clock.advance(timedelta(days=body.days, hours=body.hours))
    return ClockOut(now=clock.now())


@router.get("", response_model=ClockOut, summary="What time the service thinks it is")
async def now(principal: PrincipalDep, runtime: RuntimeDep) -> ClockOut:
    require_role(principal, "ops")
    return ClockOut(now=runtime.clock.now())
