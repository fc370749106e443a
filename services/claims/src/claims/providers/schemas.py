"""Providers in and out."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from claims.common import Code, Email, Line, Npi, ShortLine, State


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: State
    address_line: Line
    city: ShortLine
    postal_code: str = Field(pattern=r"^\d{5}(-\d{4})?$")


class LicenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: State
    type: Annotated[Code, Field(max_length=40, examples=["LCSW"])]
    number: Code
    expires_on: date


class CredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payer_id: Annotated[Code, Field(examples=["anthem-bcbs-ny"])]
    state: State
    network: Literal["standard", "virtual"] = "standard"


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID | None = Field(
        default=None, description="The provider id of the identity; required for providers."
    )
    npi: Npi
    name: Line
    email: Email
    practice_locations: list[AddressIn] = Field(
        min_length=1, description="The first is the 837P billing address."
    )
    licences: list[LicenceIn] = []
    credentials: list[CredentialIn] = []


class AddressOut(AddressIn):
    id: uuid.UUID


class LicenceOut(LicenceIn):
    id: uuid.UUID


class CredentialOut(CredentialIn):
    id: uuid.UUID


class ProviderOut(BaseModel):
    id: uuid.UUID
    npi: str
    name: str
    email: str
    practice_locations: list[AddressOut]
    licences: list[LicenceOut]
    credentials: list[CredentialOut]


class ProviderInternal(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    npi: str
