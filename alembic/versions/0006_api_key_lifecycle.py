"""API key lifecycle: an optional last day (``expires_on``), when the key was last used, and the
keys' revocation counter (row 3 of ``roster_version``).

Every replica caches authenticated keys; it re-reads that counter at most once a second and drops
its cache when the counter has moved, so a key revoked anywhere stops working everywhere within a
second without a query per request (``roster.keys.service.KeyCache``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import roster.db.schema

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_on", sa.Date(), autoincrement=False, nullable=True))
        batch_op.add_column(
            sa.Column(
                "last_used_at",
                sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
                autoincrement=False,
                nullable=True,
            )
        )
    op.execute("INSERT INTO roster_version (id, version) VALUES (3, 0)")


def downgrade() -> None:
    op.execute("DELETE FROM roster_version WHERE id = 3")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as in 0003.
    op.drop_column("api_key", "last_used_at")
    op.drop_column("api_key", "expires_on")
