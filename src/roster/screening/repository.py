"""Every screening query lives here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from piccolo.query.functions.aggregate import Count

from roster.licenses.tables import License
from roster.physicians.tables import Physician
from roster.screening.tables import ListSnapshot, ScreeningHit, ScreeningRun, ScreeningSuppressed

_HIT_COLUMNS = (
    ScreeningHit.id,
    ScreeningHit.physician.as_alias("physician_id"),
    ScreeningHit.source,
    ScreeningHit.match_kind,
    ScreeningHit.score,
    ScreeningHit.matched_fields,
    ScreeningHit.record,
    ScreeningHit.evidence,
    ScreeningHit.status,
    ScreeningHit.record_key,
    ScreeningHit.snapshot.as_alias("snapshot_id"),
    ScreeningHit.run.as_alias("run_id"),
    ScreeningHit.created_at,
    ScreeningHit.decided_at,
    ScreeningHit.decided_by,
    ScreeningHit.note,
)

_SUPPRESSED_COLUMNS = (
    ScreeningSuppressed.id,
    ScreeningSuppressed.run.as_alias("run_id"),
    ScreeningSuppressed.physician.as_alias("physician_id"),
    ScreeningSuppressed.physician.first_name.as_alias("first_name"),
    ScreeningSuppressed.physician.last_name.as_alias("last_name"),
    ScreeningSuppressed.source,
    ScreeningSuppressed.reason,
    ScreeningSuppressed.match_kind,
    ScreeningSuppressed.score,
    ScreeningSuppressed.record_key,
    ScreeningSuppressed.record,
    ScreeningSuppressed.evidence,
    ScreeningSuppressed.snapshot.as_alias("snapshot_id"),
    ScreeningSuppressed.created_at,
)


# -- compliance facts ------------------------------------------------------------------------


async def finished_runs_between(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Succeeded runs that started at/after ``start`` and finished by ``end``, newest first."""
    return (
        await ScreeningRun.select(
            ScreeningRun.sources, ScreeningRun.snapshots, ScreeningRun.started_at, ScreeningRun.finished_at
        )
        .where(
            (ScreeningRun.status == "succeeded")
            & (ScreeningRun.started_at >= start)
            & (ScreeningRun.finished_at <= end)
        )
        .order_by(ScreeningRun.finished_at, ascending=False)
        .output(load_json=True)
        .run()
    )


async def snapshots_loaded_at(snapshot_ids: list[UUID]) -> dict[UUID, datetime]:
    if not snapshot_ids:
        return {}
    rows = (
        await ListSnapshot.select(ListSnapshot.id, ListSnapshot.loaded_at)
        .where(ListSnapshot.id.is_in(snapshot_ids))
        .run()
    )
    return {UUID(str(row["id"])): row["loaded_at"] for row in rows}


async def hits_for(physician_id: UUID, created_by: datetime) -> list[dict[str, Any]]:
    return (
        await ScreeningHit.select(
            ScreeningHit.source, ScreeningHit.status, ScreeningHit.created_at, ScreeningHit.decided_at
        )
        .where((ScreeningHit.physician == physician_id) & (ScreeningHit.created_at <= created_by))
        .run()
    )


# -- snapshots -------------------------------------------------------------------------------


async def snapshot_by_sha(source: str, sha256: str) -> dict[str, Any] | None:
    return (
        await ListSnapshot.select()
        .where((ListSnapshot.source == source) & (ListSnapshot.sha256 == sha256))
        .first()
        .run()
    )


async def newest_snapshot(source: str) -> dict[str, Any] | None:
    return (
        await ListSnapshot.select()
        .where(ListSnapshot.source == source)
        .order_by(ListSnapshot.loaded_at, ascending=False)
        .first()
        .run()
    )


async def insert_snapshot(values: dict[str, Any]) -> None:
    await ListSnapshot.insert(ListSnapshot(**values)).run()


# -- runs and hits ---------------------------------------------------------------------------


#: What the matcher compares of a physician (the roster it screens, and the subjects of its hits).
SCREENED_COLUMNS = (
    Physician.id,
    Physician.npi,
    Physician.first_name,
    Physician.middle_name,
    Physician.last_name,
    Physician.former_last_names,
    Physician.date_of_birth,
)


async def active_roster() -> list[dict[str, Any]]:
    return await Physician.select(*SCREENED_COLUMNS).where(Physician.status == "active").run()


async def license_states() -> list[dict[str, Any]]:
    return await License.select(License.physician, License.state).run()


async def existing_hit_keys(sources: list[str]) -> set[tuple[str, str, str, str]]:
    rows = (
        await ScreeningHit.select(
            ScreeningHit.physician, ScreeningHit.source, ScreeningHit.record_key, ScreeningHit.record_hash
        )
        .where(ScreeningHit.source.is_in(sources))
        .run()
    )
    return {(str(r["physician"]), r["source"], r["record_key"], r["record_hash"]) for r in rows}


async def insert_run(values: dict[str, Any]) -> None:
    await ScreeningRun.insert(ScreeningRun(**values)).run()


async def get_run(run_id: UUID) -> dict[str, Any] | None:
    return await ScreeningRun.select().where(ScreeningRun.id == run_id).output(load_json=True).first().run()


async def run_exists(run_id: UUID) -> bool:
    return await ScreeningRun.exists().where(ScreeningRun.id == run_id).run()


async def count_run_hits(run_id: UUID) -> int:
    """Hits first raised by the run (a hit keeps the run that raised it)."""
    return await ScreeningHit.count().where(ScreeningHit.run == run_id).run()


async def insert_suppressed(rows: list[dict[str, Any]], chunk: int = 500) -> None:
    for start in range(0, len(rows), chunk):
        await ScreeningSuppressed.insert(*(ScreeningSuppressed(**row) for row in rows[start : start + chunk])).run()


async def insert_hits(rows: list[dict[str, Any]], chunk: int = 500) -> None:
    for start in range(0, len(rows), chunk):
        await ScreeningHit.insert(*(ScreeningHit(**row) for row in rows[start : start + chunk])).run()


async def get_hit(hit_id: UUID) -> dict[str, Any] | None:
    return (
        await ScreeningHit.select(*_HIT_COLUMNS).where(ScreeningHit.id == hit_id).output(load_json=True).first().run()
    )


async def decide_hit(hit_id: UUID, values: dict[str, Any]) -> None:
    await ScreeningHit.update(values).where(ScreeningHit.id == hit_id).run()


async def page_hits(
    *,
    status: str | None,
    source: str | None,
    physician_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    query = ScreeningHit.select(*_HIT_COLUMNS).output(load_json=True)
    if status == "decided":  # the workspace's view of every decided hit (confirmed or dismissed)
        query = query.where(ScreeningHit.status != "pending")
    elif status is not None:
        query = query.where(ScreeningHit.status == status)
    if source is not None:
        query = query.where(ScreeningHit.source == source)
    if physician_id is not None:
        query = query.where(ScreeningHit.physician == physician_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            (ScreeningHit.created_at > at) | ((ScreeningHit.created_at == at) & (ScreeningHit.id > last_id))
        )
    return await query.order_by(ScreeningHit.created_at, ScreeningHit.id).limit(limit).run()


async def count_hits_by_status() -> dict[str, int]:
    """How many hits stand in each status (``{"pending": 3, "dismissed": 7}``)."""
    rows = await ScreeningHit.select(ScreeningHit.status, Count(alias="n")).group_by(ScreeningHit.status).run()
    return {row["status"]: int(row["n"]) for row in rows}


async def hit_subjects(physician_ids: list[UUID]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The physicians of some hits as the matcher compared them: identity fields, and their license states."""
    if not physician_ids:
        return [], []
    people = await Physician.select(*SCREENED_COLUMNS, Physician.status).where(Physician.id.is_in(physician_ids)).run()
    states = await License.select(License.physician, License.state).where(License.physician.is_in(physician_ids)).run()
    return people, states


async def page_suppressed(
    run_id: UUID,
    *,
    reason: str | None,
    physician_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    query = ScreeningSuppressed.select(*_SUPPRESSED_COLUMNS).where(ScreeningSuppressed.run == run_id)
    if reason is not None:
        query = query.where(ScreeningSuppressed.reason == reason)
    if physician_id is not None:
        query = query.where(ScreeningSuppressed.physician == physician_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            (ScreeningSuppressed.created_at > at)
            | ((ScreeningSuppressed.created_at == at) & (ScreeningSuppressed.id > last_id))
        )
    return (
        await query.output(load_json=True)
        .order_by(ScreeningSuppressed.created_at, ScreeningSuppressed.id)
        .limit(limit)
        .run()
    )
