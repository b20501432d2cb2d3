"""Initial schema: the whole roster model, derived from the Piccolo tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:31:59.766895
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import roster.db.schema

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("prefix", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("key_hash", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "revoked_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_table(
        "audit_event",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "occurred_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=100), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("entity", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("entity_id", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("before", sa.JSON(), autoincrement=False, nullable=True),
        sa.Column("after", sa.JSON(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_entity"), ["entity"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_entity_id"), ["entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "job_run",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("job", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("trigger", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column(
            "started_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "finished_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.Column("outcome", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("counts", sa.JSON(), autoincrement=False, nullable=False),
        sa.Column("error", sa.Text(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_run_job"), ["job"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_run_started_at"), ["started_at"], unique=False)

    op.create_table(
        "list_snapshot",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("sha256", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("rows", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("file_name", sa.String(length=255), autoincrement=False, nullable=False),
        sa.Column("origin", sa.Text(), autoincrement=False, nullable=False),
        sa.Column("published_on", sa.Date(), autoincrement=False, nullable=True),
        sa.Column(
            "loaded_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_snapshot")),
        sa.UniqueConstraint("source", "sha256", name=op.f("uq_list_snapshot_source_sha256")),
    )
    with op.batch_alter_table("list_snapshot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_list_snapshot_loaded_at"), ["loaded_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_list_snapshot_source"), ["source"], unique=False)

    op.create_table(
        "physician",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("npi", sa.String(length=10), autoincrement=False, nullable=False),
        sa.Column("first_name", sa.String(length=100), autoincrement=False, nullable=False),
        sa.Column("middle_name", sa.String(length=100), autoincrement=False, nullable=True),
        sa.Column("last_name", sa.String(length=100), autoincrement=False, nullable=False),
        sa.Column("suffix", sa.String(length=20), autoincrement=False, nullable=True),
        sa.Column(
            "former_last_names",
            postgresql.ARRAY(sa.String(length=100)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("date_of_birth", sa.Date(), autoincrement=False, nullable=False),
        sa.Column("degree", sa.String(length=2), autoincrement=False, nullable=False),
        sa.Column("email", sa.String(length=254), autoincrement=False, nullable=True),
        sa.Column(
            "languages",
            postgresql.ARRAY(sa.String(length=8)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "lines_of_business",
            postgresql.ARRAY(sa.String(length=32)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "specialties",
            postgresql.ARRAY(sa.String(length=64)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("clinical_practice_start", sa.Date(), autoincrement=False, nullable=False),
        sa.Column("credentialed_on", sa.Date(), autoincrement=False, nullable=True),
        sa.Column("irr_passed_on", sa.Date(), autoincrement=False, nullable=True),
        sa.Column("max_open_cases", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("npi_status", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("npi_checked_on", sa.Date(), autoincrement=False, nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physician")),
        sa.UniqueConstraint("npi", name=op.f("uq_physician_npi")),
    )
    with op.batch_alter_table("physician", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_physician_last_name"), ["last_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_physician_status"), ["status"], unique=False)

    op.create_table(
        "record_version",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("entity", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column(
            "entity_id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "physician_id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "recorded_from",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "recorded_to",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.Column("deleted", sa.Boolean(), autoincrement=False, nullable=False),
        sa.Column("data", sa.JSON(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_version")),
    )
    with op.batch_alter_table("record_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_version_entity_id"), ["entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_record_version_physician_id"), ["physician_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_record_version_recorded_from"), ["recorded_from"], unique=False)

    op.create_table(
        "screening_run",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "sources",
            postgresql.ARRAY(sa.String(length=32)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("snapshots", sa.JSON(), autoincrement=False, nullable=False),
        sa.Column("screened", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hits", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("error", sa.Text(), autoincrement=False, nullable=True),
        sa.Column(
            "started_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "finished_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_run")),
    )
    with op.batch_alter_table("screening_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screening_run_started_at"), ["started_at"], unique=False)

    op.create_table(
        "specialty",
        sa.Column("slug", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), autoincrement=False, nullable=False),
        sa.Column(
            "nucc_codes",
            postgresql.ARRAY(sa.String(length=10)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "boards",
            postgresql.ARRAY(sa.String(length=16)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("similarity_group", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("physician", sa.Boolean(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_specialty")),
    )
    with op.batch_alter_table("specialty", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_specialty_similarity_group"), ["similarity_group"], unique=False)

    op.create_table(
        "state_rule",
        sa.Column("state", sa.String(length=2), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("requires_in_state_license", sa.Boolean(), autoincrement=False, nullable=False),
        sa.Column(
            "review_types",
            postgresql.ARRAY(sa.String(length=16)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "license_types",
            postgresql.ARRAY(sa.String(length=2)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("citation", sa.Text(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_state_rule")),
    )
    op.create_table(
        "alert",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column(
            "physician",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.Column("subject_type", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("subject_id", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("threshold", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("due_on", sa.Date(), autoincrement=False, nullable=True),
        sa.Column("status", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("detail", sa.JSON(), autoincrement=False, nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "acknowledged_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.Column("acknowledged_by", sa.String(length=100), autoincrement=False, nullable=True),
        sa.ForeignKeyConstraint(
            ["physician"],
            ["physician.id"],
            name=op.f("fk_alert_physician_physician"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("kind", "subject_id", "threshold", name=op.f("uq_alert_kind_subject_id_threshold")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_physician"), ["physician"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_status"), ["status"], unique=False)

    op.create_table(
        "assignment",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("case_id", sa.String(length=100), autoincrement=False, nullable=False),
        sa.Column(
            "physician",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("state", sa.String(length=2), autoincrement=False, nullable=False),
        sa.Column("line_of_business", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("specialty", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("review_type", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("prior_reviewer_ids", sa.JSON(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("evidence", sa.JSON(), autoincrement=False, nullable=False),
        sa.Column(
            "due_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.Column("created_by", sa.String(length=100), autoincrement=False, nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "closed_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["physician"],
            ["physician.id"],
            name=op.f("fk_assignment_physician_physician"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignment_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignment_physician"), ["physician"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignment_status"), ["status"], unique=False)

    op.create_table(
        "certification",
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
        sa.Column("board", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("specialty", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("certified_on", sa.Date(), autoincrement=False, nullable=False),
        sa.Column("expires_on", sa.Date(), autoincrement=False, nullable=True),
        sa.Column("time_unlimited", sa.Boolean(), autoincrement=False, nullable=False),
        sa.Column("moc_status", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("verified_on", sa.Date(), autoincrement=False, nullable=True),
        sa.Column("verification_source", sa.String(length=100), autoincrement=False, nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["physician"],
            ["physician.id"],
            name=op.f("fk_certification_physician_physician"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification")),
        sa.UniqueConstraint("physician", "board", "specialty", name=op.f("uq_certification_physician_board_specialty")),
    )
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certification_expires_on"), ["expires_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_certification_physician"), ["physician"], unique=False)

    op.create_table(
        "license",
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
        sa.Column("state", sa.String(length=2), autoincrement=False, nullable=False),
        sa.Column("number", sa.String(length=40), autoincrement=False, nullable=False),
        sa.Column("license_type", sa.String(length=2), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("restricted", sa.Boolean(), autoincrement=False, nullable=False),
        sa.Column("issued_on", sa.Date(), autoincrement=False, nullable=False),
        sa.Column("expires_on", sa.Date(), autoincrement=False, nullable=False),
        sa.Column("verified_on", sa.Date(), autoincrement=False, nullable=True),
        sa.Column("verification_source", sa.String(length=100), autoincrement=False, nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["physician"],
            ["physician.id"],
            name=op.f("fk_license_physician_physician"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license")),
        sa.UniqueConstraint("physician", "state", "number", name=op.f("uq_license_physician_state_number")),
    )
    with op.batch_alter_table("license", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_license_expires_on"), ["expires_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_license_physician"), ["physician"], unique=False)
        batch_op.create_index(batch_op.f("ix_license_state"), ["state"], unique=False)

    op.create_table(
        "screening_hit",
        sa.Column(
            "id",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "run",
            sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "snapshot",
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
        sa.Column("source", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("record_key", sa.String(length=200), autoincrement=False, nullable=False),
        sa.Column("record_hash", sa.String(length=64), autoincrement=False, nullable=False),
        sa.Column("match_kind", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("score", sa.REAL(), autoincrement=False, nullable=False),
        sa.Column(
            "matched_fields",
            postgresql.ARRAY(sa.String(length=32)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("record", sa.JSON(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), autoincrement=False, nullable=False),
        sa.Column("decided_by", sa.String(length=100), autoincrement=False, nullable=True),
        sa.Column(
            "decided_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=True,
        ),
        sa.Column("note", sa.Text(), autoincrement=False, nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["physician"],
            ["physician.id"],
            name=op.f("fk_screening_hit_physician_physician"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["run"],
            ["screening_run.id"],
            name=op.f("fk_screening_hit_run_screening_run"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot"],
            ["list_snapshot.id"],
            name=op.f("fk_screening_hit_snapshot_list_snapshot"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_hit")),
        sa.UniqueConstraint(
            "physician",
            "source",
            "record_key",
            "record_hash",
            name=op.f("uq_screening_hit_physician_source_record_key_record_hash"),
        ),
    )
    with op.batch_alter_table("screening_hit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screening_hit_physician"), ["physician"], unique=False)
        batch_op.create_index(batch_op.f("ix_screening_hit_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screening_hit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_hit_status"))
        batch_op.drop_index(batch_op.f("ix_screening_hit_physician"))

    op.drop_table("screening_hit")
    with op.batch_alter_table("license", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_license_state"))
        batch_op.drop_index(batch_op.f("ix_license_physician"))
        batch_op.drop_index(batch_op.f("ix_license_expires_on"))

    op.drop_table("license")
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certification_physician"))
        batch_op.drop_index(batch_op.f("ix_certification_expires_on"))

    op.drop_table("certification")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_status"))
        batch_op.drop_index(batch_op.f("ix_assignment_physician"))
        batch_op.drop_index(batch_op.f("ix_assignment_case_id"))

    op.drop_table("assignment")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_status"))
        batch_op.drop_index(batch_op.f("ix_alert_physician"))
        batch_op.drop_index(batch_op.f("ix_alert_kind"))

    op.drop_table("alert")
    op.drop_table("state_rule")
    with op.batch_alter_table("specialty", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_specialty_similarity_group"))

    op.drop_table("specialty")
    with op.batch_alter_table("screening_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_run_started_at"))

    op.drop_table("screening_run")
    with op.batch_alter_table("record_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_version_recorded_from"))
        batch_op.drop_index(batch_op.f("ix_record_version_physician_id"))
        batch_op.drop_index(batch_op.f("ix_record_version_entity_id"))

    op.drop_table("record_version")
    with op.batch_alter_table("physician", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_physician_status"))
        batch_op.drop_index(batch_op.f("ix_physician_last_name"))

    op.drop_table("physician")
    with op.batch_alter_table("list_snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_list_snapshot_source"))
        batch_op.drop_index(batch_op.f("ix_list_snapshot_loaded_at"))

    op.drop_table("list_snapshot")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_run_started_at"))
        batch_op.drop_index(batch_op.f("ix_job_run_job"))

    op.drop_table("job_run")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_entity_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_entity"))

    op.drop_table("audit_event")
    op.drop_table("api_key")
