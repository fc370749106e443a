"""outbox wakes the relay by trigger

A statement trigger on the outbox NOTIFYs `outbox_notifications` when a transaction that added events commits, so
the writer no longer spends a round trip on `pg_notify` per publish (kit.messaging.tables.outbox_wake_ddl).

Revision ID: 882d1e12d21a
Revises: 3b1f0c2d9e7a
Create Date: 2026-12-02 06:50:00
"""

from collections.abc import Sequence

from alembic import op

from kit.messaging.tables import drop_outbox_wake_ddl, outbox_wake_ddl

revision: str = "882d1e12d21a"
down_revision: str | None = "3b1f0c2d9e7a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in outbox_wake_ddl("notifications"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_outbox_wake_ddl("notifications"):
        op.execute(statement)
