"""Every expirations-report query lives here: each one pre-filters by date in the database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from roster.assignments.tables import Assignment
from roster.certifications.tables import Certification
from roster.history.tables import ROSTER, RecordVersion, RosterVersion
from roster.licenses.tables import License
from roster.physicians.tables import Physician
from roster.screening.tables import ListSnapshot, ScreeningHit, ScreeningRun

_NOT_RENEWED = ["revoked", "inactive"]


def _holder(fk: Any) -> tuple[Any, ...]:
    return (
        fk.id.as_alias("physician_id"),
        fk.npi.as_alias("npi"),
        fk.first_name.as_alias("first_name"),
        fk.middle_name.as_alias("middle_name"),
        fk.last_name.as_alias("last_name"),
        fk.suffix.as_alias("suffix"),
    )


async def licenses_lapsing_by(through: date) -> list[dict[str, Any]]:
    """Licenses of active physicians that end on or before ``through`` (overdue ones included)."""
    return (
        await License.select(
            License.id,
            License.state,
            License.number,
            License.status,
            License.restricted,
            License.issued_on,
            License.expires_on,
            *_holder(License.physician),
        )
        .where(
            (License.physician.status == "active")
            & (License.expires_on <= through)
            & License.status.not_in(_NOT_RENEWED)
        )
        .run()
    )


async def certifications_lapsing_by(through: date) -> list[dict[str, Any]]:
    """Time-limited certificates of active physicians ending on or before ``through``."""
    return (
        await Certification.select(
            Certification.id,
            Certification.board,
            Certification.specialty,
            Certification.status,
            Certification.certified_on,
            Certification.expires_on,
            Certification.time_unlimited,
            Certification.moc_status,
            *_holder(Certification.physician),
        )
        .where(
            (Certification.physician.status == "active")
            & (Certification.time_unlimited == False)  # noqa: E712 - a Piccolo expression, not a comparison
            & Certification.expires_on.is_not_null()
            & (Certification.expires_on <= through)
            & Certification.status.not_in(_NOT_RENEWED)
        )
        .run()
    )


async def cycles_due_by(credentialed_by: date, irr_by: date) -> list[dict[str, Any]]:
    """Active physicians whose recredentialing or IRR may fall due in the window, or was never done."""
    return (
        await Physician.select(
            Physician.id.as_alias("physician_id"),
            Physician.npi,
            Physician.first_name,
            Physician.middle_name,
            Physician.last_name,
            Physician.suffix,
            Physician.credentialed_on,
            Physician.irr_passed_on,
        )
        .where(
            (Physician.status == "active")
            & (
                Physician.credentialed_on.is_null()
                | (Physician.credentialed_on <= credentialed_by)
                | Physician.irr_passed_on.is_null()
                | (Physician.irr_passed_on <= irr_by)
            )
        )
        .run()
    )


async def roster_version() -> int | None:
    """The counter every roster write bumps (``write_tx``): unchanged means the report's inputs are too."""
    row = await RosterVersion.select(RosterVersion.version).where(RosterVersion.id == ROSTER).first().run()
    return None if row is None else int(row["version"])


# -- ongoing monitoring (rules.md §6) ------------------------------------------------------------


async def physicians_on_roster() -> list[dict[str, Any]]:
    """Every physician with when it joined and its status now."""
    return await Physician.select(Physician.id, Physician.created_at, Physician.status).run()


async def physician_statuses(physician_ids: list[Any]) -> list[dict[str, Any]]:
    """The recorded status of each version of these physicians, oldest first (when each went inactive)."""
    if not physician_ids:
        return []
    return (
        await RecordVersion.select(RecordVersion.physician_id, RecordVersion.recorded_from, RecordVersion.data)
        .where((RecordVersion.entity == "physician") & RecordVersion.physician_id.is_in(physician_ids))
        .order_by(RecordVersion.physician_id)
        .order_by(RecordVersion.recorded_from)
        .run()
    )


async def succeeded_runs_between(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Screening runs that finished, started in ``[start, end)``, with the snapshot each source used."""
    return (
        await ScreeningRun.select(ScreeningRun.started_at, ScreeningRun.snapshots)
        .where(
            (ScreeningRun.status == "succeeded") & (ScreeningRun.started_at >= start) & (ScreeningRun.started_at < end)
        )
        .run()
    )


async def snapshot_loaded_at(snapshot_ids: list[Any]) -> dict[str, datetime]:
    if not snapshot_ids:
        return {}
    rows = (
        await ListSnapshot.select(ListSnapshot.id, ListSnapshot.loaded_at)
        .where(ListSnapshot.id.is_in(snapshot_ids))
        .run()
    )
    return {str(row["id"]): row["loaded_at"] for row in rows}


# -- UM decision audit ---------------------------------------------------------------------------


async def completed_between(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Assignments completed (closed as ``completed``) in ``[start, end)``, with the evidence they recorded."""
    return (
        await Assignment.select(
            Assignment.id,
            Assignment.case_id,
            Assignment.physician.as_alias("physician_id"),
            Assignment.state,
            Assignment.line_of_business,
            Assignment.specialty,
            Assignment.review_type,
            Assignment.evidence,
            Assignment.created_at,
        )
        .where((Assignment.status == "completed") & (Assignment.closed_at >= start) & (Assignment.closed_at < end))
        .order_by(Assignment.created_at)
        .order_by(Assignment.id)
        .output(load_json=True)
        .run()
    )


async def hits_raised_before(end: datetime) -> list[dict[str, Any]]:
    """Every screening hit raised before ``end``: whose, on which list, and how it was decided when."""
    return (
        await ScreeningHit.select(
            ScreeningHit.physician.as_alias("physician_id"),
            ScreeningHit.source,
            ScreeningHit.status,
            ScreeningHit.created_at,
            ScreeningHit.decided_at,
        )
        .where(ScreeningHit.created_at < end)
        .run()
    )
