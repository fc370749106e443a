"""Coverage payloads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.events import BenefitValues
from contracts.payers import payer
from eligibility.clients.schemas import _past_date

Relationship = Literal["self", "spouse", "child", "other"]


class SubscriberIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date

    _dob = field_validator("date_of_birth")(_past_date)


class CoverageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    payer_id: str = Field(description="An id from GET /v1/payers")
    member_id: str = Field(description="As on the insurance card: 3-20 letters and digits")
    group_number: str | None = Field(None, max_length=30, pattern=r"^[A-Za-z0-9-]+$")
    relationship: Relationship = Field("self", description="The client's relationship to the subscriber")
    subscriber: SubscriberIn | None = Field(
        None, description="The policyholder; required unless the client is the subscriber (self)"
    )

    @field_validator("payer_id")
    @classmethod
    def _known_payer(cls, value: str) -> str:
        if payer(value) is None:
            raise ValueError("unknown payer; see GET /v1/payers")
        return value

    @field_validator("member_id")
    @classmethod
    def _member_id(cls, value: str) -> str:
        cleaned = value.replace(" ", "").upper()
        if not (3 <= len(cleaned) <= 20 and cleaned.isascii() and cleaned.isalnum()):
            raise ValueError("a member id is 3-20 letters and digits")
        return cleaned

    @model_validator(mode="after")
    def _plan_rules(self) -> CoverageIn:
        plan = payer(self.payer_id)
        if (
            plan is not None
            and plan.kind == "bcbs"
            and plan.member_id_prefixes
            and not self.member_id.startswith(plan.member_id_prefixes)
        ):
            raise ValueError(
                f"{plan.name} member ids start with one of the prefixes {', '.join(plan.member_id_prefixes)}"
            )
        if self.relationship != "self" and self.subscriber is None:
            raise ValueError("the subscriber is required when the client is not the subscriber")
        return self


class SubscriberOut(BaseModel):
    first_name: str
    last_name: str
    date_of_birth: date
    relationship: Relationship


class CoverageOut(BaseModel):
    id: UUID
    client_id: UUID
    payer_id: str
    member_id: str
    group_number: str | None
    subscriber: SubscriberOut
    current: bool
    status: str
    status_reason: str | None
    last_verified_at: datetime | None
    next_verification_at: datetime | None
    cob_certified_on: date
    cob_recertification_due: date
    created_at: datetime


class VerificationOut(BaseModel):
    id: UUID
    coverage_id: UUID
    trigger: str
    outcome: str
    failure_reason: str | None
    requested_at: datetime
    completed_at: datetime | None
    coverage_status: str
    coverage_status_reason: str | None
    next_verification_at: datetime | None
    benefits: BenefitValues | None = None


class SnapshotOut(BaseModel):
    id: UUID
    coverage_id: UUID
    verification_id: UUID
    taken_at: datetime
    change_reason: str | None
    benefits: BenefitValues


class BenefitsPageOut(BaseModel):
    coverage_id: UUID
    payer_id: str
    coverage_status: str
    current: SnapshotOut | None
    history: list[SnapshotOut]
    verifications: list[VerificationOut]
