from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.postgres import PostgresEngine
from piccolo.query.functions.aggregate import Count
from piccolo.query.methods.select import Select

from roster.alerts.tables import Alert, AlertDelivery
from roster.physicians.tables import Physician

_COLUMNS = (
    Alert.id,
    Alert.kind,
    Alert.physician.as_alias("physician_id"),
    Alert.subject_type,
    Alert.subject_id,
    Alert.threshold,
    Alert.due_on,
    Alert.status,
    Alert.detail,
    Alert.created_at,
    Alert.acknowledged_at,
    Alert.acknowledged_by,
)
#: Who an alert is about, for messages read by people (digest lines).
_PHYSICIAN = (
    Alert.physician.first_name.as_alias("physician_first_name"),
    Alert.physician.last_name.as_alias("physician_last_name"),
    Alert.physician.npi.as_alias("physician_npi"),
)
_CHUNK = 500


async def insert_if_new(rows: list[dict[str, Any]]) -> None:
    """Insert alerts, skipping any whose (kind, subject_id, threshold) already exists.

    The unique key, not a lock, makes raising an alert idempotent across runs and workers.
    """
    if not rows:
        return
    await (
        Alert.insert(*(Alert(**row) for row in rows))
        .on_conflict(target=(Alert.kind, Alert.subject_id, Alert.threshold), action="DO NOTHING")
        .run()
    )


async def get(alert_id: UUID) -> dict[str, Any] | None:
    return await Alert.select(*_COLUMNS).where(Alert.id == alert_id).output(load_json=True).first().run()


async def page(
    *,
    status: str | None,
    kind: str | None,
    physician_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = Alert.select(*_COLUMNS).output(load_json=True)
    if status is not None:
        query = query.where(Alert.status == status)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if physician_id is not None:
        query = query.where(Alert.physician == physician_id)
    if after is not None:
        at, last_id = after
        query = query.where((Alert.created_at < at) | ((Alert.created_at == at) & (Alert.id < last_id)))
    return await query.order_by(Alert.created_at, Alert.id, ascending=False).limit(limit).run()


async def acknowledge(alert_id: UUID, *, at: datetime, by: str) -> bool:
    """Acknowledge an open alert; False when it was not open (someone else got there first)."""
    changed = await (
        Alert.update({Alert.status: "acknowledged", Alert.acknowledged_at: at, Alert.acknowledged_by: by})
        .where((Alert.id == alert_id) & (Alert.status == "open"))
        .returning(Alert.id)
        .run()
    )
    return bool(changed)


def _delivered_to(channel: str, target: str) -> Select:
    """Sub-select of the alerts already delivered to ``target``; NULL alerts are excluded, since one
    NULL in a ``NOT IN`` list makes the whole test unknown and would hide every alert."""
    return AlertDelivery.select(AlertDelivery.alert).where(
        (AlertDelivery.channel == channel)
        & (AlertDelivery.target == target)
        & (AlertDelivery.delivered == True)  # noqa: E712 - a SQL comparison, not a Python one
        & AlertDelivery.alert.is_not_null()
    )


async def undelivered(channel: str, target: str, *, open_only: bool) -> list[dict[str, Any]]:
    """Alerts never delivered to ``target`` over ``channel``, oldest first, with who they are about."""
    query = (
        Alert.select(*_COLUMNS, *_PHYSICIAN)
        .where(Alert.id.not_in(_delivered_to(channel, target)))
        .output(load_json=True)
    )
    if open_only:
        query = query.where(Alert.status == "open")
    return await query.order_by(Alert.created_at, Alert.id).run()


async def attempts_so_far(channel: str, target: str, alert_ids: list[UUID]) -> dict[UUID, int]:
    """How many delivery attempts each alert already had at ``target`` (for numbering the next one)."""
    counts: dict[UUID, int] = {}
    for start in range(0, len(alert_ids), _CHUNK):
        rows = await (
            AlertDelivery.select(AlertDelivery.alert, Count(alias="attempts"))
            .where(
                (AlertDelivery.channel == channel)
                & (AlertDelivery.target == target)
                & AlertDelivery.alert.is_in(alert_ids[start : start + _CHUNK])
            )
            .group_by(AlertDelivery.alert)
            .run()
        )
        counts.update({row["alert"]: row["attempts"] for row in rows})
    return counts


async def insert_deliveries(rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        await AlertDelivery.insert(*(AlertDelivery(**row) for row in rows[start : start + _CHUNK])).run()


async def deliveries(*, channel: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
    """Recorded attempts in the order they were made (operators' and tests' view of the delivery log)."""
    query = AlertDelivery.select()
    if channel is not None:
        query = query.where(AlertDelivery.channel == channel)
    if target is not None:
        query = query.where(AlertDelivery.target == target)
    return await query.order_by(AlertDelivery.attempted_at, AlertDelivery.attempt).run()


# -- the expiration sweep (roster.alerts.sweep) ---------------------------------------------


#: Alert columns in insert order, for :func:`insert_new`'s bulk insert.
_INSERT_COLUMNS = (
    "id",
    "kind",
    "physician",
    "subject_type",
    "subject_id",
    "threshold",
    "due_on",
    "status",
    "detail",
    "created_at",
    "acknowledged_at",
    "acknowledged_by",
)
_PG_TYPES = (
    "uuid",
    "text",
    "uuid",
    "text",
    "text",
    "text",
    "date",
    "text",
    "json",
    "timestamptz",
    "timestamptz",
    "text",
)
_CONFLICT = " ON CONFLICT (kind, subject_id, threshold) DO NOTHING"


async def insert_new(rows: list[dict[str, Any]]) -> int:
    """Like :func:`insert_if_new` for a sweep's batch, returning how many alerts were actually new.

    Runs inside ``write_tx`` on the transaction's own driver connection: building a Piccolo
    ``Table`` object and query string per row costs far more than the database's work (about
    0.5 ms a row, 25 s for a 50k-physician roster). Values are bound exactly as Piccolo binds
    them (its SQLite adapters are process-wide; asyncpg encodes natively).
    """
    if not rows:
        return 0
    engine = Alert._meta.db
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("insert_new must run inside write_tx")
    columns = ", ".join(_INSERT_COLUMNS)
    records = [
        tuple(msgspec.json.encode(row[c]).decode() if c == "detail" else row[c] for c in _INSERT_COLUMNS)
        for row in rows
    ]
    if isinstance(engine, PostgresEngine):
        arrays = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(_PG_TYPES, start=1))
        inserted = await transaction.connection.fetch(
            f"INSERT INTO alert ({columns}) SELECT * FROM unnest({arrays}){_CONFLICT} RETURNING id",
            *(list(column) for column in zip(*records, strict=True)),
        )
        return len(inserted)
    slots = ", ".join("?" * len(_INSERT_COLUMNS))
    before = transaction.connection.total_changes
    await transaction.connection.executemany(f"INSERT INTO alert ({columns}) VALUES ({slots}){_CONFLICT}", records)
    return transaction.connection.total_changes - before


async def sweep_licenses(horizon: date) -> list[dict[str, Any]]:
    """Licenses of active physicians expiring on or before ``horizon`` (expired ones included),
    shaped as ``alerts.rules.LicenseFacts``."""
    from roster.licenses.tables import License

    return await (
        License.select(
            License.id,
            License.physician.as_alias("physician_id"),
            License.state,
            License.number,
            License.status,
            License.expires_on,
        )
        .where((License.physician._.status == "active") & (License.expires_on <= horizon))
        .run()
    )


async def sweep_certifications(horizon: date) -> list[dict[str, Any]]:
    """Time-limited certifications of active physicians ending by ``horizon``, or not meeting MOC,
    shaped as ``alerts.rules.CertificationFacts``."""
    from roster.certifications.tables import Certification

    return await (
        Certification.select(
            Certification.id,
            Certification.physician.as_alias("physician_id"),
            Certification.board,
            Certification.specialty,
            Certification.status,
            Certification.expires_on,
            Certification.time_unlimited,
            Certification.moc_status,
        )
        .where(
            (Certification.physician._.status == "active")
            & (Certification.time_unlimited == False)  # noqa: E712 (a Piccolo expression, not a comparison)
            & ((Certification.expires_on <= horizon) | (Certification.moc_status == "not_meeting"))
        )
        .run()
    )


async def sweep_physicians(credentialed_by: date, irr_passed_by: date) -> list[dict[str, Any]]:
    """Active physicians credentialed on or before ``credentialed_by`` or IRR-tested on or before
    ``irr_passed_by``, shaped as ``alerts.rules.PhysicianFacts``."""
    from roster.physicians.tables import Physician

    return await (
        Physician.select(Physician.id, Physician.credentialed_on, Physician.irr_passed_on)
        .where(
            (Physician.status == "active")
            & ((Physician.credentialed_on <= credentialed_by) | (Physician.irr_passed_on <= irr_passed_by))
        )
        .run()
    )


async def existing_keys(kinds: list[str]) -> set[tuple[str, str, str]]:
    """(kind, subject_id, threshold) of every alert of ``kinds``: what a sweep need not insert again."""
    rows = await Alert.select(Alert.kind, Alert.subject_id, Alert.threshold).where(Alert.kind.is_in(kinds)).run()
    return {(row["kind"], row["subject_id"], row["threshold"]) for row in rows}


async def open_counts_by_kind() -> dict[str, int]:
    """Open alerts per kind (kinds with none left out)."""
    rows = await Alert.select(Alert.kind, Count(alias="n")).where(Alert.status == "open").group_by(Alert.kind).run()
    return {row["kind"]: int(row["n"]) for row in rows}


async def physician_names(physician_ids: list[UUID]) -> dict[UUID, str]:
    """ "First Last" of the physicians some alerts are about (a page of them, in one query)."""
    if not physician_ids:
        return {}
    rows = await (
        Physician.select(Physician.id, Physician.first_name, Physician.last_name)
        .where(Physician.id.is_in(physician_ids))
        .run()
    )
    return {UUID(str(r["id"])): f"{r['first_name']} {r['last_name']}" for r in rows}


# -- the clock's alerts (roster.alerts.clock_sweep) -------------------------------------------


async def open_assignments_with_due(physician_id: UUID | None = None) -> list[dict[str, Any]]:
    """Every open assignment with a due time (of ``physician_id`` alone, when given), shaped as
    ``alerts.clock_rules.AssignmentFacts``."""
    from roster.assignments.tables import Assignment

    where = (Assignment.status == "open") & Assignment.due_at.is_not_null()
    if physician_id is not None:
        where &= Assignment.physician == physician_id
    return await (
        Assignment.select(
            Assignment.id,
            Assignment.physician.as_alias("physician_id"),
            Assignment.case_id,
            Assignment.review_type,
            Assignment.urgency,
            Assignment.due_at,
        )
        .where(where)
        .order_by(Assignment.due_at, Assignment.id)
        .run()
    )


async def alerts_raised_since(kind: str, since: datetime) -> list[dict[str, Any]]:
    """Alerts of ``kind`` raised at or after ``since`` (any status): subject, physician and detail."""
    return await (
        Alert.select(Alert.subject_id, Alert.physician.as_alias("physician_id"), Alert.detail)
        .where((Alert.kind == kind) & (Alert.created_at >= since))
        .output(load_json=True)
        .run()
    )


async def active_physician_ids() -> list[UUID]:
    rows = await Physician.select(Physician.id).where(Physician.status == "active").order_by(Physician.id).run()
    return [row["id"] for row in rows]


async def policy_updates_due(first: date, last: date) -> list[dict[str, Any]]:
    """Policy updates whose attest-by date is in ``[first, last]``, shaped as ``clock_rules.PolicyUpdateFacts``."""
    from roster.credentialing.tables import PolicyUpdate

    return await (
        PolicyUpdate.select(PolicyUpdate.id, PolicyUpdate.title, PolicyUpdate.effective_on, PolicyUpdate.attest_by)
        .where((PolicyUpdate.attest_by >= first) & (PolicyUpdate.attest_by <= last))
        .run()
    )


async def attestations_of(update_ids: list[UUID]) -> list[dict[str, Any]]:
    """(``update_id``, ``physician_id``) of every attestation of ``update_ids``."""
    from roster.credentialing.tables import PolicyAttestation

    rows: list[dict[str, Any]] = []
    for start in range(0, len(update_ids), _CHUNK):
        rows += await (
            PolicyAttestation.select(
                PolicyAttestation.policy_update.as_alias("update_id"),
                PolicyAttestation.physician.as_alias("physician_id"),
            )
            .where(PolicyAttestation.policy_update.is_in(update_ids[start : start + _CHUNK]))
            .run()
        )
    return rows


async def cme_credits_between(first: date, last: date) -> list[dict[str, Any]]:
    """Credits of active physicians completed in ``[first, last]``: physician, date and hours."""
    from roster.credentialing.tables import CmeCredit

    return await (
        CmeCredit.select(CmeCredit.physician.as_alias("physician_id"), CmeCredit.completed_on, CmeCredit.hours)
        .where(
            (CmeCredit.physician._.status == "active")
            & (CmeCredit.completed_on >= first)
            & (CmeCredit.completed_on <= last)
        )
        .run()
    )


async def held_license_states(today: date, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    """(``physician_id``, ``state``) of every license of an active physician of ``statuses`` not expired on
    ``today`` (whose state's CME rule applies to them)."""
    from roster.licenses.tables import License

    return await (
        License.select(License.physician.as_alias("physician_id"), License.state)
        .where(
            (License.physician._.status == "active")
            & License.status.is_in(list(statuses))
            & (License.expires_on >= today)
        )
        .run()
    )
