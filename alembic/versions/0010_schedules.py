"""Schedules (issue 14): physicians' time zones, working hours, time off, holidays, on-call rotations.

``physician.time_zone`` is an IANA zone; the rows already there get the organization's
(``ROSTER_DEFAULT_TIME_ZONE``, default ``America/New_York``, read when the migration runs), and so do
their recorded versions, so that an as-of replay reads a physician's file in the new shape. The US
federal holidays of 2026 and 2027 are loaded from ``fixtures/holidays_us_federal.csv`` (observed
dates, 5 U.S.C. 6103); the downgrade removes the tables and the column again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00.000000
"""

import csv
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

import roster.db.schema
from roster.config import PROJECT_ROOT, env_default_time_zone

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOLIDAYS = PROJECT_ROOT / "fixtures" / "holidays_us_federal.csv"


def _uuid() -> sa.types.TypeEngine:
    return sa.Uuid().with_variant(roster.db.schema.SqliteDeclType("UUID"), "sqlite")


def _timestamptz() -> sa.types.TypeEngine:
    return sa.TIMESTAMP(timezone=True).with_variant(roster.db.schema.SqliteDeclType("TIMESTAMPTZ"), "sqlite")


def _array(length: int) -> sa.types.TypeEngine:
    from sqlalchemy.dialects import postgresql

    return postgresql.ARRAY(sa.String(length=length)).with_variant(roster.db.schema.SqliteDeclType("ARRAY"), "sqlite")


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


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def _holidays(sqlite: bool) -> list[dict[str, object]]:
    """The rows to load; on SQLite the UUID and TIMESTAMPTZ cells as Piccolo writes them (text)."""
    now = datetime.now(UTC)
    with HOLIDAYS.open(newline="", encoding="utf-8") as handle:
        return [
            {
                "id": str(new_id) if sqlite else new_id,
                "day": date.fromisoformat(row["date"]),
                "name": row["name"],
                "created_at": str(now) if sqlite else now,
            }
            for row in csv.DictReader(handle)
            for new_id in (uuid.uuid4(),)
        ]


def upgrade() -> None:
    zone = env_default_time_zone()
    with op.batch_alter_table("physician", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), server_default=zone, autoincrement=False, nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            sa.text(
                "UPDATE record_version SET data = (data::jsonb || jsonb_build_object('time_zone', "
                "CAST(:zone AS text)))::json WHERE entity = 'physician'"
            ).bindparams(zone=zone)
        )
    else:
        op.execute(
            sa.text(
                "UPDATE record_version SET data = json_set(data, '$.time_zone', :zone) WHERE entity = 'physician'"
            ).bindparams(zone=zone)
        )

    op.create_table(
        "working_hours",
        _column("id", _uuid()),
        _column("physician", _uuid()),
        _column("weekdays", _array(3)),
        _column("start_time", sa.String(length=5)),
        _column("end_time", sa.String(length=5)),
        _column("effective_from", sa.Date(), nullable=True),
        _column("effective_until", sa.Date(), nullable=True),
        _column("created_at", _timestamptz()),
        _fk("working_hours", "physician", "physician"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_hours")),
    )
    _indexes("working_hours", "physician")

    op.create_table(
        "time_off",
        _column("id", _uuid()),
        _column("physician", _uuid()),
        _column("starts_at", _timestamptz()),
        _column("ends_at", _timestamptz()),
        _column("reason", sa.String(length=16)),
        _column("created_at", _timestamptz()),
        _fk("time_off", "physician", "physician"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off")),
    )
    _indexes("time_off", "physician", "starts_at")

    holiday = op.create_table(
        "holiday",
        _column("id", _uuid()),
        _column("day", sa.Date()),
        _column("name", sa.String(length=100)),
        _column("created_at", _timestamptz()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday")),
        sa.UniqueConstraint("day", name=op.f("uq_holiday_day")),
    )

    op.create_table(
        "rotation",
        _column("id", _uuid()),
        _column("name", sa.String(length=100)),
        _column("time_zone", sa.String(length=64)),
        _column("case_state", sa.String(length=2), nullable=True),
        _column("case_line_of_business", sa.String(length=32), nullable=True),
        _column("case_specialty", sa.String(length=64), nullable=True),
        _column("case_review_type", sa.String(length=16), nullable=True),
        _column("created_at", _timestamptz()),
        _column("updated_at", _timestamptz()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation")),
    )

    op.create_table(
        "rotation_layer",
        _column("id", _uuid()),
        _column("rotation", _uuid()),
        _column("position", sa.Integer()),
        _column("name", sa.String(length=100)),
        _column("priority", sa.Integer()),
        _column("members", _array(36)),
        _column("handoff_time", sa.String(length=5)),
        _column("shift_hours", sa.Integer()),
        _column("starts_on", sa.Date()),
        _fk("rotation_layer", "rotation", "rotation"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation_layer")),
        sa.UniqueConstraint("rotation", "name", name=op.f("uq_rotation_layer_rotation_name")),
    )
    _indexes("rotation_layer", "rotation")

    op.create_table(
        "rotation_override",
        _column("id", _uuid()),
        _column("rotation", _uuid()),
        _column("physician", _uuid()),
        _column("starts_at", _timestamptz()),
        _column("ends_at", _timestamptz()),
        _column("created_at", _timestamptz()),
        _fk("rotation_override", "physician", "physician"),
        _fk("rotation_override", "rotation", "rotation"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation_override")),
    )
    _indexes("rotation_override", "physician", "rotation", "starts_at")

    op.bulk_insert(holiday, _holidays(op.get_bind().dialect.name == "sqlite"))


def downgrade() -> None:
    for table, columns in (
        ("rotation_override", ("starts_at", "rotation", "physician")),
        ("rotation_layer", ("rotation",)),
        ("time_off", ("starts_at", "physician")),
        ("working_hours", ("physician",)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
    for table in ("rotation_override", "rotation_layer", "rotation", "holiday", "time_off", "working_hours"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE record_version SET data = (data::jsonb - 'time_zone')::json WHERE entity = 'physician'")
    else:
        op.execute("UPDATE record_version SET data = json_remove(data, '$.time_zone') WHERE entity = 'physician'")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as in 0003.
    op.drop_column("physician", "time_zone")
