"""A running job's heartbeat (``job_run.alive_at``).

A run was presumed dead only six hours after it started, and a manual run killed with its API server
was never closed, so it blocked its job (409, scheduled runs skipped) for those hours. Now the process
running a job records a sign of life every 15 s, and a run silent for a minute is closed as
abandoned by the next start (``roster.scheduling.service``). Runs still marked running from before
this revision take their start as their last sign of life.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import roster.db.schema

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "alive_at",
                sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
                autoincrement=False,
                nullable=True,
            )
        )
    op.execute("UPDATE job_run SET alive_at = started_at WHERE outcome = 'running'")


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as in 0003.
    op.drop_column("job_run", "alive_at")
