"""Schedules: validated, audited and versioned writes, reads (live or replayed), on call and calendars.

The rules are ``roster.availability.rules``; this module turns stored records into them and checks
writes against them (a local time that does not exist or is ambiguous is refused, rules.md §5).

History: working hours, time off and overrides are a physician's records and are versioned like
licenses (``history.record_owned_change``); a rotation (with its layers) is versioned as entity
``rotation`` whose owner is the rotation itself. Deleting keeps every version, so a past ``at``
replays the schedules as they stood then (``rotation_as_of``, ``schedule_of``). Holidays are only
ever added (audited), so the table is its own history.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from roster import clock
from roster.api.pagination import Page, cursor_key, page_of
from roster.audit import service as audit
from roster.availability import rules
from roster.availability.clocks import load_clocks
from roster.availability.zones import zone, zone_problem
from roster.config import Settings
from roster.db import write_tx
from roster.errors import Conflict, FieldError, InvalidInput, NotFound
from roster.history import service as history
from roster.reference import service as reference
from roster.schedules import repository
from roster.schedules.schemas import (
    AtRisk,
    HolidayCreate,
    HolidayRead,
    LayerBody,
    LayerRead,
    OnCall,
    OnCallEntry,
    OnCallGapReport,
    OnCallGapRow,
    OverrideCreate,
    OverrideRead,
    Replacement,
    RotationCase,
    RotationCreate,
    RotationRead,
    RotationUpdate,
    TimeOffCreate,
    TimeOffCreated,
    TimeOffRead,
    TurnaroundClockRead,
    TurnaroundClocks,
    WorkingHoursCreate,
    WorkingHoursRead,
)

WEEKDAYS = rules.WEEKDAYS
#: How long an override may run.
MAX_OVERRIDE = timedelta(days=366)
#: The iCalendar feeds cover this much before and after today (UTC days, so a feed changes once a day).
CALENDAR_BACK = timedelta(days=30)
CALENDAR_AHEAD = timedelta(days=90)
#: Replacements offered per assignment at risk.
REPLACEMENTS = 5
#: A ``matching`` reason that is about the moment, not about who may take a rotation's cases.
_MOMENTARY = frozenset({"at_capacity"})


def wall_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


async def _physician(physician_id: UUID) -> dict[str, Any]:
    row = await repository.physician(physician_id)
    if row is None:
        raise NotFound(f"no physician {physician_id}")
    return row


# -- working hours ---------------------------------------------------------------------------------


def working_hours_problems(
    weekdays: list[str],
    start: time,
    end: time,
    zone_info: ZoneInfo,
    effective_from: date | None,
    effective_until: date | None,
    today: date,
) -> list[FieldError]:
    """Every rule broken, as a pure function: the date order, and a ``start`` or ``end`` that does not
    exist or is ambiguous on a day the rule applies (over a year from ``effective_from``, or today)."""
    errors: list[FieldError] = []
    if effective_from is not None and effective_until is not None and effective_until < effective_from:
        errors.append(FieldError("effective_until", "is before effective_from"))
        return errors
    first = effective_from or today
    last = first + timedelta(days=365)
    if effective_until is not None:
        last = min(last, effective_until)
    wanted = {WEEKDAYS.index(d) for d in weekdays}
    found: dict[str, str] = {}
    day = first
    while day <= last and len(found) < 2:
        if day.weekday() in wanted:
            if "start" not in found and (problem := rules.wall_time_problem(zone_info, start, day, 1)):
                found["start"] = problem
            end_day = day if end > start else day + timedelta(days=1)
            if "end" not in found and (problem := rules.wall_time_problem(zone_info, end, end_day, 1)):
                found["end"] = problem
        day += timedelta(days=1)
    errors += [FieldError(field, found[field]) for field in ("start", "end") if field in found]
    return errors


def _hours_read(row: dict[str, Any], zone_name: str) -> WorkingHoursRead:
    return msgspec.convert({**row, "time_zone": zone_name}, WorkingHoursRead, strict=False)


async def add_working_hours(physician_id: UUID, data: WorkingHoursCreate, *, actor: str) -> WorkingHoursRead:
    now = clock.now()
    weekdays = [d for d in WEEKDAYS if d in set(data.weekdays)]
    async with write_tx():
        physician = await _physician(physician_id)
        problems = working_hours_problems(
            weekdays,
            wall_time(data.start),
            wall_time(data.end),
            zone(physician["time_zone"]),
            data.effective_from,
            data.effective_until,
            now.date(),
        )
        if problems:
            raise InvalidInput.on(problems[0].field, problems[0].message)
        row = {
            "id": uuid.uuid4(),
            "physician_id": physician_id,
            "weekdays": weekdays,
            "start": data.start,
            "end": data.end,
            "effective_from": data.effective_from,
            "effective_until": data.effective_until,
            "created_at": now,
        }
        await repository.insert_working_hours(row)
        created = _hours_read(row, physician["time_zone"])
        await history.record_owned_change("working_hours", "create", None, created, actor=actor, at=now)
    return created


async def list_working_hours(physician_id: UUID, *, cursor: str | None, limit: int) -> Page[WorkingHoursRead]:
    physician = await _physician(physician_id)
    after = cursor_key(cursor, datetime.fromisoformat, UUID)
    rows = await repository.working_hours_of(physician_id, after=after, limit=limit + 1)  # type: ignore[arg-type]
    items = [_hours_read(r, physician["time_zone"]) for r in rows]
    return page_of(items, limit, lambda h: (h.created_at.isoformat(), str(h.id)))


async def delete_working_hours(hours_id: UUID, *, actor: str) -> None:
    now = clock.now()
    async with write_tx():
        row = await repository.working_hours(hours_id)
        if row is None:
            raise NotFound(f"no working hours {hours_id}")
        physician = await _physician(_as_uuid(row["physician_id"]))
        current = _hours_read(row, physician["time_zone"])
        await repository.delete_working_hours(hours_id)
        await history.record_owned_change("working_hours", "delete", current, None, actor=actor, at=now)


async def zone_change_problem(physician_id: UUID, zone_name: str) -> str | None:
    """Why the physician's working hours cannot be read in ``zone_name`` (a start or end that does not
    exist or is ambiguous there), or None: a time zone change is refused rather than leaving such a rule."""
    today = clock.today()
    for row in await repository.working_hours_of(physician_id):
        problems = working_hours_problems(
            row["weekdays"],
            wall_time(row["start"]),
            wall_time(row["end"]),
            zone(zone_name),
            row["effective_from"],
            row["effective_until"],
            today,
        )
        if problems:
            return f"working hours {row['id']}: {problems[0].field} {problems[0].message}"
    return None


# -- time off --------------------------------------------------------------------------------------


def _time_off_read(row: dict[str, Any]) -> TimeOffRead:
    return msgspec.convert(row, TimeOffRead, strict=False)


async def add_time_off(
    physician_id: UUID, data: TimeOffCreate, *, actor: str, settings: Settings, cache: Any = None
) -> TimeOffCreated:
    """201 with the physician's open assignments the time off puts at risk (and who could take them)."""
    starts_at, ends_at = _utc(data.starts_at), _utc(data.ends_at)
    if ends_at <= starts_at:
        raise InvalidInput.on("ends_at", "must be after starts_at")
    now = clock.now()
    async with write_tx():
        await _physician(physician_id)
        row = {
            "id": uuid.uuid4(),
            "physician_id": physician_id,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "reason": data.reason,
            "created_at": now,
        }
        await repository.insert_time_off(row)
        created = _time_off_read(row)
        await history.record_owned_change("time_off", "create", None, created, actor=actor, at=now)
    at_risk = await assignments_at_risk(physician_id, created, settings=settings, cache=cache)
    return TimeOffCreated(**msgspec.structs.asdict(created), at_risk=at_risk)


async def insert_time_off_quietly(physician_id: UUID, starts_at: datetime, ends_at: datetime, *, actor: str) -> None:
    """Time off without the at-risk assessment (bulk loads such as the demo), audited and versioned."""
    now = clock.now()
    async with write_tx():
        row = {
            "id": uuid.uuid4(),
            "physician_id": physician_id,
            "starts_at": _utc(starts_at),
            "ends_at": _utc(ends_at),
            "reason": "pto",
            "created_at": now,
        }
        await repository.insert_time_off(row)
        await history.record_owned_change("time_off", "create", None, _time_off_read(row), actor=actor, at=now)


async def list_time_off(physician_id: UUID, *, cursor: str | None, limit: int) -> Page[TimeOffRead]:
    await _physician(physician_id)
    after = cursor_key(cursor, datetime.fromisoformat, UUID)
    rows = await repository.time_off_of(physician_id, after=after, limit=limit + 1)  # type: ignore[arg-type]
    return page_of([_time_off_read(r) for r in rows], limit, lambda t: (t.starts_at.isoformat(), str(t.id)))


async def delete_time_off(time_off_id: UUID, *, actor: str) -> None:
    now = clock.now()
    async with write_tx():
        row = await repository.time_off(time_off_id)
        if row is None:
            raise NotFound(f"no time off {time_off_id}")
        current = _time_off_read(row)
        await repository.delete_time_off(time_off_id)
        await history.record_owned_change("time_off", "delete", current, None, actor=actor, at=now)


async def assignments_at_risk(
    physician_id: UUID, added: TimeOffRead, *, settings: Settings, cache: Any = None
) -> list[AtRisk]:
    """Open assignments whose due time falls in ``added``, or that the reviewer can no longer finish in
    time because of it (available time before ``due_at`` under the minimum review time, when it was
    enough without it). ``cache`` (the app's roster cache) finds eligible replacements; without it none."""
    now = clock.now()
    if added.ends_at <= now:
        return []
    candidates = [a for a in await repository.open_assignments_due(physician_id, now) if added.starts_at < a["due_at"]]
    if not candidates:
        return []
    with_it = await schedule_of(physician_id)
    left_out = [t for t in with_it.time_off if (t.starts_at, t.ends_at) == (added.starts_at, added.ends_at)][:1]
    without = dataclasses.replace(with_it, time_off=tuple(t for t in with_it.time_off if t not in left_out))
    holidays = await repository.holiday_days()
    out: list[AtRisk] = []
    for assignment in candidates:
        due = assignment["due_at"]
        minimum = settings.min_review(assignment["review_type"])
        inside = added.starts_at <= due < added.ends_at
        if not inside:
            short = rules.availability(with_it, now, due, minimum, holidays).cannot_meet_due
            if not short or rules.availability(without, now, due, minimum, holidays).cannot_meet_due:
                continue
        out.append(
            AtRisk(
                assignment_id=_as_uuid(assignment["id"]),
                case_id=assignment["case_id"],
                due_at=due,
                replacements=await _replacements(physician_id, assignment, cache),
            )
        )
    return out


async def _replacements(physician_id: UUID, assignment: dict[str, Any], cache: Any) -> list[Replacement]:
    """The matcher's top eligible reviewers for the assignment's case, the physician left out."""
    if cache is None:
        return []
    from roster.matching.schemas import MatchRequest
    from roster.matching.service import match

    request = MatchRequest(
        state=assignment["state"],
        line_of_business=assignment["line_of_business"],
        specialty=assignment["specialty"],
        review_type=assignment["review_type"],
        prior_reviewer_ids=[_as_uuid(p) for p in assignment["prior_reviewer_ids"] or []],
        limit=REPLACEMENTS + 1,
    )
    try:
        result = await match(request, cache)
    except InvalidInput:  # the case no longer resolves (reference data changed): nobody to offer
        return []
    return [
        Replacement(physician_id=e.physician_id, name=e.name) for e in result.eligible if e.physician_id != physician_id
    ][:REPLACEMENTS]


# -- holidays --------------------------------------------------------------------------------------


async def add_holiday(data: HolidayCreate, *, actor: str) -> HolidayRead:
    now = clock.now()
    async with write_tx():  # a roster change: the matcher's availability book reads it
        existing = await repository.holiday_on(data.date)
        if existing is not None:
            raise Conflict(
                f"{data.date.isoformat()} is already a holiday ({existing['name']})",
                errors=[FieldError("date", "already a holiday")],
            )
        row = {"id": uuid.uuid4(), "date": data.date, "name": data.name.strip(), "created_at": now}
        await repository.insert_holiday(row)
        created = msgspec.convert(row, HolidayRead)
        await audit.record(
            actor=actor, action="create", entity="holiday", entity_id=created.id, after=msgspec.to_builtins(created)
        )
    return created


async def list_holidays(*, year: int | None, cursor: str | None, limit: int) -> Page[HolidayRead]:
    after = cursor_key(cursor, date.fromisoformat, UUID)
    between = (date(year, 1, 1), date(year, 12, 31)) if year is not None else None
    rows = await repository.holidays(between=between, after=after, limit=limit + 1)  # type: ignore[arg-type]
    items = [msgspec.convert(r, HolidayRead, strict=False) for r in rows]
    return page_of(items, limit, lambda h: (h.date.isoformat(), str(h.id)))


# -- rotations -------------------------------------------------------------------------------------


def _rotation_read(row: dict[str, Any]) -> RotationRead:
    case = None
    if row["case_state"] is not None:
        case = RotationCase(
            state=row["case_state"],
            line_of_business=row["case_line_of_business"],
            specialty=row["case_specialty"],
            review_type=row["case_review_type"],
        )
    return RotationRead(
        id=_as_uuid(row["id"]),
        name=row["name"],
        time_zone=row["time_zone"],
        case=case,
        layers=[
            LayerRead(
                name=layer["name"],
                priority=layer["priority"],
                members=[_as_uuid(m) for m in layer["members"]],
                handoff_time=layer["handoff_time"],
                shift_hours=layer["shift_hours"],
                starts_on=layer["starts_on"],
            )
            for layer in row["layers"]
        ],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def rotation_rule(rotation: RotationRead) -> rules.Rotation:
    return rules.Rotation(
        id=rotation.id,
        name=rotation.name,
        zone=zone(rotation.time_zone),
        layers=tuple(
            rules.Layer(
                name=layer.name,
                priority=layer.priority,
                members=tuple(layer.members),
                handoff_time=wall_time(layer.handoff_time),
                shift_hours=layer.shift_hours,
                starts_on=layer.starts_on,
            )
            for layer in rotation.layers
        ),
    )


def layers_problems(layers: list[LayerBody], zone_name: str) -> list[FieldError]:
    """Duplicate layer names, and hand-off times that do not exist or are ambiguous in the zone."""
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    zone_info = zone(zone_name)
    for i, layer in enumerate(layers):
        name = layer.name.strip()
        if name in seen:
            errors.append(FieldError(f"layers.{i}.name", f"repeats layer {seen[name]}'s name"))
        seen.setdefault(name, i)
        problem = rules.layer_problem(
            rules.Layer(
                name=name,
                priority=layer.priority,
                members=tuple(layer.members),
                handoff_time=wall_time(layer.handoff_time),
                shift_hours=layer.shift_hours,
                starts_on=layer.starts_on,
            ),
            zone_info,
        )
        if problem is not None:
            errors.append(FieldError(f"layers.{i}.handoff_time", problem))
    return errors


async def _checked_case(case: RotationCase | None) -> RotationCase | None:
    if case is None:
        return None
    await reference.require_state(case.state, "case.state")
    specialty = (await reference.specialty_index()).resolve_physician_specialty(case.specialty, "case.specialty")
    return msgspec.structs.replace(case, specialty=specialty.slug)


async def _check_rotation(zone_name: str, layers: list[LayerBody]) -> None:
    if (problem := zone_problem(zone_name)) is not None:
        raise InvalidInput.on("time_zone", problem)
    errors = layers_problems(layers, zone_name)
    if errors:
        raise InvalidInput.on(errors[0].field, errors[0].message)


async def _check_members(layers: list[LayerBody]) -> None:
    wanted = {m for layer in layers for m in layer.members}
    found = await repository.existing_physicians(wanted)
    for i, layer in enumerate(layers):
        for j, member in enumerate(layer.members):
            if member not in found:
                raise InvalidInput.on(f"layers.{i}.members.{j}", f"no physician {member}")


def _layer_rows(layers: list[LayerBody]) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "name": layer.name.strip(),
            "priority": layer.priority,
            "members": list(layer.members),
            "handoff_time": layer.handoff_time,
            "shift_hours": layer.shift_hours,
            "starts_on": layer.starts_on,
        }
        for layer in layers
    ]


def _case_columns(case: RotationCase | None) -> dict[str, Any]:
    return {
        "case_state": case.state if case else None,
        "case_line_of_business": case.line_of_business if case else None,
        "case_specialty": case.specialty if case else None,
        "case_review_type": case.review_type if case else None,
    }


async def _record_rotation(action: str, before: RotationRead | None, after: RotationRead | None, **kw: Any) -> None:
    subject = after or before
    assert subject is not None
    await history.record_change(
        action=action,
        entity="rotation",
        entity_id=subject.id,
        physician_id=subject.id,  # a rotation is nobody's record: it owns its own versions
        before=msgspec.to_builtins(before) if before else None,
        after=msgspec.to_builtins(after) if after else None,
        **kw,
    )


async def create_rotation(data: RotationCreate, *, actor: str) -> RotationRead:
    await _check_rotation(data.time_zone, data.layers)
    case = await _checked_case(data.case)
    now = clock.now()
    # A roster change: the matcher's availability book is rebuilt from it (the index itself is untouched).
    async with write_tx():
        await _check_members(data.layers)
        row = {
            "id": uuid.uuid4(),
            "name": data.name.strip(),
            "time_zone": data.time_zone,
            **_case_columns(case),
            "created_at": now,
            "updated_at": now,
        }
        layers = _layer_rows(data.layers)
        await repository.insert_rotation(row, layers)
        created = _rotation_read({**row, "layers": layers})
        await _record_rotation("create", None, created, actor=actor, at=now)
    return created


async def rotation_named(name: str) -> bool:
    return bool(await repository.rotation_ids_named(name.strip()))


async def get_rotation(rotation_id: UUID) -> RotationRead:
    rows = await repository.rotations([rotation_id])
    if not rows:
        raise NotFound(f"no rotation {rotation_id}")
    return _rotation_read(rows[0])


async def list_rotations(*, cursor: str | None, limit: int) -> Page[RotationRead]:
    after = cursor_key(cursor, str, UUID)
    rows = await repository.rotations(after=after, limit=limit + 1)  # type: ignore[arg-type]
    return page_of([_rotation_read(r) for r in rows], limit, lambda r: (r.name, str(r.id)))


def _layer_bodies(layers: list[LayerRead]) -> list[LayerBody]:
    return [msgspec.convert(msgspec.to_builtins(layer), LayerBody) for layer in layers]


async def update_rotation(rotation_id: UUID, data: RotationUpdate, *, actor: str) -> RotationRead:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    now = clock.now()
    async with write_tx():  # a roster change: the matcher's availability book reads it
        current = await get_rotation(rotation_id)
        zone_name = changes.get("time_zone", current.time_zone)
        layers = changes["layers"] if "layers" in changes else _layer_bodies(current.layers)
        await _check_rotation(zone_name, layers)
        case = await _checked_case(changes["case"]) if "case" in changes else current.case
        if "layers" in changes:
            await _check_members(layers)
        values = {"updated_at": now, **_case_columns(case)}
        if "name" in changes:
            values["name"] = changes["name"].strip()
        if "time_zone" in changes:
            values["time_zone"] = zone_name
        await repository.update_rotation(rotation_id, values)
        if "layers" in changes:
            await repository.delete_layers(rotation_id)
            await repository.insert_layers(rotation_id, _layer_rows(layers))
        updated = await get_rotation(rotation_id)
        await _record_rotation("update", current, updated, actor=actor, at=now)
    return updated


async def delete_rotation(rotation_id: UUID, *, actor: str) -> None:
    """Removes the rotation and its overrides from the current schedule; their versions stay for replay."""
    now = clock.now()
    async with write_tx():
        current = await get_rotation(rotation_id)
        for row in await repository.overrides_of([rotation_id]):
            override = _override_read(row)
            await history.record_owned_change("rotation_override", "delete", override, None, actor=actor, at=now)
        await repository.delete_rotation(rotation_id)
        await _record_rotation("delete", current, None, actor=actor, at=now)


# -- overrides -------------------------------------------------------------------------------------


def _override_read(row: dict[str, Any]) -> OverrideRead:
    return msgspec.convert(row, OverrideRead, strict=False)


async def override_reasons(
    physician_id: UUID, case: RotationCase, starts_at: datetime, ends_at: datetime, cache: Any
) -> list[str]:
    """Why the physician may not take the rotation's cases over ``[starts_at, ends_at)``: the matcher's
    own rules (``matching.rules.evaluate``) on the physician's current records, at the first and the
    last day of the interval; capacity is left out (it is about the moment, not the interval)."""
    from roster.matching.facts_loader import current_reviewers
    from roster.matching.rules import evaluate
    from roster.matching.service import case_of

    roster = await cache.current()
    resolved = case_of(
        roster,
        state=case.state,
        line_of_business=case.line_of_business,
        specialty=case.specialty,
        review_type=case.review_type,
        prior_reviewer_ids=[],
    )
    found = await current_reviewers(clock.now(), physician_id)
    if not found:
        return ["inactive"]
    reasons: dict[str, None] = {}
    for day in sorted({starts_at.date(), (ends_at - timedelta(microseconds=1)).date()}):
        decision = evaluate(found[0], resolved, day, roster.rules)
        reasons.update((r, None) for r in decision.reasons if r not in _MOMENTARY)
    return list(reasons)


async def add_override(rotation_id: UUID, data: OverrideCreate, *, actor: str, cache: Any) -> OverrideRead:
    starts_at, ends_at = _utc(data.starts_at), _utc(data.ends_at)
    if ends_at <= starts_at:
        raise InvalidInput.on("ends_at", "must be after starts_at")
    if ends_at - starts_at > MAX_OVERRIDE:
        raise InvalidInput.on("ends_at", f"an override may last at most {MAX_OVERRIDE.days} days")
    rotation = await get_rotation(rotation_id)
    physician = await repository.physician(data.physician_id)
    if physician is None:
        raise InvalidInput.on("physician_id", f"no physician {data.physician_id}")
    if rotation.case is not None:
        reasons = await override_reasons(data.physician_id, rotation.case, starts_at, ends_at, cache)
    else:
        reasons = ["inactive"] if physician["status"] != "active" else []
    if reasons:
        raise Conflict(
            "physician is not eligible for this rotation's cases then: " + ", ".join(reasons),
            errors=[FieldError("physician_id", reason) for reason in reasons],
        )
    now = clock.now()
    async with write_tx():
        await get_rotation(rotation_id)  # still there
        row = {
            "id": uuid.uuid4(),
            "rotation_id": rotation_id,
            "physician_id": data.physician_id,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "created_at": now,
        }
        await repository.insert_override(row)
        created = _override_read(row)
        await history.record_owned_change("rotation_override", "create", None, created, actor=actor, at=now)
    return created


async def list_overrides(rotation_id: UUID, *, cursor: str | None, limit: int) -> Page[OverrideRead]:
    await get_rotation(rotation_id)
    after = cursor_key(cursor, datetime.fromisoformat, UUID)
    rows = await repository.overrides_of([rotation_id], after=after, limit=limit + 1)  # type: ignore[arg-type]
    return page_of([_override_read(r) for r in rows], limit, lambda o: (o.starts_at.isoformat(), str(o.id)))


async def delete_override(override_id: UUID, *, actor: str) -> None:
    now = clock.now()
    async with write_tx():
        row = await repository.override(override_id)
        if row is None:
            raise NotFound(f"no override {override_id}")
        current = _override_read(row)
        await repository.delete_override(override_id)
        await history.record_owned_change("rotation_override", "delete", current, None, actor=actor, at=now)


# -- replay ----------------------------------------------------------------------------------------


def _override_rule(o: OverrideRead) -> rules.Override:
    return rules.Override(
        physician_id=o.physician_id, starts_at=o.starts_at, ends_at=o.ends_at, rotation_id=o.rotation_id
    )


@dataclass(frozen=True, slots=True)
class RotationState:
    """A rotation with its overrides, live or as recorded at an instant."""

    rotation: RotationRead
    overrides: tuple[OverrideRead, ...]

    @property
    def rule(self) -> rules.Rotation:
        return rotation_rule(self.rotation)

    @property
    def override_rules(self) -> tuple[rules.Override, ...]:
        return tuple(_override_rule(o) for o in self.overrides)


async def rotation_as_of(rotation_id: UUID, at: datetime | None = None) -> RotationState:
    """The rotation now (``at`` None, now or later), or as recorded at a past ``at`` (its versions)."""
    now = clock.now()
    if at is None or at >= now:
        rotation = await get_rotation(rotation_id)
        overrides = tuple(_override_read(r) for r in await repository.overrides_of([rotation_id]))
        return RotationState(rotation, overrides)
    docs = await repository.versions_at("rotation", at, entity_id=rotation_id)
    if not docs:
        if await repository.rotations([rotation_id]):
            raise NotFound(f"rotation {rotation_id} was not on file at {at.isoformat()}")
        raise NotFound(f"no rotation {rotation_id}")
    rotation = msgspec.convert(docs[0], RotationRead, strict=False)
    overrides = tuple(
        msgspec.convert(d, OverrideRead, strict=False)
        for d in await repository.versions_at("rotation_override", at)
        if str(d.get("rotation_id")) == str(rotation_id)
    )
    return RotationState(rotation, overrides)


async def schedule_of(physician_id: UUID, at: datetime | None = None) -> rules.Schedule:
    """The physician's ``rules.Schedule``: working hours, time off, and the rotations they are in (by a
    layer or an override) with those rotations' overrides; live, or as recorded at a past ``at``."""
    physician = await _physician(physician_id)
    if at is not None and at < clock.now():
        return (await schedules_as_recorded([physician_id], at))[_as_uuid(physician_id)]
    zone_info = zone(physician["time_zone"])
    hours = [_hours_read(r, physician["time_zone"]) for r in await repository.working_hours_of(physician_id)]
    leave = [_time_off_read(r) for r in await repository.time_off_of(physician_id)]
    states = [await rotation_as_of(rid) for rid in sorted(await repository.rotations_with_member(physician_id))]
    return _schedule(physician_id, zone_info, hours, leave, states)


def _schedule(
    physician_id: UUID,
    zone_info: ZoneInfo,
    hours: list[WorkingHoursRead],
    leave: list[TimeOffRead],
    states: list[RotationState],
) -> rules.Schedule:
    return rules.Schedule(
        physician_id=physician_id,
        working_hours=tuple(_hours_rule(h, zone_info) for h in hours),
        time_off=tuple(rules.TimeOff(t.starts_at, t.ends_at, t.reason) for t in leave),
        rotations=tuple(s.rule for s in states),
        overrides=tuple(o for s in states for o in s.override_rules),
        in_rotation=bool(states),
    )


#: The records of a physician's file that make up a schedule (history entities).
_SCHEDULE_ENTITIES = ("physician", "working_hours", "time_off", "rotation_override")


async def schedules_as_recorded(physician_ids: Collection[UUID], at: datetime) -> dict[UUID, rules.Schedule]:
    """Each physician's schedule as recorded at a past ``at`` (their zone then, working hours, time off,
    and the rotations they were in with those rotations' overrides), in a handful of queries whatever the
    number of physicians: the replay of a past ``at`` over a case's candidates. Physicians not on file
    are left out."""
    ids = sorted({_as_uuid(pid) for pid in physician_ids})
    zones_now = await repository.time_zones(ids)
    files: dict[UUID, dict[str, list[dict[str, Any]]]] = {pid: {} for pid in zones_now}
    for row in await repository.owned_versions_at(ids, _SCHEDULE_ENTITIES, at):
        owner = _as_uuid(row["physician_id"])
        if owner in files:
            files[owner].setdefault(row["entity"], []).append(row["data"])
    rotations = {
        str(d["id"]): msgspec.convert(d, RotationRead, strict=False)
        for d in await repository.versions_at("rotation", at)
    }
    overrides: dict[str, list[OverrideRead]] = {}
    for d in await repository.versions_at("rotation_override", at):
        overrides.setdefault(str(d.get("rotation_id")), []).append(msgspec.convert(d, OverrideRead, strict=False))
    states = {rid: RotationState(rotation, tuple(overrides.get(rid, ()))) for rid, rotation in rotations.items()}
    members: dict[str, set[str]] = {}
    for rid, rotation in rotations.items():
        for layer in rotation.layers:
            for member in layer.members:
                members.setdefault(str(member), set()).add(rid)
    found: dict[UUID, rules.Schedule] = {}
    for pid, file in files.items():
        zone_name = (file.get("physician") or [{}])[0].get("time_zone") or zones_now[pid]
        hours = [
            msgspec.convert({**d, "time_zone": zone_name}, WorkingHoursRead, strict=False)
            for d in file.get("working_hours", [])
        ]
        leave = [msgspec.convert(d, TimeOffRead, strict=False) for d in file.get("time_off", [])]
        in_rotations = {str(d["rotation_id"]) for d in file.get("rotation_override", [])} | members.get(str(pid), set())
        # A rotation not on file at ``at`` (an override outliving it) is no rotation of theirs then.
        mine = [states[rid] for rid in sorted(in_rotations) if rid in states]
        found[pid] = _schedule(pid, zone(zone_name), hours, leave, mine)
    return found


def _hours_rule(hours: WorkingHoursRead, zone_info: ZoneInfo) -> rules.WorkingHours:
    return rules.WorkingHours(
        weekdays=frozenset(WEEKDAYS.index(d) for d in hours.weekdays),
        start=wall_time(hours.start),
        end=wall_time(hours.end),
        zone=zone_info,
        effective_from=hours.effective_from,
        effective_until=hours.effective_until,
    )


async def roster_schedules(
    start: datetime, end: datetime, physician_ids: Collection[UUID] | None = None
) -> list[rules.Schedule]:
    """The live schedules of everyone who has one over ``[start, end)`` (of ``physician_ids`` only, when
    given), with each rotation's on-call shifts derived once for all its members: the matcher's
    availability book is built from these. A physician with no working hours, no time off in the window
    and in no rotation is left out: always available."""
    hours = await repository.all_working_hours(physician_ids)
    leave = await repository.time_off_overlapping(start, end, physician_ids)
    states = [RotationState(_rotation_read(row), ()) for row in await repository.rotations()]
    overrides: dict[UUID, list[rules.Override]] = {}
    for row in await repository.overrides_of([s.rotation.id for s in states], overlapping=(start, end)):
        override = _override_rule(_override_read(row))
        overrides.setdefault(override.rotation_id, []).append(override)  # type: ignore[arg-type]
    shifts = rules.shifts_by_physician([s.rule for s in states], overrides, start, end)
    members = {m for s in states for layer in s.rotation.layers for m in layer.members}
    members |= {o.physician_id for found in overrides.values() for o in found}
    by_physician: dict[UUID, dict[str, list[Any]]] = {}
    for row in hours:
        pid = _as_uuid(row["physician_id"])
        by_physician.setdefault(pid, {"hours": [], "leave": []})["hours"].append(
            _hours_rule(_hours_read(row, row["time_zone"]), zone(row["time_zone"]))
        )
    for row in leave:
        read = _time_off_read(row)
        by_physician.setdefault(_as_uuid(row["physician_id"]), {"hours": [], "leave": []})["leave"].append(
            rules.TimeOff(read.starts_at, read.ends_at, read.reason)
        )
    wanted = None if physician_ids is None else set(physician_ids)
    for pid in members | set(shifts):
        if wanted is None or pid in wanted:
            by_physician.setdefault(pid, {"hours": [], "leave": []})
    return [
        rules.Schedule(
            physician_id=pid,
            working_hours=tuple(parts["hours"]),
            time_off=tuple(parts["leave"]),
            on_call=shifts.get(pid, ()),
            in_rotation=pid in members,
        )
        for pid, parts in sorted(by_physician.items())
    ]


# -- on call ---------------------------------------------------------------------------------------


async def on_call(rotation_id: UUID, at: datetime | None) -> OnCall:
    at = _utc(at) if at is not None else clock.now()
    state = await rotation_as_of(rotation_id, at)
    shift = rules.on_call(state.rule, state.override_rules, at)
    entries: list[OnCallEntry] = []
    if shift is not None:
        names = await repository.physician_names([shift.physician_id])
        entries.append(
            OnCallEntry(
                physician_id=shift.physician_id,
                name=names.get(shift.physician_id, ""),
                from_=shift.starts_at,
                until=shift.ends_at,
                layer=shift.layer,
            )
        )
    return OnCall(rotation=rotation_id, at=at, on_call=entries)


async def on_call_gaps(rotation_id: UUID | None, days: int) -> OnCallGapReport:
    """Every stretch of the next ``days`` without a reviewer to take a rotation's cases (rules.md §5): nobody
    on call, or the one on call on time off; for one rotation or all of them."""
    start = clock.now().replace(microsecond=0)
    end = start + timedelta(days=days)
    if rotation_id is not None:
        states = [await rotation_as_of(rotation_id)]
    else:
        states = [await rotation_as_of(_as_uuid(row["id"])) for row in await repository.rotations()]
    members = {m for s in states for layer in s.rotation.layers for m in layer.members}
    members |= {o.physician_id for s in states for o in s.overrides}
    leave: dict[UUID, list[rules.TimeOff]] = {}
    for row in await repository.time_off_overlapping(start, end, members):
        read = _time_off_read(row)
        leave.setdefault(read.physician_id, []).append(rules.TimeOff(read.starts_at, read.ends_at, read.reason))
    found = [
        (state, gap)
        for state in states
        for gap in rules.on_call_gaps(state.rule, state.override_rules, leave, start, end)
    ]
    names = await repository.physician_names({g.physician_id for _, g in found if g.physician_id is not None})
    rows = [
        OnCallGapRow(
            rotation_id=state.rotation.id,
            rotation=state.rotation.name,
            starts_at=gap.starts_at,
            ends_at=gap.ends_at,
            hours=round((gap.ends_at - gap.starts_at).total_seconds() / 3600, 2),
            reason=gap.reason,
            physician_id=gap.physician_id,
            name=names.get(gap.physician_id) if gap.physician_id is not None else None,
        )
        for state, gap in found
    ]
    rows.sort(key=lambda r: (r.starts_at, r.rotation, str(r.rotation_id)))
    return OnCallGapReport(from_=start, until=end, days=days, gaps=rows)


# -- turnaround clocks -----------------------------------------------------------------------------


@cache
def _clocks(path: Path) -> TurnaroundClocks:
    clocks = load_clocks(path)
    return TurnaroundClocks(
        items=[
            msgspec.convert(
                {
                    "line_of_business": c.line_of_business,
                    "review_type": c.review_type,
                    "urgency": c.urgency,
                    "unit": c.unit,
                    "amount": c.amount,
                    "extension_days": c.extension_days,
                    "citation": c.citation,
                },
                TurnaroundClockRead,
            )
            for c in clocks.values()
        ]
    )


def turnaround_clocks(settings: Settings) -> TurnaroundClocks:
    """The turnaround table (``fixtures/turnaround_clocks.csv``), read once per process."""
    return _clocks(settings.fixtures_dir / "turnaround_clocks.csv")


# -- for the workspace pages -----------------------------------------------------------------------


def local_to_utc(local: datetime, zone_name: str, field: str) -> datetime:
    """A form's wall-clock time in ``zone_name`` as UTC (an aware one is taken as given). A time the zone
    skips or shows twice is refused naming ``field``, as a rule's local times are (rules.md §5)."""
    if local.tzinfo is not None and local.utcoffset() is not None:
        return _utc(local)
    zone_info = zone(zone_name)
    problem = rules.wall_time_problem(zone_info, local.time(), local.date(), 1)
    if problem is not None:
        raise InvalidInput.on(field, problem)
    return rules.local_instant(local, zone_info)


async def working_hours_owner(hours_id: UUID) -> UUID:
    row = await repository.working_hours(hours_id)
    if row is None:
        raise NotFound(f"no working hours {hours_id}")
    return _as_uuid(row["physician_id"])


async def time_off_owner(time_off_id: UUID) -> UUID:
    row = await repository.time_off(time_off_id)
    if row is None:
        raise NotFound(f"no time off {time_off_id}")
    return _as_uuid(row["physician_id"])


async def override_rotation(override_id: UUID) -> UUID:
    row = await repository.override(override_id)
    if row is None:
        raise NotFound(f"no override {override_id}")
    return _as_uuid(row["rotation_id"])


async def physician_names(ids: Collection[UUID]) -> dict[UUID, str]:
    return await repository.physician_names(ids)


#: What a physician is doing over a stretch of time, most binding first (time off beats on call beats work).
TIME_OFF, ON_CALL, WORKING, OFF, UNSCHEDULED = "time_off", "on_call", "working", "off", "unscheduled"


@dataclass(frozen=True, slots=True)
class Stretch:
    starts_at: datetime
    ends_at: datetime
    state: str


def stretches(schedule: rules.Schedule, holidays: frozenset[date], start: datetime, end: datetime) -> list[Stretch]:
    """``[start, end)`` cut where the physician's state changes: time off, on call, working, or off (or
    ``unscheduled``: no rule and no rotation, so always available). Pure; the same spans ``rules.availability``
    reads (working spans with holidays, the rotations' timelines with overrides, time off)."""
    if start >= end:
        return []
    leave = rules.merge(rules.clip(((t.starts_at, t.ends_at) for t in schedule.time_off), start, end))
    calls = [(s.starts_at, s.ends_at) for s in schedule.on_call if s.physician_id == schedule.physician_id]
    for rotation in schedule.rotations:
        overrides = [o for o in schedule.overrides if o.rotation_id in (None, rotation.id)]
        calls += [
            (s.starts_at, s.ends_at)
            for s in rules.on_call_timeline(rotation, overrides, start, end)
            if s.physician_id == schedule.physician_id
        ]
    on_call = rules.merge(rules.clip(calls, start, end))
    working = rules.working_spans(schedule.working_hours, holidays, start, end)
    rest = OFF if schedule.scheduled else UNSCHEDULED
    cuts = sorted({start, end, *(b for spans in (leave, on_call, working) for span in spans for b in span)})

    def inside(spans: list[rules.Interval], at: datetime) -> bool:
        return any(s <= at < e for s, e in spans)

    out: list[Stretch] = []
    for lo, hi in pairwise(cuts):
        state = next(
            (name for name, spans in ((TIME_OFF, leave), (ON_CALL, on_call), (WORKING, working)) if inside(spans, lo)),
            rest,
        )
        if out and out[-1].state == state and out[-1].ends_at == lo:
            out[-1] = Stretch(out[-1].starts_at, hi, state)
        else:
            out.append(Stretch(lo, hi, state))
    return out


async def stretches_of(physician_id: UUID, start: datetime, end: datetime) -> list[Stretch]:
    """The physician's live schedule over ``[start, end)`` as ``stretches``."""
    schedule = await schedule_of(physician_id)
    return stretches(schedule, await repository.holiday_days(), start, end)
