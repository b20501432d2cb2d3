"""Stamp each record version with the roster version its transaction committed as.

Lets every replica reload only the physicians changed since its index was built (``write_tx`` stamps
the rows; ``roster.matching.service.RosterCache`` reads them). Rows recorded before this revision
are stamped 0: older than any index, so they never count as a change.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 22:21:06.317530
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import String  # noqa: F401  (Alembic renders ARRAY item types unprefixed)

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("record_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "roster_version",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=False,
                nullable=True,
            )
        )
        batch_op.create_index(batch_op.f("ix_record_version_roster_version"), ["roster_version"], unique=False)
    op.execute("UPDATE record_version SET roster_version = 0")


def downgrade() -> None:
    op.drop_index(op.f("ix_record_version_roster_version"), table_name="record_version")
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of the table would re-render
    # the Piccolo column types through SQLAlchemy, which warns on them.
    op.drop_column("record_version", "roster_version")
