"""Tables of the eligibility service, all in the `eligibility` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Identity, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import make_base
from kit.runtime import MessagingTables

Base = make_base("eligibility")
messaging = MessagingTables(Base.metadata)

TS = DateTime(timezone=True)


class Client(Base):  # type: ignore[valid-type,misc]
    __tablename__ = "clients"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(254))
    home_state: Mapped[str] = mapped_column(String(2))
    self_pay: Mapped[bool] = mapped_column(Boolean, default=False)
    insurance_ineligible: Mapped[bool] = mapped_column(Boolean, default=False)
    account_status: Mapped[str] = mapped_column(String(20))
    cleared_for_scheduling: Mapped[bool] = mapped_column(Boolean)
    status_reason_code: Mapped[str | None] = mapped_column(String(50))
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)


class Coverage(Base):  # type: ignore[valid-type,misc]
    __tablename__ = "coverages"
    __table_args__ = (
        Index("ix_coverages_client", "client_id"),
        Index("ix_coverages_due", "next_verification_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    payer_id: Mapped[str] = mapped_column(String(50))
    member_id: Mapped[str] = mapped_column(String(30))
    group_number: Mapped[str | None] = mapped_column(String(30))
    subscriber_first_name: Mapped[str] = mapped_column(String(100))
    subscriber_last_name: Mapped[str] = mapped_column(String(100))
    subscriber_date_of_birth: Mapped[date] = mapped_column(Date)
    relationship: Mapped[str] = mapped_column(String(10))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    last_verified_at: Mapped[datetime | None] = mapped_column(TS)
    next_verification_at: Mapped[datetime | None] = mapped_column(TS)
    verification_failures: Mapped[int] = mapped_column(Integer, default=0)
    cob_certified_on: Mapped[date] = mapped_column(Date)
    cob_reminder_sent_for: Mapped[date | None] = mapped_column(Date)


class Verification(Base):  # type: ignore[valid-type,misc]
    __tablename__ = "verifications"
    __table_args__ = (Index("ix_verifications_coverage", "coverage_id", "requested_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    coverage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coverages.id"))
    trigger: Mapped[str] = mapped_column(String(30))
    requested_at: Mapped[datetime] = mapped_column(TS)
    completed_at: Mapped[datetime | None] = mapped_column(TS)
    outcome: Mapped[str] = mapped_column(
        String(20)
    )  # pending|active|secondary|inactive|not_found|rejected|failed
    failure_reason: Mapped[str | None] = mapped_column(Text)
    raw_270: Mapped[str] = mapped_column(Text)
    raw_271: Mapped[str | None] = mapped_column(Text)
    snapshot_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class BenefitSnapshot(Base):  # type: ignore[valid-type,misc]
    __tablename__ = "benefit_snapshots"
    __table_args__ = (Index("ix_snapshots_client", "client_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    coverage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coverages.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    verification_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    taken_at: Mapped[datetime] = mapped_column(TS)
    values: Mapped[dict[str, Any]] = mapped_column(JSONB)
    change_reason: Mapped[str | None] = mapped_column(String(30))


class CobCase(Base):  # type: ignore[valid-type,misc]
    __tablename__ = "cob_cases"
    __table_args__ = (
        Index("ix_cob_cases_client", "client_id"),
        Index("ix_cob_cases_due", "follow_up_due_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    coverage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coverages.id"))
    payer_id: Mapped[str] = mapped_column(String(50))
    trigger: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # open | resolved
    outcome: Mapped[str | None] = mapped_column(String(30))
    claim_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list)
    opened_at: Mapped[datetime] = mapped_column(TS)
    notified_at: Mapped[datetime] = mapped_column(TS)
    follow_up_due_at: Mapped[datetime | None] = mapped_column(TS)
    client_updated_at: Mapped[datetime | None] = mapped_column(TS)
    resolved_at: Mapped[datetime | None] = mapped_column(TS)


class CobCaseEvent(Base):  # type: ignore[valid-type,misc]
    __tablename__ = "cob_case_events"
    __table_args__ = (Index("ix_cob_case_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cob_cases.id"))
    at: Mapped[datetime] = mapped_column(TS)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)


class CareRelationship(Base):  # type: ignore[valid-type,misc]
    __tablename__ = "care_relationships"

    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(TS)
