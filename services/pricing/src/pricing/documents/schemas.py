"""Invoices and Good Faith Estimates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Money


class ProviderDetails(BaseModel):
    provider_id: UUID
    name: str
    npi: str


class Invoice(BaseModel):
    invoice_id: UUID
    session_id: UUID
    client_id: UUID
    issued_at: datetime
    provider: ProviderDetails | None
    provider_details_missing: bool
    date_of_service: date
    place_of_service: str | None
    cpt_code: str
    icd10_codes: list[str]
    allowed_amount: Money
    client_amount: Money
    amount_paid: Money
    balance: Money


class EstimateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: UUID
    cpt_code: Annotated[str, Field(pattern=r"^\d{5}$")]
    session_count: Annotated[int, Field(ge=1, le=52)] = 1
    date_of_service: date | None = None
    coverage_id: UUID | None = None


class EstimatedSession(BaseModel):
    date_of_service: date
    amount: Money
    basis: str


class Estimate(BaseModel):
    client_id: UUID
    cpt_code: str
    sessions: list[EstimatedSession]
    total: Money


class GoodFaithEstimateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: UUID
    provider_id: UUID | None = None
    cpt_code: Annotated[str, Field(pattern=r"^\d{5}$")]
    session_count: Annotated[int, Field(ge=1, le=52)]
    first_date: date


class GoodFaithEstimate(BaseModel):
    estimate_id: UUID
    client_id: UUID
    provider_id: UUID | None
    cpt_code: str
    session_count: int
    unit_rate: Money
    total: Money
    first_date: date
    created_at: datetime
