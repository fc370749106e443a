"""Sessions in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import simple_icd_10_cm as icd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from claims.common import LongText

TELEHEALTH_POS = {"02", "10"}
PLACES_OF_SERVICE = {"02", "10", "11", "12", "22", "53"}


def _icd10(value: str) -> str:
    code = value.strip().upper()
    if not icd.is_valid_item(code):
        raise ValueError(f"{value} is not an ICD-10-CM code")
    if not icd.is_leaf(code):
        raise ValueError(f"{value} is a category, not a billable ICD-10-CM code; use a more specific code")
    return icd.remove_dot(code)


Icd10 = Annotated[str, AfterValidator(_icd10)]


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_id: uuid.UUID
    client_id: uuid.UUID
    client_location_id: uuid.UUID = Field(description="Where the client is during the session.")
    date_of_service: date
    cpt_code: str = Field(pattern=r"^\d{5}$")
    add_on_codes: list[Annotated[str, Field(pattern=r"^\d{5}$")]] = Field(default=[], max_length=6)
    duration_minutes: int | None = Field(default=None, ge=1, le=600)
    icd10_codes: list[Icd10] = Field(min_length=1, max_length=12)
    place_of_service: str = Field(pattern=r"^\d{2}$", examples=["10"])
    telehealth_modifier: Literal["95", "GT", "93"] | None = None
    coverage_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the client's active coverage."
    )
    self_pay: bool = False
    crisis_documentation: Annotated[LongText, Field(min_length=20)] | None = None

    @model_validator(mode="after")
    def _place_of_service(self) -> SessionIn:
        if self.place_of_service not in PLACES_OF_SERVICE:
            raise ValueError(f"place_of_service must be one of {sorted(PLACES_OF_SERVICE)}")
        telehealth = self.place_of_service in TELEHEALTH_POS
        if telehealth and self.telehealth_modifier is None:
            raise ValueError(
                "a telehealth place of service (02, 10) needs a telehealth modifier (95, GT or 93)"
            )
        if not telehealth and self.telehealth_modifier is not None:
            raise ValueError("a telehealth modifier goes only with place of service 02 or 10")
        if self.self_pay and self.coverage_id is not None:
            raise ValueError("a self-pay session has no coverage")
        return self


class RecodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpt_code: str = Field(pattern=r"^\d{5}$")
    add_on_codes: list[Annotated[str, Field(pattern=r"^\d{5}$")]] = Field(default=[], max_length=6)
    duration_minutes: int | None = Field(default=None, ge=1, le=600)


class SessionOut(BaseModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    client_id: uuid.UUID
    client_location_id: uuid.UUID
    client_state: str
    date_of_service: date
    cpt_code: str
    add_on_codes: list[str]
    duration_minutes: int | None
    icd10_codes: list[str]
    place_of_service: str
    telehealth_modifier: str | None
    billing_route: str
    coverage_id: uuid.UUID | None
    payer_id: str | None
    status: str
    claim_id: uuid.UUID | None
    created_at: datetime


class SessionInternal(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str
    provider_npi: str
    date_of_service: date
    cpt_code: str
    icd10_codes: list[str]
    place_of_service: str
    status: str
