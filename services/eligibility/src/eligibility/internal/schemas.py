"""Payloads of the bulk internal reads."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# One sender batch of notifications (50 by default) with room to spare; a bigger lookup is split by the caller.
MAX_CONTACTS_PER_LOOKUP = 200


class ContactsLookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] = Field(min_length=1, max_length=MAX_CONTACTS_PER_LOOKUP)


class ClientContact(BaseModel):
    """What an e-mail to (or about) a client needs: where it goes and how to address them."""

    id: UUID
    first_name: str
    last_name: str
    email: str


class ContactsOut(BaseModel):
    """The clients found; an id asked for and absent here is not known to eligibility."""

    contacts: list[ClientContact]
