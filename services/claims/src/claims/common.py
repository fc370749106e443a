"""Edge types shared by the claims API: USPS states, NPIs, and who may see whom."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

import us
from pydantic import AfterValidator
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


State = Annotated[str, AfterValidator(_state)]
Npi = Annotated[str, AfterValidator(_npi)]
Email = Annotated[str, AfterValidator(_email)]


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
