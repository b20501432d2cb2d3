"""An assignment's turnaround clock: ``urgency`` and ``received_at`` beside its ``due_at``.

The turnaround report (``GET /api/v1/reports/turnaround``) groups decisions by line of business, review
type and urgency, and measures each from its receipt; assignments recorded before this revision are
``standard`` with no receipt time (their ``created_at`` stands in).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import roster.db.schema

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urgency", sa.String(length=16), server_default="standard", autoincrement=False, nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "received_at",
                sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
                autoincrement=False,
                nullable=True,
            )
        )


def downgrade() -> None:
    op.drop_column("assignment", "received_at")
    op.drop_column("assignment", "urgency")
