"""Client payloads: what a client enters, what the API shows."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import us
from pydantic import BaseModel, ConfigDict, Field, field_validator


def _state(value: str) -> str:
    state = us.states.lookup(value.strip().upper()) if len(value.strip()) == 2 else None
    if state is None:
        raise ValueError("must be a USPS state code such as NY")
    return str(state.abbr)


def _past_date(value: date) -> date:
    if value > date.today() or value.year < 1900:  # noqa: DTZ011 - validation bound, not business time
        raise ValueError("must be a real date of birth in the past")
    return value


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
    home_state: str = Field(description="USPS code of the state the client lives in")
    self_pay: bool = Field(
        default=False, description="The client pays for sessions themselves (cleared without insurance)."
    )

    _state = field_validator("home_state")(_state)
    _dob = field_validator("date_of_birth")(_past_date)


class ClientOut(BaseModel):
    id: UUID
    first_name: str
    last_name: str
    date_of_birth: date
    email: str
    home_state: str
    self_pay: bool
    account_status: str
    cleared_for_scheduling: bool
    status_reason_code: str | None
    status_reason: str | None
    created_at: datetime


class InternalClientOut(BaseModel):
    id: UUID
    first_name: str
    last_name: str
    date_of_birth: date
    email: str
    home_state: str
    account_status: str
    cleared_for_scheduling: bool
