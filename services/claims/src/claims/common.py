"""Edge types shared by the claims API: USPS states, NPIs, and who may see whom."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

import us
from pydantic import AfterValidator, Field, WithJsonSchema
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from claims.models import CareRelationship
from kit.auth import Principal
from kit.errors import Forbidden, NotFound


def _state(value: str) -> str:
    found = us.states.lookup(value)
    if found is None or found.abbr != value:
        raise ValueError("must be a two-letter USPS state code, e.g. NY")
    return value


def _npi(value: str) -> str:
    # An NPI is 10 digits whose Luhn check runs over the card-issuer prefix 80840 plus the number.
    if not re.fullmatch(r"\d{10}", value) or not luhn.is_valid("80840" + value):
        raise ValueError("must be a 10-digit NPI with a valid check digit")
    return value


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError("must be an e-mail address")
    return value


def _storable(value: str) -> str:
    # PostgreSQL text holds neither NUL nor lone surrogates; refuse them here rather than fail on insert.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


NO_NUL = "^[^\\x00]*$"
Line = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL), AfterValidator(_storable)]
ShortLine = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL), AfterValidator(_storable)]
Code = Annotated[str, Field(min_length=1, max_length=60, pattern=NO_NUL), AfterValidator(_storable)]
LongText = Annotated[str, Field(min_length=1, max_length=20_000, pattern=NO_NUL), AfterValidator(_storable)]


USPS_STATES = sorted(s.abbr for s in [*us.states.STATES_AND_TERRITORIES, us.states.DC])

# The JSON schemas say as much as a schema can, so a client (or a fuzzer) built from the docs sends valid data.
State = Annotated[
    str, AfterValidator(_state), WithJsonSchema({"type": "string", "enum": USPS_STATES, "examples": ["NY"]})
]
Npi = Annotated[
    str,
    AfterValidator(_npi),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{10}$",
            "description": "10-digit NPI; its last digit is a Luhn check digit over 80840 + the first nine.",
            "examples": ["1234567893"],
        }
    ),
]
Email = Annotated[
    str,
    AfterValidator(_email),
    WithJsonSchema(
        {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "examples": ["dr@example.com"]}
    ),
]


async def provider_sees(session: AsyncSession, provider_id: uuid.UUID | None, client_id: uuid.UUID) -> bool:
    if provider_id is None:
        return False
    found = await session.scalar(
        select(CareRelationship.provider_id).where(
            CareRelationship.provider_id == provider_id, CareRelationship.client_id == client_id
        )
    )
    return found is not None


def ensure_acts_as_provider(principal: Principal, provider_id: uuid.UUID) -> None:
    """A provider acts only for themselves; ops and services for anyone."""
    if principal.is_staff:
        return
    if principal.role == "provider" and principal.provider_id == provider_id:
        return
    raise Forbidden("You can act only for your own provider record.")


def ensure_reads_provider(principal: Principal, provider_id: uuid.UUID) -> None:
    """Ops, partners and services read every provider; a provider reads only themselves (else 404)."""
    if principal.is_staff or principal.role == "partner":
        return
    if principal.role == "provider" and principal.provider_id == provider_id:
        return
    raise NotFound("No such provider.")
