"""Service-to-service reads (role "service"): claims builds 837Ps from these, notifications finds e-mails."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from eligibility.clients import repository as clients_repo
from eligibility.clients.schemas import InternalClientOut
from eligibility.coverages import repository as coverages_repo
from eligibility.internal import repository
from eligibility.internal.schemas import ClientContact, ContactsLookup, ContactsOut
from eligibility.models import Coverage
from kit.auth import PrincipalDep, require_role
from kit.db import DbSession
from kit.errors import NotFound

router = APIRouter(prefix="/internal", tags=["internal"])


class InternalSubscriber(BaseModel):
    first_name: str
    last_name: str
    date_of_birth: date
    relationship: str


class InternalCoverageOut(BaseModel):
    id: UUID
    client_id: UUID
    payer_id: str
    member_id: str
    group_number: str | None
    subscriber: InternalSubscriber
    status: str
    status_reason: str | None


def _coverage(c: Coverage) -> InternalCoverageOut:
    return InternalCoverageOut(
        id=c.id,
        client_id=c.client_id,
        payer_id=c.payer_id,
        member_id=c.member_id,
        group_number=c.group_number,
        subscriber=InternalSubscriber(
            first_name=c.subscriber_first_name,
            last_name=c.subscriber_last_name,
            date_of_birth=c.subscriber_date_of_birth,
            relationship=c.relationship,
        ),
        status=c.status,
        status_reason=c.status_reason,
    )


@router.get("/clients/{client_id}", response_model=InternalClientOut)
async def internal_client(client_id: UUID, principal: PrincipalDep, session: DbSession) -> InternalClientOut:
    require_role(principal, "service")
    client = await clients_repo.get(session, client_id)
    if client is None:
        raise NotFound("No such client.")
    return InternalClientOut.model_validate(client, from_attributes=True)


@router.post("/clients/contacts", response_model=ContactsOut)
async def client_contacts(body: ContactsLookup, principal: PrincipalDep, session: DbSession) -> ContactsOut:
    """Several clients' contacts in one call (notifications' sender, a batch of e-mails at a time)."""
    require_role(principal, "service")
    rows = await repository.contacts(session, sorted(set(body.ids)))
    return ContactsOut(
        contacts=[
            ClientContact(id=r.id, first_name=r.first_name, last_name=r.last_name, email=r.email)
            for r in rows
        ]
    )


@router.get("/coverages/{coverage_id}", response_model=InternalCoverageOut)
async def internal_coverage(
    coverage_id: UUID, principal: PrincipalDep, session: DbSession
) -> InternalCoverageOut:
    require_role(principal, "service")
    coverage = await coverages_repo.get(session, coverage_id)
    if coverage is None:
        raise NotFound("No such coverage.")
    return _coverage(coverage)


@router.get("/clients/{client_id}/active-coverage", response_model=InternalCoverageOut)
async def active_coverage(
    client_id: UUID, principal: PrincipalDep, session: DbSession
) -> InternalCoverageOut:
    """The client's current primary coverage when it is verified active; 404 otherwise (self-pay)."""
    require_role(principal, "service")
    coverage = await clients_repo.current_coverage(session, client_id)
    if coverage is None or coverage.status != "active":
        raise NotFound("The client has no active primary coverage.")
    return _coverage(coverage)
