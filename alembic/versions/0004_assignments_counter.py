"""The assignments' change counter: row 2 of ``roster_version``.

Replaces counting the whole assignment table on every match (which grows with every case ever
routed) with a lookup by primary key. Assignments write it; ``RosterCache`` reads it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 01:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("INSERT INTO roster_version (id, version) VALUES (2, 0)")


def downgrade() -> None:
    op.execute("DELETE FROM roster_version WHERE id = 2")
