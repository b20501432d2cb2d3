"""The roster's keyset order, ``(last_name, id)``, as one index.

A page of ``GET /api/v1/physicians`` (and the workspace's roster) is ordered by last name, then id. With
only ``last_name`` indexed, SQLite sorted every physician sharing a name with the page's rows in a
temporary B-tree; with both columns in one index the page is read off the index in order (issue 18).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 14:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("physician", schema=None) as batch_op:
        batch_op.create_index("ix_physician_last_name_id", ["last_name", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("physician", schema=None) as batch_op:
        batch_op.drop_index("ix_physician_last_name_id")
