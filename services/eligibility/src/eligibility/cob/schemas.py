"""COB case and advisor payloads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    detail: str


class CobCaseOut(BaseModel):
    id: UUID
    client_id: UUID
    coverage_id: UUID
    payer_id: str
    trigger: str
    status: str
    outcome: str | None
    claim_ids: list[UUID]
    opened_at: datetime
    notified_at: datetime
    follow_up_due_at: datetime | None
    client_updated_at: datetime | None
    resolved_at: datetime | None
    instructions: dict[str, str]
    provider_message: str
    timeline: list[TimelineEntry]


class CobCaseIn(BaseModel):
    """An insurer's notice of a COB issue, entered by ops."""

    model_config = ConfigDict(extra="forbid")

    client_id: UUID
    coverage_id: UUID | None = Field(None, description="Defaults to the client's current coverage")
    claim_ids: list[UUID] = Field(default_factory=list, max_length=500)
    note: str = Field("", max_length=500, description="No PHI: what the insurer said, in short")


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: str = Field(min_length=1, max_length=50, description="Your label for the plan")
    covered_as: Literal["self", "spouse_dependent", "parent_dependent"]
    coverage_start: date
    employment: Literal["active", "retired", "cobra"] = "active"
    holder_birthday: date | None = Field(None, description="For a parent's plan: that parent's date of birth")
    custody: (
        Literal["custodial", "custodial_parent_spouse", "non_custodial", "non_custodial_parent_spouse"] | None
    ) = None
    court_decree: bool = Field(False, description="A court decree makes this plan's holder responsible")


class DetermineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_of_birth: date
    as_of: date | None = None
    married: bool = False
    parents_married: bool = Field(True, description="The parents are married or living together")
    joint_custody: bool = False
    plans: list[PlanIn] = Field(min_length=1, max_length=5)

    @model_validator(mode="after")
    def _checks(self) -> DetermineIn:
        ids = [p.plan_id for p in self.plans]
        if len(set(ids)) != len(ids):
            raise ValueError("plan_id values must be unique")
        for p in self.plans:
            if p.covered_as == "parent_dependent" and p.holder_birthday is None:
                raise ValueError(f"{p.plan_id}: a parent's plan needs holder_birthday (the birthday rule)")
            if p.coverage_start < self.date_of_birth:
                raise ValueError(f"{p.plan_id}: coverage cannot start before the person was born")
        return self


class StepOut(BaseModel):
    position: str
    plan_id: str
    rule: str


class ExcludedOut(BaseModel):
    plan_id: str
    reason: str


class DetermineOut(BaseModel):
    order: list[StepOut]
    excluded: list[ExcludedOut]
    note: str
