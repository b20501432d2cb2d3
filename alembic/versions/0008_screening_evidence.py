"""Screening evidence: how each field of a hit compared, and the pairs held back (``screening_suppressed``).

The matcher now describes every (physician, list row) pair field by field (NPI, DOB, each name part,
state) and can hold a name match back, e.g. when the list row carries a valid NPI other than the
physician's (``npi_conflict``: another person with the same name and DOB). A hit keeps that
description (``screening_hit.evidence``); a held-back pair is no hit, nothing pending, no alert, but
it is recorded per run (``screening_suppressed``) and counted per reason on the run
(``screening_run.suppressed``) so that a coordinator can look. Rows from before this revision get
``{}``: nothing was recorded about them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import roster.db.schema

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _uuid() -> sa.types.TypeEngine:
    return sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite")


def _empty_json(name: str) -> sa.Column:
    """A JSON object column, ``{}`` for the rows already there (and for a writer that names no value)."""
    return sa.Column(name, sa.JSON(), server_default="{}", autoincrement=False, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("screening_hit", schema=None) as batch_op:
        batch_op.add_column(_empty_json("evidence"))
    with op.batch_alter_table("screening_run", schema=None) as batch_op:
        batch_op.add_column(_empty_json("suppressed"))

    op.create_table(
        "screening_suppressed",
        sa.Column("id", _uuid(), autoincrement=False, nullable=False),
        sa.Column("run", _uuid(), autoincrement=False, nullable=False),
        sa.Column("snapshot", _uuid(), autoincrement=False, nullable=False),
        sa.Column("physician", _uuid(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("record_key", sa.String(length=200), autoincrement=False, nullable=False),
        sa.Column("record_hash", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("reason", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("match_kind", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("score", sa.REAL(), autoincrement=False, nullable=False),
        sa.Column("evidence", sa.JSON(), autoincrement=False, nullable=False),
        sa.Column("record", sa.JSON(), autoincrement=False, nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["physician"],
            ["physician.id"],
            name=op.f("fk_screening_suppressed_physician_physician"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["run"],
            ["screening_run.id"],
            name=op.f("fk_screening_suppressed_run_screening_run"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot"],
            ["list_snapshot.id"],
            name=op.f("fk_screening_suppressed_snapshot_list_snapshot"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_suppressed")),
    )
    with op.batch_alter_table("screening_suppressed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screening_suppressed_physician"), ["physician"], unique=False)
        batch_op.create_index(batch_op.f("ix_screening_suppressed_run"), ["run"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screening_suppressed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_suppressed_run"))
        batch_op.drop_index(batch_op.f("ix_screening_suppressed_physician"))
    op.drop_table("screening_suppressed")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as in 0003.
    op.drop_column("screening_run", "suppressed")
    op.drop_column("screening_hit", "evidence")
