"""The credentialing file (issue 15): evidence files, verifications, credentialing decisions, IRR sessions.

Append-only records of a physician's file. ``evidence_file`` holds one row per uploaded file's SHA-256
(the bytes live under ``ROSTER_DATA_DIR/evidence/<sha256>``); a verification may point at one. A
decision keeps the timeliness judged when it was recorded (``late_elements`` as JSON). The downgrade
drops the four tables (the evidence files on disk stay where they are).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import roster.db.schema

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _uuid() -> sa.types.TypeEngine:
    return sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite")


def _timestamptz() -> sa.types.TypeEngine:
    return sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite")


def _column(name: str, type_: sa.types.TypeEngine, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, type_, autoincrement=False, nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        onupdate="CASCADE",
        ondelete="RESTRICT",
    )


#: Each table with its indexed columns, in creation order.
_INDEXES = (
    ("verification", ("evidence", "physician")),
    ("credentialing_decision", ("physician",)),
    ("irr_session", ("physician",)),
)


def upgrade() -> None:
    op.create_table(
        "evidence_file",
        _column("id", _uuid()),
        _column("sha256", sa.String(length=64)),
        _column("content_type", sa.String(length=32)),
        _column("size", sa.Integer()),
        _column("created_at", _timestamptz()),
        _column("created_by", sa.String(length=100)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_file")),
        sa.UniqueConstraint("sha256", name=op.f("uq_evidence_file_sha256")),
    )

    op.create_table(
        "verification",
        _column("id", _uuid()),
        _column("physician", _uuid()),
        _column("element", sa.String(length=32)),
        _column("source", sa.String(length=100)),
        _column("method", sa.String(length=16)),
        _column("verified_on", sa.Date()),
        _column("verified_by", sa.String(length=100)),
        _column("outcome", sa.String(length=16)),
        _column("evidence", _uuid(), nullable=True),
        _column("created_at", _timestamptz()),
        _fk("verification", "evidence", "evidence_file"),
        _fk("verification", "physician", "physician"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification")),
    )

    op.create_table(
        "credentialing_decision",
        _column("id", _uuid()),
        _column("physician", _uuid()),
        _column("kind", sa.String(length=16)),
        _column("decided_on", sa.Date()),
        _column("decision", sa.String(length=16)),
        _column("decided_by", sa.String(length=100)),
        _column("timely", sa.Boolean()),
        _column("late_elements", sa.JSON()),
        _column("cycle_due_on", sa.Date(), nullable=True),
        _column("cycle_met", sa.Boolean(), nullable=True),
        _column("created_at", _timestamptz()),
        _fk("credentialing_decision", "physician", "physician"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentialing_decision")),
    )

    op.create_table(
        "irr_session",
        _column("id", _uuid()),
        _column("physician", _uuid()),
        _column("taken_on", sa.Date()),
        _column("case_set", sa.String(length=100)),
        _column("score", sa.REAL()),
        _column("pass_mark", sa.REAL()),
        _column("passed", sa.Boolean()),
        _column("created_by", sa.String(length=100)),
        _column("created_at", _timestamptz()),
        _fk("irr_session", "physician", "physician"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_irr_session")),
    )

    for table, columns in _INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def downgrade() -> None:
    for table, columns in reversed(_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
    for table in ("irr_session", "credentialing_decision", "verification", "evidence_file"):
        op.drop_table(table)
