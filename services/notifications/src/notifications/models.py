"""Tables of the notifications service, all in the `notifications` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import NAMING_CONVENTION
from kit.runtime import MessagingTables


class Base(DeclarativeBase):
    # What kit.db.make_base builds, spelled out so mypy accepts it as a base class of the ORM models.
    metadata = MetaData(schema="notifications", naming_convention=NAMING_CONVENTION)


messaging = MessagingTables(Base.metadata)


class Notification(Base):
    """One e-mail to one recipient for one event and template: the intent, its rendering and its fate.

    The row is written in the consumer's transaction (status `pending`) before anything is sent; the sender
    renders it once, sends it with its fixed Message-ID and records the outcome.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", "template", name="uq_notifications_event_recipient"),
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_notifications_recipient", "recipient_id", "created_at"),
        Index("ix_notifications_status", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(100))
    recipient_kind: Mapped[str] = mapped_column(String(20))  # client | provider
    recipient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    context: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20))  # pending | sent | failed | suppressed
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    attachment: Mapped[str | None] = mapped_column(String(50), nullable=True)  # "invoice_pdf"
    to_address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CareRelationship(Base):
    """A provider sees a client (from care.relationship_started): who hears about a client's pause."""

    __tablename__ = "care_relationships"

    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionFact(Base):
    """A session's date of service (from session.confirmed), so an e-mail can say which session."""

    __tablename__ = "sessions"

    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    date_of_service: Mapped[date] = mapped_column(Date)


class SecondaryFlag(Base):
    """The last secondary flag of a coverage; the COB e-mail names the other plan when we know it."""

    __tablename__ = "secondary_flags"

    coverage_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    payer_id: Mapped[str] = mapped_column(String(100))
    other_payer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Preference(Base):
    """A client's choices about optional messages (reminders); required messages ignore it."""

    __tablename__ = "preferences"

    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reminders: Mapped[bool] = mapped_column(Boolean, server_default="true")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
