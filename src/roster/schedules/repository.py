"""Every schedule query: the live tables, and their recorded versions for replay."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from roster.assignments.tables import Assignment
from roster.history.tables import RecordVersion
from roster.physicians.tables import Physician
from roster.schedules.tables import (
    Holiday,
    OnCallRotation,
    RotationLayer,
    RotationOverride,
    TimeOffPeriod,
    WorkingHoursRule,
)

# -- physicians ------------------------------------------------------------------------------------


async def physician(physician_id: UUID) -> dict[str, Any] | None:
    """The few physician fields schedules need: name, status and zone."""
    return (
        await Physician.select(
            Physician.id, Physician.first_name, Physician.last_name, Physician.status, Physician.time_zone
        )
        .where(Physician.id == physician_id)
        .first()
        .run()
    )


async def physician_names(ids: Collection[UUID]) -> dict[UUID, str]:
    if not ids:
        return {}
    rows = (
        await Physician.select(Physician.id, Physician.first_name, Physician.last_name)
        .where(Physician.id.is_in(list(ids)))
        .run()
    )
    return {_uuid(r["id"]): f"{r['first_name']} {r['last_name']}" for r in rows}


async def existing_physicians(ids: Collection[UUID]) -> set[UUID]:
    if not ids:
        return set()
    rows = await Physician.select(Physician.id).where(Physician.id.is_in(list(ids))).run()
    return {_uuid(r["id"]) for r in rows}


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


# -- working hours ---------------------------------------------------------------------------------

_HOURS = (
    WorkingHoursRule.id,
    WorkingHoursRule.physician.as_alias("physician_id"),
    WorkingHoursRule.weekdays,
    WorkingHoursRule.start_time.as_alias("start"),
    WorkingHoursRule.end_time.as_alias("end"),
    WorkingHoursRule.effective_from,
    WorkingHoursRule.effective_until,
    WorkingHoursRule.created_at,
)


async def insert_working_hours(values: dict[str, Any]) -> None:
    await WorkingHoursRule.insert(
        WorkingHoursRule(
            id=values["id"],
            physician=values["physician_id"],
            weekdays=values["weekdays"],
            start_time=values["start"],
            end_time=values["end"],
            effective_from=values["effective_from"],
            effective_until=values["effective_until"],
            created_at=values["created_at"],
        )
    ).run()


async def working_hours(hours_id: UUID) -> dict[str, Any] | None:
    return await WorkingHoursRule.select(*_HOURS).where(WorkingHoursRule.id == hours_id).first().run()


async def working_hours_of(
    physician_id: UUID, *, after: tuple[datetime, UUID] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    query = WorkingHoursRule.select(*_HOURS).where(WorkingHoursRule.physician == physician_id)
    if after is not None:
        at, last = after
        query = query.where(
            (WorkingHoursRule.created_at > at) | ((WorkingHoursRule.created_at == at) & (WorkingHoursRule.id > last))
        )
    query = query.order_by(WorkingHoursRule.created_at, WorkingHoursRule.id)
    if limit is not None:
        query = query.limit(limit)
    return await query.run()


async def delete_working_hours(hours_id: UUID) -> None:
    await WorkingHoursRule.delete().where(WorkingHoursRule.id == hours_id).run()


# -- time off --------------------------------------------------------------------------------------

_TIME_OFF = (
    TimeOffPeriod.id,
    TimeOffPeriod.physician.as_alias("physician_id"),
    TimeOffPeriod.starts_at,
    TimeOffPeriod.ends_at,
    TimeOffPeriod.reason,
    TimeOffPeriod.created_at,
)


async def insert_time_off(values: dict[str, Any]) -> None:
    row = dict(values)
    row["physician"] = row.pop("physician_id")
    await TimeOffPeriod.insert(TimeOffPeriod(**row)).run()


async def time_off(time_off_id: UUID) -> dict[str, Any] | None:
    return await TimeOffPeriod.select(*_TIME_OFF).where(TimeOffPeriod.id == time_off_id).first().run()


async def time_off_of(
    physician_id: UUID, *, after: tuple[datetime, UUID] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    query = TimeOffPeriod.select(*_TIME_OFF).where(TimeOffPeriod.physician == physician_id)
    if after is not None:
        at, last = after
        query = query.where(
            (TimeOffPeriod.starts_at > at) | ((TimeOffPeriod.starts_at == at) & (TimeOffPeriod.id > last))
        )
    query = query.order_by(TimeOffPeriod.starts_at, TimeOffPeriod.id)
    if limit is not None:
        query = query.limit(limit)
    return await query.run()


async def delete_time_off(time_off_id: UUID) -> None:
    await TimeOffPeriod.delete().where(TimeOffPeriod.id == time_off_id).run()


async def open_assignments_due(physician_id: UUID, after: datetime) -> list[dict[str, Any]]:
    """The physician's open assignments with a due time after ``after``, soonest first."""
    return (
        await Assignment.select(
            Assignment.id,
            Assignment.case_id,
            Assignment.state,
            Assignment.line_of_business,
            Assignment.specialty,
            Assignment.review_type,
            Assignment.prior_reviewer_ids,
            Assignment.due_at,
        )
        .where(
            (Assignment.physician == physician_id)
            & (Assignment.status == "open")
            & Assignment.due_at.is_not_null()
            & (Assignment.due_at > after)
        )
        .order_by(Assignment.due_at, Assignment.id)
        .output(load_json=True)
        .run()
    )


# -- holidays --------------------------------------------------------------------------------------

_HOLIDAY = (Holiday.id, Holiday.day.as_alias("date"), Holiday.name, Holiday.created_at)


async def insert_holiday(values: dict[str, Any]) -> None:
    await Holiday.insert(
        Holiday(id=values["id"], day=values["date"], name=values["name"], created_at=values["created_at"])
    ).run()


async def holiday_on(day: date) -> dict[str, Any] | None:
    return await Holiday.select(*_HOLIDAY).where(Holiday.day == day).first().run()


async def holidays(
    *, between: tuple[date, date] | None = None, after: tuple[date, UUID] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    query = Holiday.select(*_HOLIDAY)
    if between is not None:
        query = query.where((Holiday.day >= between[0]) & (Holiday.day <= between[1]))
    if after is not None:
        query = query.where((Holiday.day > after[0]) | ((Holiday.day == after[0]) & (Holiday.id > after[1])))
    query = query.order_by(Holiday.day, Holiday.id)
    if limit is not None:
        query = query.limit(limit)
    return await query.run()


async def holiday_days() -> frozenset[date]:
    return frozenset(r["day"] for r in await Holiday.select(Holiday.day).run())


# -- rotations -------------------------------------------------------------------------------------


async def insert_rotation(row: dict[str, Any], layers: list[dict[str, Any]]) -> None:
    await OnCallRotation.insert(OnCallRotation(**row)).run()
    await insert_layers(row["id"], layers)


async def insert_layers(rotation_id: UUID, layers: list[dict[str, Any]]) -> None:
    if layers:
        await RotationLayer.insert(
            *(
                RotationLayer(
                    id=layer["id"],
                    rotation=rotation_id,
                    position=position,
                    name=layer["name"],
                    priority=layer["priority"],
                    members=[str(m) for m in layer["members"]],
                    handoff_time=layer["handoff_time"],
                    shift_hours=layer["shift_hours"],
                    starts_on=layer["starts_on"],
                )
                for position, layer in enumerate(layers)
            )
        ).run()


async def update_rotation(rotation_id: UUID, values: dict[str, Any]) -> None:
    await OnCallRotation.update(values).where(OnCallRotation.id == rotation_id).run()


async def delete_layers(rotation_id: UUID) -> None:
    await RotationLayer.delete().where(RotationLayer.rotation == rotation_id).run()


async def delete_rotation(rotation_id: UUID) -> None:
    await RotationOverride.delete().where(RotationOverride.rotation == rotation_id).run()
    await delete_layers(rotation_id)
    await OnCallRotation.delete().where(OnCallRotation.id == rotation_id).run()


async def rotations(
    ids: Collection[UUID] | None = None, *, after: tuple[str, UUID] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Rotation rows (by name), each with ``layers`` in their written order."""
    query = OnCallRotation.select()
    if ids is not None:
        if not ids:
            return []
        query = query.where(OnCallRotation.id.is_in(list(ids)))
    if after is not None:
        query = query.where(
            (OnCallRotation.name > after[0]) | ((OnCallRotation.name == after[0]) & (OnCallRotation.id > after[1]))
        )
    query = query.order_by(OnCallRotation.name, OnCallRotation.id)
    if limit is not None:
        query = query.limit(limit)
    rows = await query.run()
    if not rows:
        return rows
    layers = (
        await RotationLayer.select()
        .where(RotationLayer.rotation.is_in([r["id"] for r in rows]))
        .order_by(RotationLayer.position)
        .run()
    )
    by_rotation: dict[UUID, list[dict[str, Any]]] = {}
    for layer in layers:
        by_rotation.setdefault(_uuid(layer["rotation"]), []).append(layer)
    for row in rows:
        row["layers"] = by_rotation.get(_uuid(row["id"]), [])
    return rows


async def rotation_ids_named(name: str) -> list[UUID]:
    rows = await OnCallRotation.select(OnCallRotation.id).where(OnCallRotation.name == name).run()
    return [_uuid(r["id"]) for r in rows]


async def rotations_with_member(physician_id: UUID) -> set[UUID]:
    """Rotations with the physician in a layer or in an override."""
    layered = (
        await RotationLayer.select(RotationLayer.rotation).where(RotationLayer.members.any(str(physician_id))).run()
    )
    covering = (
        await RotationOverride.select(RotationOverride.rotation).where(RotationOverride.physician == physician_id).run()
    )
    return {_uuid(r["rotation"]) for r in (*layered, *covering)}


# -- overrides -------------------------------------------------------------------------------------

_OVERRIDE = (
    RotationOverride.id,
    RotationOverride.rotation.as_alias("rotation_id"),
    RotationOverride.physician.as_alias("physician_id"),
    RotationOverride.starts_at,
    RotationOverride.ends_at,
    RotationOverride.created_at,
)


async def insert_override(values: dict[str, Any]) -> None:
    row = dict(values)
    row["rotation"] = row.pop("rotation_id")
    row["physician"] = row.pop("physician_id")
    await RotationOverride.insert(RotationOverride(**row)).run()


async def override(override_id: UUID) -> dict[str, Any] | None:
    return await RotationOverride.select(*_OVERRIDE).where(RotationOverride.id == override_id).first().run()


async def overrides_of(
    rotation_ids: Collection[UUID],
    *,
    overlapping: tuple[datetime, datetime] | None = None,
    after: tuple[datetime, UUID] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    if not rotation_ids:
        return []
    query = RotationOverride.select(*_OVERRIDE).where(RotationOverride.rotation.is_in(list(rotation_ids)))
    if overlapping is not None:
        start, end = overlapping
        query = query.where((RotationOverride.starts_at < end) & (RotationOverride.ends_at > start))
    if after is not None:
        at, last = after
        query = query.where(
            (RotationOverride.starts_at > at) | ((RotationOverride.starts_at == at) & (RotationOverride.id > last))
        )
    query = query.order_by(RotationOverride.starts_at, RotationOverride.id)
    if limit is not None:
        query = query.limit(limit)
    return await query.run()


async def delete_override(override_id: UUID) -> None:
    await RotationOverride.delete().where(RotationOverride.id == override_id).run()


# -- recorded versions -----------------------------------------------------------------------------


async def versions_at(entity: str, at: datetime, *, entity_id: UUID | None = None) -> list[dict[str, Any]]:
    """The ``entity`` records as they stood at ``at`` (deletions left out): their read documents."""
    where = (
        (RecordVersion.entity == entity)
        & (RecordVersion.recorded_from <= at)
        & (RecordVersion.recorded_to.is_null() | (RecordVersion.recorded_to > at))
        & (RecordVersion.deleted == False)  # noqa: E712 - a SQL comparison
    )
    if entity_id is not None:
        where &= RecordVersion.entity_id == entity_id
    rows = await RecordVersion.select(RecordVersion.data).where(where).output(load_json=True).run()
    return [r["data"] for r in rows]


async def owned_versions_at(
    physician_ids: Sequence[UUID], entities: Collection[str], at: datetime, *, chunk: int = 500
) -> list[dict[str, Any]]:
    """The ``entities`` records of ``physician_ids`` as they stood at ``at`` (deletions left out): each
    with its ``entity``, ``physician_id`` and read document (``data``). Chunked ``IN`` lists."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(physician_ids), chunk):
        rows += (
            await RecordVersion.select(RecordVersion.entity, RecordVersion.physician_id, RecordVersion.data)
            .where(
                RecordVersion.physician_id.is_in(list(physician_ids[start : start + chunk]))
                & RecordVersion.entity.is_in(list(entities))
                & (RecordVersion.recorded_from <= at)
                & (RecordVersion.recorded_to.is_null() | (RecordVersion.recorded_to > at))
                & (RecordVersion.deleted == False)  # noqa: E712 - a SQL comparison
            )
            .output(load_json=True)
            .run()
        )
    return rows


async def time_zones(physician_ids: Sequence[UUID], *, chunk: int = 500) -> dict[UUID, str]:
    """Each existing physician's zone now."""
    found: dict[UUID, str] = {}
    for start in range(0, len(physician_ids), chunk):
        rows = (
            await Physician.select(Physician.id, Physician.time_zone)
            .where(Physician.id.is_in(list(physician_ids[start : start + chunk])))
            .run()
        )
        found.update((r["id"], r["time_zone"]) for r in rows)
    return found


# -- the whole roster at once (the matcher's availability) ----------------------------------------


async def all_working_hours(physician_ids: Collection[UUID] | None = None) -> list[dict[str, Any]]:
    """Every working-hours rule (of ``physician_ids`` only, when given) with its physician's ``time_zone``."""
    query = WorkingHoursRule.select(*_HOURS, WorkingHoursRule.physician.time_zone.as_alias("time_zone"))
    if physician_ids is not None:
        if not physician_ids:
            return []
        query = query.where(WorkingHoursRule.physician.is_in(list(physician_ids)))
    return await query.run()


async def time_off_overlapping(
    start: datetime, end: datetime, physician_ids: Collection[UUID] | None = None
) -> list[dict[str, Any]]:
    """Time off that overlaps ``[start, end)`` (of ``physician_ids`` only, when given)."""
    query = TimeOffPeriod.select(*_TIME_OFF).where((TimeOffPeriod.starts_at < end) & (TimeOffPeriod.ends_at > start))
    if physician_ids is not None:
        if not physician_ids:
            return []
        query = query.where(TimeOffPeriod.physician.is_in(list(physician_ids)))
    return await query.run()
