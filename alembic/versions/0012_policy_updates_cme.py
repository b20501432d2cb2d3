"""Policy updates with reviewer attestations, and CME credits (issue 15, step 3).

``policy_update`` holds the coverage-policy updates the organization publishes; ``policy_attestation``
one row per (update, physician) who attested reading it (the unique constraint makes a second
attestation a 409); ``cme_credit`` the continuing medical education each physician completed. All three
are append-only facts; the downgrade drops them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import roster.db.schema

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
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
    ("policy_attestation", ("physician",)),
    ("cme_credit", ("physician",)),
)


def upgrade() -> None:
    op.create_table(
        "policy_update",
        _column("id", _uuid()),
        _column("title", sa.String(length=200)),
        _column("effective_on", sa.Date()),
        _column("attest_by", sa.Date()),
        _column("created_by", sa.String(length=100)),
        _column("created_at", _timestamptz()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_update")),
    )

    op.create_table(
        "policy_attestation",
        _column("id", _uuid()),
        _column("policy_update", _uuid()),
        _column("physician", _uuid()),
        _column("attested_on", sa.Date()),
        _column("recorded_by", sa.String(length=100)),
        _column("created_at", _timestamptz()),
        _fk("policy_attestation", "physician", "physician"),
        _fk("policy_attestation", "policy_update", "policy_update"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_attestation")),
        sa.UniqueConstraint("policy_update", "physician", name=op.f("uq_policy_attestation_policy_update_physician")),
    )

    op.create_table(
        "cme_credit",
        _column("id", _uuid()),
        _column("physician", _uuid()),
        _column("completed_on", sa.Date()),
        _column("activity", sa.String(length=200)),
        _column("hours", sa.REAL()),
        _column("category", sa.String(length=16)),
        _column("created_by", sa.String(length=100)),
        _column("created_at", _timestamptz()),
        _fk("cme_credit", "physician", "physician"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cme_credit")),
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
    for table in ("cme_credit", "policy_attestation", "policy_update"):
        op.drop_table(table)
