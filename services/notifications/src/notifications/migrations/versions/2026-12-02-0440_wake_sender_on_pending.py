"""wake the sender when an e-mail becomes pending

A row trigger NOTIFYs `notifications_due` whenever a notification is inserted as, or set back to, `pending`;
PostgreSQL delivers it when the transaction commits, once per transaction however many rows it wrote. The
sender LISTENs on that channel, so whatever queues an e-mail wakes it without an extra round trip.

Revision ID: 3b1f0c2d9e7a
Revises: fa824f6d4868
Create Date: 2026-12-02 04:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3b1f0c2d9e7a"
down_revision: str | None = "fa824f6d4868"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION notifications.wake_sender() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('notifications_due', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER wake_sender_on_pending
        AFTER INSERT OR UPDATE OF status ON notifications.notifications
        FOR EACH ROW WHEN (NEW.status = 'pending')
        EXECUTE FUNCTION notifications.wake_sender()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER wake_sender_on_pending ON notifications.notifications")
    op.execute("DROP FUNCTION notifications.wake_sender()")
