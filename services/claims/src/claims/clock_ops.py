"""Outside production, a controllable clock that ops (and demos) move by hand."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kit.app import RuntimeDep
from kit.clock import ControllableClock
from kit.errors import NotFound

router = APIRouter(prefix="/ops", tags=["ops"])


class AdvanceIn(BaseModel):
    days: int = Field(ge=0, le=3650)


class ClockOut(BaseModel):
    now: str


@router.post("/clock/advance", response_model=ClockOut, summary="Move the controllable clock forward")
async def advance(data: AdvanceIn, runtime: RuntimeDep) -> ClockOut:
    clock = runtime.clock
    if runtime.settings.environment == "production" or not isinstance(clock, ControllableClock):
        raise NotFound("The clock is not controllable here.")
    clock.advance(timedelta(days=data.days))
    return ClockOut(now=clock.now().isoformat())
