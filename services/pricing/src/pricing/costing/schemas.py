"""What `GET /v1/sessions/{id}/cost` returns."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel

from contracts.base import Money


class CostLine(BaseModel):
    label: str
    amount: Money


class CostVersion(BaseModel):
    version: int
    amount: Money
    allowed_amount: Money
    plan_amount: Money
    basis: str
    reason: str
    lines: list[CostLine]
    created_at: datetime


class SessionCost(BaseModel):
    session_id: UUID
    client_id: UUID
    date_of_service: date
    cpt_code: str
    status: str
    current: CostVersion | None
    history: list[CostVersion]
