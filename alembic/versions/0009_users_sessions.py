"""Workspace sign-in: people's accounts (``app_user``) and their browser sessions (``web_session``).

People sign in to the workspace with an email and password (argon2id hash); systems keep using API
keys. Sessions live in the database rather than in a process so every replica serves every
signed-in browser; a session's id is the SHA-256 of its cookie's token, so the table alone opens
nothing. Deleting a user deletes their sessions (``ON DELETE CASCADE``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import roster.db.schema

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _uuid() -> sa.types.TypeEngine:
    return sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite")


def _timestamptz() -> sa.types.TypeEngine:
    return sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite")


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", _uuid(), autoincrement=False, nullable=False),
        sa.Column("email", sa.String(length=254), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("password_hash", sa.String(length=255), autoincrement=False, nullable=False),
        sa.Column("created_at", _timestamptz(), autoincrement=False, nullable=False),
        sa.Column("disabled_at", _timestamptz(), autoincrement=False, nullable=True),
        sa.Column("last_sign_in_at", _timestamptz(), autoincrement=False, nullable=True),
        sa.Column("failed_attempts", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("locked_until", _timestamptz(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("email", name=op.f("uq_app_user_email")),
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("user", _uuid(), autoincrement=False, nullable=False),
        sa.Column("created_at", _timestamptz(), autoincrement=False, nullable=False),
        sa.Column("last_seen_at", _timestamptz(), autoincrement=False, nullable=False),
        sa.Column("expires_at", _timestamptz(), autoincrement=False, nullable=False),
        sa.Column("data", sa.JSON(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["user"],
            ["app_user.id"],
            name=op.f("fk_web_session_user_app_user"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_session_user"), ["user"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_user"))
        batch_op.drop_index(batch_op.f("ix_web_session_expires_at"))

    op.drop_table("web_session")
    op.drop_table("app_user")
