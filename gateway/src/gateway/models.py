"""The gateway's own table: the append-only audit log of every request that reads or writes PHI."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from kit.db import make_base

Base = make_base("gateway")

audit_events = Table(
    "audit_events",
    Base.metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("request_id", String(128), nullable=True),
    Column("subject", String(200), nullable=True),
    Column("role", String(20), nullable=True),
    Column("actor_client_id", UUID(as_uuid=True), nullable=True),
    Column("actor_provider_id", UUID(as_uuid=True), nullable=True),
    Column("method", String(10), nullable=False),
    Column("path", String(500), nullable=False),
    Column("service", String(40), nullable=True),
    Column("target_client_id", UUID(as_uuid=True), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("status", Integer, nullable=False),
    Column("outcome", String(20), nullable=False),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_target_client_id", "target_client_id"),
    Index("ix_audit_events_subject", "subject"),
)

idempotency_keys = Table(
    "idempotency_keys",
    Base.metadata,
    Column("subject", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("method", String(10), nullable=False),
    Column("path", String(500), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=True),
    Column("response_headers", JSONB, nullable=True),
    Column("response_body", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("completed_at", DateTime(timezone=True), nullable=True),
)
