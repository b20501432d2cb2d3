"""The records' change counter: row 4 of ``roster_version``.

Bumped by every committed transaction that wrote physician, license or certification records (a roster
change or not: an NPPES check that only moves ``npi_checked_on`` too), so each replica can tell with one
read by primary key whether the list pages it keeps (``roster.db.page_cache``) are current (issue 18).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 17:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("INSERT INTO roster_version (id, version) VALUES (4, 0)")


def downgrade() -> None:
    op.execute("DELETE FROM roster_version WHERE id = 4")
