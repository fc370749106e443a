"""sessions fillfactor: room on each page for the re-priced version of a row

Every re-pricing rewrites a session's current version and amount. With free space on the page PostgreSQL
updates the row in place (a heap-only tuple) instead of adding an entry to each of the table's indexes.
Pages already full gain the room as they are rewritten (VACUUM FULL or pg_repack on a live system).

Revision ID: 5e1f0c2a9b3d
Revises: dddc32cdb247
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e1f0c2a9b3d"
down_revision: str | None = "dddc32cdb247"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE pricing.sessions SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE pricing.sessions RESET (fillfactor)")
