"""Stamp each hit decision and each screening run with the roster version it committed as.

A confirmed or dismissed hit changes one physician's eligibility, a run everyone's screening. With the
version recorded, every replica's roster index (``roster.matching.service.RosterCache``) reloads just
that physician, or recomputes just the screening columns, where it rebuilt the whole roster: seconds at
50,000 physicians with every match waiting. Rows from before this revision are stamped 0: older than
any index, so they never count as a change.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 05:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _add_roster_version(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "roster_version",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=False,
                nullable=True,
            )
        )
        batch_op.create_index(batch_op.f(f"ix_{table}_roster_version"), ["roster_version"], unique=False)


def upgrade() -> None:
    _add_roster_version("screening_hit")
    op.execute("UPDATE screening_hit SET roster_version = 0 WHERE status <> 'pending'")
    _add_roster_version("screening_run")
    op.execute("UPDATE screening_run SET roster_version = 0")


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as in 0003.
    for table in ("screening_run", "screening_hit"):
        op.drop_index(op.f(f"ix_{table}_roster_version"), table_name=table)
        op.drop_column(table, "roster_version")
