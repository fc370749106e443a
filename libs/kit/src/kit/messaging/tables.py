"""The messaging tables every service carries in its own schema: the outbox and the processed-events log."""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


def define_messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add `outbox` and `processed_events` to a service's metadata (and so to its migrations)."""
    outbox = Table(
        "outbox",
        metadata,
        # A sequence gives the relay a stable publishing order; claims use SKIP LOCKED, never a high-water mark.
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL")),
    )
    if metadata.schema:  # tables made by create_all (tests, demos) wake the relay as migrated ones do
        for statement in outbox_wake_ddl(metadata.schema):
            event.listen(outbox, "after_create", DDL(statement))
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id", name="pk_processed_events"),
    )
    return outbox, processed


def outbox_wake_ddl(schema: str) -> list[str]:
    """The statement trigger that wakes the relay (NOTIFY `outbox_<schema>`) when a transaction that added
    outbox rows commits: once per statement, merged by PostgreSQL into one notification per transaction, and
    no round trip of the writer's own. Each service's migrations create it; `drop_outbox_wake_ddl` undoes it."""
    return [
        f"""CREATE FUNCTION {schema}.outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
            RETURN NULL;
        END
        $$""",
        f"CREATE TRIGGER outbox_wake AFTER INSERT ON {schema}.outbox"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {schema}.outbox_wake()",
    ]


def drop_outbox_wake_ddl(schema: str) -> list[str]:
    return [f"DROP TRIGGER outbox_wake ON {schema}.outbox", f"DROP FUNCTION {schema}.outbox_wake()"]


def define_dead_letter_table(metadata: MetaData) -> Table:
    """Dead letters a service's consumers gave up on, kept for ops to list and replay."""
    return Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("consumer", String(100), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition", BigInteger, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("event_id", String(100), nullable=True),
        Column("event_type", String(200), nullable=True),
        Column("key", Text, nullable=True),
        Column("headers", JSONB, nullable=False),
        Column("value", Text, nullable=True),
        Column("error", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("replayed_at", DateTime(timezone=True), nullable=True),
    )
