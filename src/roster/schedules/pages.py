"""A physician's schedule and the on-call rotations, as workspace pages over the API's own services.

Every write goes through ``schedules.service`` exactly as the API's does (same schemas, same checks, same
audit); the pages add only what a browser needs: local wall-clock inputs (a ``datetime-local`` field has no
zone) read in the physician's or the rotation's zone by ``service.local_to_utc``, and times shown in that
zone with its name. The week of availability is ``service.stretches`` over the live schedule, the same
spans the matcher's rules read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from roster import clock
from roster.alerts import clock_sweep
from roster.api.auth import READ_ROSTER, ROLES, WRITE_ROSTER
from roster.availability import rules
from roster.availability.zones import zone
from roster.errors import Conflict, FieldError, InvalidInput, NotFound, RosterError
from roster.matching.facts import reason_words
from roster.matching.service import roster_cache
from roster.physicians import service as physicians
from roster.schedules import calendar, service
from roster.schedules.schemas import (
    LayerBody,
    OverrideCreate,
    RotationCase,
    RotationCreate,
    TimeOffCreate,
    WorkingHoursCreate,
)
from roster.vocabulary import LineOfBusiness, ReviewType
from roster.web.page import (
    PageRequest,
    actor,
    decode_form,
    field_errors,
    form_values,
    redirect,
    render,
    user_of,
)

PAGE_SIZE = 50
#: The schedule page's look ahead, and the rotation page's.
WEEK_DAYS = 7
SHIFT_DAYS = 14
#: More shifts than this per layer are cut (a 1-hour layer over two weeks), with a note.
SHIFTS_SHOWN = 60
WEEKDAY_LABELS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)
TIME_OFF_REASONS = (("pto", "PTO"), ("leave", "Leave"), ("training", "Training"))
STATE_WORDS = {
    service.TIME_OFF: "time off",
    service.ON_CALL: "on call",
    service.WORKING: "working",
    service.OFF: "off",
    service.UNSCHEDULED: "available (no schedule)",
}
LINES_OF_BUSINESS: tuple[str, ...] = LineOfBusiness.__args__  # type: ignore[attr-defined]
REVIEW_TYPES: tuple[str, ...] = ReviewType.__args__  # type: ignore[attr-defined]
_LOCAL_FORMATS = "YYYY-MM-DDTHH:MM, read in {zone}"


# ------------------------------------------------------------------------------------------ shared


def in_zone(at: datetime | None, zone_name: str, *, day: bool = True) -> str:
    """An instant as people in ``zone_name`` read it, the zone's abbreviation named (``Mon 2027-03-08 09:00 EST``)."""
    if at is None:
        return "—"
    local = at.astimezone(zone(zone_name))
    return local.strftime("%a %Y-%m-%d %H:%M %Z" if day else "%H:%M %Z")


def local_input(at: datetime | None, zone_name: str) -> str:
    """An instant as a ``datetime-local`` field's value in ``zone_name``."""
    return "" if at is None else at.astimezone(zone(zone_name)).strftime("%Y-%m-%dT%H:%M")


def instant_field(values: dict[str, Any], name: str, zone_name: str, *, required: bool) -> datetime | None:
    """Field ``name`` of a form (a ``datetime-local`` value, or ISO 8601 with an offset) as UTC, read in
    ``zone_name`` when it has no offset; a bad or skipped local time is refused naming the field."""
    raw = values.get(name)
    if raw is None or raw == "":
        if required:
            raise InvalidInput.on(name, "required")
        return None
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput.on(name, f"not a date and time ({_LOCAL_FORMATS.format(zone=zone_name)})") from None
    return service.local_to_utc(parsed, zone_name, name)


def can_write(request: PageRequest) -> bool:
    return user_of(request).role in WRITE_ROSTER[ROLES]


def _cursor(request: PageRequest, name: str) -> str | None:
    value = request.query_params.get(name)
    return value.strip() or None if isinstance(value, str) else None


# ------------------------------------------------------------------------------- physician schedule


@dataclass(frozen=True, slots=True)
class DayPlan:
    day: date
    stretches: list[tuple[str, str, str]]


def _week(stretches: list[service.Stretch], zone_name: str, first: date) -> list[DayPlan]:
    """The stretches cut at local midnights, one row per local day, times as local ``HH:MM``."""
    zone_info = zone(zone_name)
    out = []
    for offset in range(WEEK_DAYS):
        day = first + timedelta(days=offset)
        lo = rules.local_instant(datetime.combine(day, time()), zone_info)
        hi = rules.local_instant(datetime.combine(day + timedelta(days=1), time()), zone_info)
        parts = []
        for s in stretches:
            if s.ends_at <= lo or s.starts_at >= hi:
                continue
            start, end = max(s.starts_at, lo), min(s.ends_at, hi)
            until = "24:00" if end == hi else end.astimezone(zone_info).strftime("%H:%M")
            parts.append((start.astimezone(zone_info).strftime("%H:%M"), until, s.state))
        out.append(DayPlan(day, parts))
    return out


async def _schedule_page(request: PageRequest, physician_id: UUID, *, status: int = 200, **forms: Any) -> Template:
    physician = await physicians.get(physician_id)
    zone_name = physician.time_zone
    hours = await service.list_working_hours(physician_id, cursor=_cursor(request, "hours_cursor"), limit=PAGE_SIZE)
    leave = await service.list_time_off(physician_id, cursor=_cursor(request, "leave_cursor"), limit=PAGE_SIZE)
    today = clock.now().astimezone(zone(zone_name)).date()
    start = rules.local_instant(datetime.combine(today, time()), zone(zone_name))
    end = rules.local_instant(datetime.combine(today + timedelta(days=WEEK_DAYS), time()), zone(zone_name))
    week = _week(await service.stretches_of(physician_id, start, end), zone_name, today)
    params = {k: v for k, v in request.query_params.items() if k in ("hours_cursor", "leave_cursor")}
    return render(
        request,
        "schedules/schedule.html",
        status=status,
        physician=physician,
        zone_name=zone_name,
        hours=hours,
        leave=leave,
        week=week,
        state_words=STATE_WORDS,
        params=params,
        can_write=can_write(request),
        weekdays=WEEKDAY_LABELS,
        reasons=TIME_OFF_REASONS,
        local=in_zone,
        **{
            "hours_form": {},
            "hours_errors": {},
            "leave_form": {},
            "leave_errors": {},
            "added": None,
            **forms,
        },
    )


@get("/physicians/{physician_id:uuid}/schedule", opt=READ_ROSTER)
async def schedule_page(request: PageRequest, physician_id: FromPath[UUID]) -> Template:
    return await _schedule_page(request, physician_id)


@post("/physicians/{physician_id:uuid}/working-hours", opt=WRITE_ROSTER, status_code=303)
async def add_working_hours(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    await physicians.require(physician_id)
    form = await request.form()
    values = form_values(form)
    values["weekdays"] = [d for d in form.getall("weekdays", []) if isinstance(d, str)]
    try:
        data = decode_form(values, WorkingHoursCreate)
        await service.add_working_hours(physician_id, data, actor=actor(request))
    except RosterError as exc:
        return await _schedule_page(
            request, physician_id, status=exc.status, hours_form=values, hours_errors=field_errors(exc)
        )
    return redirect(f"/physicians/{physician_id}/schedule")


@post("/physicians/{physician_id:uuid}/working-hours/{hours_id:uuid}/delete", opt=WRITE_ROSTER, status_code=303)
async def delete_working_hours(
    request: PageRequest, physician_id: FromPath[UUID], hours_id: FromPath[UUID]
) -> Response[Any]:
    if await service.working_hours_owner(hours_id) != physician_id:
        raise NotFound(f"no working hours {hours_id} for physician {physician_id}")
    await service.delete_working_hours(hours_id, actor=actor(request))
    return redirect(f"/physicians/{physician_id}/schedule")


@post("/physicians/{physician_id:uuid}/time-off", opt=WRITE_ROSTER, status_code=303)
async def add_time_off(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    """The local times are read in the physician's zone; the answer lists the open assignments the time
    off puts at risk, with their eligible replacements (``service.add_time_off``, as the API's 201)."""
    physician = await physicians.get(physician_id)
    values = form_values(await request.form())
    try:
        starts_at = instant_field(values, "starts_at", physician.time_zone, required=True)
        ends_at = instant_field(values, "ends_at", physician.time_zone, required=True)
        body = {
            "starts_at": starts_at,
            "ends_at": ends_at,
            **({"reason": values["reason"]} if "reason" in values else {}),
        }
        data = decode_form(body, TimeOffCreate)
        settings = request.app.state["settings"]
        added = await service.add_time_off(
            physician_id, data, actor=actor(request), settings=settings, cache=roster_cache(request.app.state)
        )
        await clock_sweep.reviewer_assignment_clock(physician_id, settings)  # as the API does
    except RosterError as exc:
        return await _schedule_page(
            request, physician_id, status=exc.status, leave_form=values, leave_errors=field_errors(exc)
        )
    if not added.at_risk:
        return redirect(f"/physicians/{physician_id}/schedule")
    return await _schedule_page(request, physician_id, added=added)


@post("/physicians/{physician_id:uuid}/time-off/{time_off_id:uuid}/delete", opt=WRITE_ROSTER, status_code=303)
async def delete_time_off(
    request: PageRequest, physician_id: FromPath[UUID], time_off_id: FromPath[UUID]
) -> Response[Any]:
    if await service.time_off_owner(time_off_id) != physician_id:
        raise NotFound(f"no time off {time_off_id} for physician {physician_id}")
    await service.delete_time_off(time_off_id, actor=actor(request))
    return redirect(f"/physicians/{physician_id}/schedule")


@get("/physicians/{physician_id:uuid}/calendar.ics", opt=READ_ROSTER)
async def physician_calendar(physician_id: FromPath[UUID]) -> Response[bytes]:
    """The API's feed, for a signed-in person (who has no API key)."""
    return _ics(await calendar.physician_feed(physician_id), f"oncall-{physician_id}")


def _ics(body: bytes, name: str) -> Response[bytes]:
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.ics"'},
    )


# ---------------------------------------------------------------------------------------- rotations

#: The rotation form's fields, and where the service's field names land on it.
ROTATION_FIELDS = (
    "name",
    "time_zone",
    "layer_name",
    "members",
    "handoff_time",
    "shift_hours",
    "starts_on",
    "case_state",
    "case_line_of_business",
    "case_specialty",
    "case_review_type",
)


def rotation_form_field(field: str) -> str:
    """``layers.0.handoff_time`` -> ``handoff_time``, ``layers.0.members.2`` -> ``members``,
    ``layers.0.name`` -> ``layer_name``, ``case.state`` -> ``case_state``: the one-layer form's names."""
    parts = field.split(".")
    if parts[0] == "layers" and len(parts) >= 3:
        return "layer_name" if parts[2] == "name" else parts[2]
    if parts[0] == "case" and len(parts) >= 2:
        return f"case_{parts[1]}"
    return field


def _renamed(exc: RosterError, rename: dict[str, str] | None = None) -> RosterError:
    errors = [FieldError((rename or {}).get(e.field) or rotation_form_field(e.field), e.message) for e in exc.errors]
    return type(exc)(detail=exc.detail, errors=errors)


def rotation_of_form(values: dict[str, Any]) -> RotationCreate:
    """The one-layer form as the API's ``RotationCreate`` (a case when any of its fields is given)."""
    members = [m for m in str(values.get("members", "")).replace(",", " ").split() if m]
    layer = {
        "name": values.get("layer_name", "primary"),
        "members": members,
        "handoff_time": values.get("handoff_time"),
        "shift_hours": values.get("shift_hours"),
        "starts_on": values.get("starts_on"),
    }
    try:
        layer_body = decode_form({k: v for k, v in layer.items() if v not in (None, "")}, LayerBody)
    except InvalidInput as exc:
        raise _renamed(exc, {"name": "layer_name"}) from None
    case = {k.removeprefix("case_"): v for k, v in values.items() if k.startswith("case_")}
    case_body = None
    if case:
        try:
            case_body = decode_form(case, RotationCase)
        except InvalidInput as exc:
            raise _renamed(exc, {f: f"case_{f}" for f in RotationCase.__struct_fields__}) from None
    top = {k: values[k] for k in ("name", "time_zone") if k in values}
    try:
        return decode_form(
            {**top, "layers": [msgspec.to_builtins(layer_body)], "case": msgspec.to_builtins(case_body)},
            RotationCreate,
        )
    except InvalidInput as exc:
        raise _renamed(exc) from None


async def _rotations_page(request: PageRequest, *, status: int = 200, **forms: Any) -> Template:
    cursor = _cursor(request, "cursor")
    page = await service.list_rotations(cursor=cursor, limit=PAGE_SIZE)
    now = clock.now()
    on_call = {r.id: (await service.on_call(r.id, now)).on_call for r in page.items}
    return render(
        request,
        "schedules/rotations.html",
        status=status,
        rotations=page.items,
        next_cursor=page.next_cursor,
        first=cursor is not None,
        on_call=on_call,
        can_write=can_write(request),
        lines=LINES_OF_BUSINESS,
        review_types=REVIEW_TYPES,
        local=in_zone,
        **{"values": {"layer_name": "primary", "shift_hours": 12, "handoff_time": "07:00"}, "errors": {}, **forms},
    )


@get("/rotations", opt=READ_ROSTER)
async def rotations_page(request: PageRequest) -> Template:
    return await _rotations_page(request)


@post("/rotations", opt=WRITE_ROSTER, status_code=303)
async def create_rotation(request: PageRequest) -> Response[Any]:
    values = form_values(await request.form())
    try:
        created = await service.create_rotation(rotation_of_form(values), actor=actor(request))
    except RosterError as exc:
        return await _rotations_page(request, status=exc.status, values=values, errors=field_errors(_renamed(exc)))
    return redirect(f"/rotations/{created.id}")


@dataclass(frozen=True, slots=True)
class LayerPlan:
    layer: Any
    shifts: list[rules.Shift]
    cut: bool


async def _rotation_page(request: PageRequest, rotation_id: UUID, *, status: int = 200, **forms: Any) -> Template:
    rotation = await service.get_rotation(rotation_id)
    now = clock.now()
    current = await service.on_call(rotation_id, now)
    rule = service.rotation_rule(rotation)
    end = now + timedelta(days=SHIFT_DAYS)
    layers = []
    for layer_rule, layer in zip(rule.layers, rotation.layers, strict=True):
        shifts = rules.layer_shifts(layer_rule, rule.zone, now, end)
        layers.append(LayerPlan(layer, shifts[:SHIFTS_SHOWN], len(shifts) > SHIFTS_SHOWN))
    cursor = _cursor(request, "cursor")
    overrides = await service.list_overrides(rotation_id, cursor=cursor, limit=PAGE_SIZE)
    members = {m for layer in rotation.layers for m in layer.members}
    names = await service.physician_names(members | {o.physician_id for o in overrides.items})
    return render(
        request,
        "schedules/rotation.html",
        status=status,
        rotation=rotation,
        zone_name=rotation.time_zone,
        current=current.on_call,
        layers=layers,
        overrides=overrides.items,
        next_cursor=overrides.next_cursor,
        first=cursor is not None,
        names=names,
        members=sorted(members, key=lambda m: names.get(m, "")),
        can_write=can_write(request),
        shift_days=SHIFT_DAYS,
        local=in_zone,
        **{"values": {}, "errors": {}, "refused": [], **forms},
    )


@get("/rotations/{rotation_id:uuid}", opt=READ_ROSTER)
async def rotation_page(request: PageRequest, rotation_id: FromPath[UUID]) -> Template:
    return await _rotation_page(request, rotation_id)


@post("/rotations/{rotation_id:uuid}/overrides", opt=WRITE_ROSTER, status_code=303)
async def add_override(request: PageRequest, rotation_id: FromPath[UUID]) -> Response[Any]:
    """A refused override (409: the physician may not take the rotation's cases then) lists every reason."""
    rotation = await service.get_rotation(rotation_id)
    values = form_values(await request.form())
    try:
        body = {
            "physician_id": values.get("physician_id"),
            "starts_at": instant_field(values, "starts_at", rotation.time_zone, required=True),
            "ends_at": instant_field(values, "ends_at", rotation.time_zone, required=True),
        }
        if body["physician_id"] is None:
            raise InvalidInput.on("physician_id", "required")
        data = decode_form(body, OverrideCreate)
        await service.add_override(rotation_id, data, actor=actor(request), cache=roster_cache(request.app.state))
    except Conflict as exc:
        refused = [(e.message, reason_words(e.message)) for e in exc.errors]
        errors = {"physician_id": "not eligible for this rotation's cases then (reasons below)"}
        return await _rotation_page(request, rotation_id, status=409, values=values, errors=errors, refused=refused)
    except RosterError as exc:
        return await _rotation_page(request, rotation_id, status=exc.status, values=values, errors=field_errors(exc))
    return redirect(f"/rotations/{rotation_id}")


@post("/rotations/{rotation_id:uuid}/overrides/{override_id:uuid}/delete", opt=WRITE_ROSTER, status_code=303)
async def delete_override(
    request: PageRequest, rotation_id: FromPath[UUID], override_id: FromPath[UUID]
) -> Response[Any]:
    if await service.override_rotation(override_id) != rotation_id:
        raise NotFound(f"no override {override_id} in rotation {rotation_id}")
    await service.delete_override(override_id, actor=actor(request))
    return redirect(f"/rotations/{rotation_id}")


@get("/rotations/{rotation_id:uuid}/calendar.ics", opt=READ_ROSTER)
async def rotation_calendar(rotation_id: FromPath[UUID]) -> Response[bytes]:
    """The API's feed, for a signed-in person (who has no API key)."""
    return _ics(await calendar.rotation_feed(rotation_id), f"rotation-{rotation_id}")


HANDLERS: list[ControllerRouterHandler] = [
    schedule_page,
    add_working_hours,
    delete_working_hours,
    add_time_off,
    delete_time_off,
    physician_calendar,
    rotations_page,
    create_rotation,
    rotation_page,
    add_override,
    delete_override,
    rotation_calendar,
]
