"""Claims out."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from contracts.base import Money


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    reason: str
    at: datetime


class ClaimOut(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    client_id: uuid.UUID
    provider_id: uuid.UUID
    coverage_id: uuid.UUID
    payer_id: str
    control_number: str
    status: str
    billed_amount: Money
    allowed_amount: Money | None
    paid_amount: Money | None
    patient_responsibility: Money | None
    payer_claim_control_number: str | None
    submissions: int
    transitions: list[TransitionOut]


def money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))
