"""Tables of the claims service, all in the `claims` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import make_base
from kit.runtime import MessagingTables

if TYPE_CHECKING:

    class Base(DeclarativeBase):
        pass

else:
    Base = make_base("claims")
messaging = MessagingTables(Base.metadata)

MONEY = Numeric(12, 2)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Provider(Base):
    __tablename__ = "providers"
    id: Mapped[uuid.UUID] = _id()
    npi: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = _created()


class PracticeLocation(Base):
    __tablename__ = "practice_locations"
    id: Mapped[uuid.UUID] = _id()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    state: Mapped[str] = mapped_column(String(2))
    address_line: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(10))


class Licence(Base):
    __tablename__ = "licences"
    id: Mapped[uuid.UUID] = _id()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    state: Mapped[str] = mapped_column(String(2))
    type: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(60))
    expires_on: Mapped[date] = mapped_column(Date)


class Credential(Base):
    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("provider_id", "payer_id", "state", "network"),)
    id: Mapped[uuid.UUID] = _id()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    payer_id: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(2))
    network: Mapped[str] = mapped_column(String(20))


class ClientLocation(Base):
    __tablename__ = "client_locations"
    id: Mapped[uuid.UUID] = _id()
    client_id: Mapped[uuid.UUID] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(20))  # residence | temporary
    address_line: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    added_by: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = _created()


class CareRelationship(Base):
    __tablename__ = "care_relationships"
    provider_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = _created()


class ClientView(Base):
    """Eligibility's word on a client, fed by client.status_changed."""

    __tablename__ = "client_view"
    client_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_status: Mapped[str] = mapped_column(String(20))
    cleared_for_scheduling: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CoverageView(Base):
    """Eligibility's word on a coverage, fed by coverage.status_changed."""

    __tablename__ = "coverage_view"
    coverage_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(index=True)
    payer_id: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Session(Base):
    __tablename__ = "sessions"
    id: Mapped[uuid.UUID] = _id()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(index=True)
    client_location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client_locations.id"))
    client_state: Mapped[str] = mapped_column(String(2))
    date_of_service: Mapped[date] = mapped_column(Date)
    cpt_code: Mapped[str] = mapped_column(String(5))
    add_on_codes: Mapped[list[str]] = mapped_column(JSON)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    icd10_codes: Mapped[list[str]] = mapped_column(JSON)
    place_of_service: Mapped[str] = mapped_column(String(2))
    telehealth_modifier: Mapped[str | None] = mapped_column(String(2))
    crisis_documentation: Mapped[str | None] = mapped_column(Text)
    billing_route: Mapped[str] = mapped_column(String(20))
    coverage_id: Mapped[uuid.UUID | None] = mapped_column()
    payer_id: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))  # confirmed | cancelled
    created_at: Mapped[datetime] = _created()


class Claim(Base):
    __tablename__ = "claims"
    id: Mapped[uuid.UUID] = _id()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"), unique=True)
    control_number: Mapped[str] = mapped_column(String(20), unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(index=True)
    coverage_id: Mapped[uuid.UUID] = mapped_column(index=True)
    payer_id: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(30), index=True)
    billed_amount: Mapped[Decimal] = mapped_column(MONEY)
    allowed_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    paid_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    patient_responsibility: Mapped[Decimal | None] = mapped_column(MONEY)
    payer_claim_control_number: Mapped[str | None] = mapped_column(String(60))
    submissions: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class ClaimTransition(Base):
    __tablename__ = "claim_transitions"
    id: Mapped[uuid.UUID] = _id()
    seq: Mapped[int] = mapped_column(
        BigInteger, Identity(always=True), unique=True
    )  # order within one instant
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RemittancePosting(Base):
    """One CLP loop of an 835 posted to a claim; the key makes posting the same loop twice a no-op."""

    __tablename__ = "remittance_postings"
    __table_args__ = (UniqueConstraint("claim_id", "posting_key"),)
    id: Mapped[uuid.UUID] = _id()
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    posting_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))  # clearinghouse | upload
    claim_status_code: Mapped[str] = mapped_column(String(3))
    paid_amount: Mapped[Decimal] = mapped_column(MONEY)
    allowed_amount: Mapped[Decimal] = mapped_column(MONEY)
    patient_responsibility: Mapped[Decimal] = mapped_column(MONEY)
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    remark_codes: Mapped[list[str]] = mapped_column(JSONB)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Recoupment(Base):
    __tablename__ = "recoupments"
    __table_args__ = (UniqueConstraint("claim_id", "idempotency_key"),)
    id: Mapped[uuid.UUID] = _id()
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    cause: Mapped[str] = mapped_column(String(40))
    responsibility: Mapped[str] = mapped_column(String(20))
    provider_paid_amount: Mapped[Decimal] = mapped_column(MONEY)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    id: Mapped[uuid.UUID] = _id()
    recoupment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recoupments.id"), index=True)
    account: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(MONEY)  # positive = debit, negative = credit
    memo: Mapped[str] = mapped_column(String(200))


class NotesRequest(Base):
    __tablename__ = "notes_requests"
    id: Mapped[uuid.UUID] = _id()
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(index=True)
    requested_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # open | answered | provider_error
    note_format: Mapped[str | None] = mapped_column(String(4))
    note: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PollCursor(Base):
    """Where a poller left off (the clearinghouse's 835 feed)."""

    __tablename__ = "poll_cursors"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(100))
