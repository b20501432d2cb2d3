"""Every query matching needs: the roster in bulk (now or as recorded at a past instant), the version
counter, and open-assignment counts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from piccolo.query.functions.aggregate import Count

from roster.assignments.tables import Assignment
from roster.certifications.tables import Certification
from roster.db.engine import read_values_by_key
from roster.history.tables import ASSIGNMENTS, ROSTER, RecordVersion
from roster.licenses.tables import License
from roster.physicians.tables import Physician
from roster.screening.tables import ListSnapshot, ScreeningHit, ScreeningRun

PHYSICIAN_COLUMNS = (
    Physician.id,
    Physician.npi,
    Physician.first_name,
    Physician.last_name,
    Physician.status,
    Physician.npi_status,
    Physician.clinical_practice_start,
    Physician.credentialed_on,
    Physician.irr_passed_on,
    Physician.lines_of_business,
    Physician.specialties,
    Physician.languages,
    Physician.max_open_cases,
    Physician.created_at,
)
LICENSE_COLUMNS = (
    License.id,
    License.physician.as_alias("physician_id"),
    License.state,
    License.number,
    License.status,
    License.restricted,
    License.issued_on,
    License.expires_on,
)
CERTIFICATION_COLUMNS = (
    Certification.id,
    Certification.physician.as_alias("physician_id"),
    Certification.board,
    Certification.specialty,
    Certification.status,
    Certification.certified_on,
    Certification.expires_on,
    Certification.time_unlimited,
    Certification.moc_status,
)


_FRESHNESS = (
    f"SELECT (SELECT version FROM roster_version WHERE id = {ROSTER}) AS roster, "
    f"(SELECT version FROM roster_version WHERE id = {ASSIGNMENTS}) AS assignments"
)


async def freshness() -> tuple[int | None, int | None]:
    """One round trip per match, by primary key whatever the roster's size and history: the roster
    version, and the assignments' (cached open-case counts are reused only while it holds)."""
    roster, assignments = (await read_values_by_key(_FRESHNESS))[0]
    return _int(roster), _int(assignments)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


class RosterChanges(NamedTuple):
    """What the roster versions after an index's own recorded (see :func:`roster_changes_since`)."""

    #: The versions that recorded a physician, license or certification write, a hit decision or a run.
    versions: set[int]
    #: The physicians those writes and decisions touched.
    physicians: set[UUID]
    #: Whether a screening run is among them (it changes every physician's screening).
    screening_run: bool


async def roster_changes_since(version: int, limit: int) -> RosterChanges | None:
    """The roster versions after ``version`` that recorded a physician, license or certification write, a
    hit decision or a screening run; None when there are more than ``limit`` (version, physician) pairs."""
    records = (
        await RecordVersion.select(RecordVersion.roster_version, RecordVersion.physician_id.as_alias("physician"))
        .where(RecordVersion.roster_version > version)
        .distinct()
        .limit(limit + 1)
        .run()
    )
    if len(records) > limit:
        return None
    decisions = (
        await ScreeningHit.select(ScreeningHit.roster_version, ScreeningHit.physician)
        .where(ScreeningHit.roster_version > version)
        .distinct()
        .limit(limit + 1 - len(records))
        .run()
    )
    rows = [*records, *decisions]
    if len({(r["roster_version"], str(r["physician"])) for r in rows}) > limit:
        return None
    runs = await ScreeningRun.select(ScreeningRun.roster_version).where(ScreeningRun.roster_version > version).run()
    return RosterChanges(
        versions={int(r["roster_version"]) for r in [*rows, *runs]},
        physicians={_uuid(r["physician"]) for r in rows},
        screening_run=bool(runs),
    )


async def physicians_hit_by(run_ids: Collection[str], limit: int) -> set[UUID] | None:
    """The physicians the runs found hits on (the only ones a run can make ineligible); None when there
    are more than ``limit``."""
    if not run_ids:
        return set()
    rows = (
        await ScreeningHit.select(ScreeningHit.physician)
        .where(ScreeningHit.run.is_in([_uuid(run) for run in run_ids]))
        .distinct()
        .limit(limit + 1)
        .run()
    )
    return None if len(rows) > limit else {_uuid(r["physician"]) for r in rows}


async def joined_roster() -> list[dict[str, Any]]:
    """Every physician's id and when they joined the roster: what a run's screening depends on."""
    return await Physician.select(Physician.id, Physician.created_at).run()


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


async def physicians(ids: Collection[UUID] | None = None) -> list[dict[str, Any]]:
    query = Physician.select(*PHYSICIAN_COLUMNS)
    if ids is not None:
        query = query.where(Physician.id.is_in(list(ids)))
    return await query.run()


async def lock_physician(physician_id: UUID) -> bool:
    """Hold the physician's row until the transaction ends (PostgreSQL ``FOR UPDATE``), so two
    assignments to the same reviewer are decided one after the other. SQLite's IMMEDIATE write
    transaction already serialises writers."""
    from roster.db.engine import current_engine

    query = Physician.select(Physician.id).where(Physician.id == physician_id)
    if current_engine().engine_type == "postgres":
        query = query.lock_rows("UPDATE")
    return bool(await query.run())


async def licenses(physician_ids: Collection[UUID] | None = None) -> list[dict[str, Any]]:
    query = License.select(*LICENSE_COLUMNS)
    if physician_ids is not None:
        query = query.where(License.physician.is_in(list(physician_ids)))
    return await query.run()


async def certifications(physician_ids: Collection[UUID] | None = None) -> list[dict[str, Any]]:
    query = Certification.select(*CERTIFICATION_COLUMNS)
    if physician_ids is not None:
        query = query.where(Certification.physician.is_in(list(physician_ids)))
    return await query.run()


async def versions_at(at: datetime, physician_id: UUID | None = None) -> list[dict[str, Any]]:
    """Every record version in force at ``at`` (all physicians, or one), deletions excluded."""
    where = (
        (RecordVersion.recorded_from <= at)
        & (RecordVersion.recorded_to.is_null() | (RecordVersion.recorded_to > at))
        & (RecordVersion.deleted == False)  # noqa: E712 - a SQL comparison, not a Python one
    )
    if physician_id is not None:
        where &= RecordVersion.physician_id == physician_id
    return (
        await RecordVersion.select(RecordVersion.entity, RecordVersion.physician_id, RecordVersion.data)
        .where(where)
        .output(load_json=True)
        .run()
    )


async def screening_runs_by(at: datetime) -> list[dict[str, Any]]:
    """Succeeded runs finished by ``at``, newest first."""
    return (
        await ScreeningRun.select(
            ScreeningRun.id, ScreeningRun.sources, ScreeningRun.snapshots, ScreeningRun.started_at
        )
        .where((ScreeningRun.status == "succeeded") & (ScreeningRun.finished_at <= at))
        .order_by(ScreeningRun.finished_at, ascending=False)
        .output(load_json=True)
        .run()
    )


async def snapshots(ids: list[UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return (
        await ListSnapshot.select(ListSnapshot.id, ListSnapshot.source, ListSnapshot.sha256, ListSnapshot.loaded_at)
        .where(ListSnapshot.id.is_in(ids))
        .run()
    )


async def open_hits_at(at: datetime, physician_ids: Collection[UUID] | None = None) -> list[dict[str, Any]]:
    """Hits raised by ``at`` that were undecided then, or confirmed by then (dismissed ones never matter)."""
    where = (ScreeningHit.created_at <= at) & (
        ScreeningHit.decided_at.is_null() | (ScreeningHit.decided_at > at) | (ScreeningHit.status == "confirmed")
    )
    if physician_ids is not None:
        where &= ScreeningHit.physician.is_in(list(physician_ids))
    return (
        await ScreeningHit.select(
            ScreeningHit.physician.as_alias("physician_id"),
            ScreeningHit.source,
            ScreeningHit.status,
            ScreeningHit.decided_at,
        )
        .where(where)
        .run()
    )


async def open_assignment_counts(physician_id: UUID | None = None) -> dict[UUID, int]:
    """Open assignments per physician, read live (capacity is never cached)."""
    where = Assignment.status == "open"
    if physician_id is not None:
        where &= Assignment.physician == physician_id
    rows = await Assignment.select(Assignment.physician, Count()).where(where).group_by(Assignment.physician).run()
    return {UUID(str(row["physician"])): int(row["count"]) for row in rows}


_OPEN_COUNTS = (
    "SELECT CAST(physician AS TEXT) AS physician, COUNT(*) AS open_cases FROM assignment "
    "WHERE status = 'open' GROUP BY physician"
)


async def open_assignment_counts_by_text() -> list[tuple[str, int]]:
    """``open_assignment_counts()`` for every physician as (id as text, count) rows: the same live read,
    without Piccolo's row conversion and a UUID per row (a few thousand of each cost tens of ms, and every
    match in flight waits for this read after an assignment; ``RosterIndex.open_case_counts_of`` maps them)."""
    rows = await Assignment.raw(_OPEN_COUNTS).run()
    return [(row["physician"], int(row["open_cases"])) for row in rows]


async def open_assignment_counts_at(at: datetime) -> dict[UUID, int]:
    """Assignments open at a past instant: created by then and not yet closed then."""
    rows = (
        await Assignment.select(Assignment.physician, Count())
        .where((Assignment.created_at <= at) & (Assignment.closed_at.is_null() | (Assignment.closed_at > at)))
        .group_by(Assignment.physician)
        .run()
    )
    return {UUID(str(row["physician"])): int(row["count"]) for row in rows}
