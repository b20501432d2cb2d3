"""Alert deliveries, NPI verifications, and the roster version counter (seeded with one row).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:09:39.671669
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import String  # noqa: F401  (Alembic renders ARRAY item types unprefixed)

import roster.db.schema

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_version")),
    )
    op.execute("INSERT INTO roster_version (id, version) VALUES (1, 0)")
    op.create_table(
        "npi_verification",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "physician",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("npi", sa.String(length=10), autoincrement=False, nullable=False),
        sa.Column("method", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("outcome", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("npi_status", sa.String(length=16), autoincrement=False, nullable=True),
        sa.Column("details", sa.JSON(), autoincrement=False, nullable=False),
        sa.Column("error", sa.Text(), autoincrement=False, nullable=True),
        sa.Column(
            "checked_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["physician"],
            ["physician.id"],
            name=op.f("fk_npi_verification_physician_physician"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_npi_verification")),
    )
    with op.batch_alter_table("npi_verification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_npi_verification_checked_at"), ["checked_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_npi_verification_npi"), ["npi"], unique=False)
        batch_op.create_index(batch_op.f("ix_npi_verification_physician"), ["physician"], unique=False)

    op.create_table(
        "alert_delivery",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("target", sa.String(length=500), autoincrement=False, nullable=False),
        sa.Column(
            "alert",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("delivered", sa.Boolean(), autoincrement=False, nullable=False),
        sa.Column("status_code", sa.Integer(), autoincrement=False, nullable=True),
        sa.Column("error", sa.Text(), autoincrement=False, nullable=True),
        sa.Column(
            "attempted_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["alert"], ["alert.id"], name=op.f("fk_alert_delivery_alert_alert"), onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery")),
    )
    with op.batch_alter_table("alert_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_delivery_alert"), ["alert"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_delivery_attempted_at"), ["attempted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_delivery_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_delivery_event_id"))
        batch_op.drop_index(batch_op.f("ix_alert_delivery_attempted_at"))
        batch_op.drop_index(batch_op.f("ix_alert_delivery_alert"))

    op.drop_table("alert_delivery")
    with op.batch_alter_table("npi_verification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_npi_verification_physician"))
        batch_op.drop_index(batch_op.f("ix_npi_verification_npi"))
        batch_op.drop_index(batch_op.f("ix_npi_verification_checked_at"))

    op.drop_table("npi_verification")
    op.drop_table("roster_version")
