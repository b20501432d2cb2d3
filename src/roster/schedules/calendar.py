"""iCalendar feeds (RFC 5545, via ``icalendar``): a rotation's on-call shifts, and a reviewer's.

Each event is one stretch of on call: a layer's shift (cut where an override takes over) or an
override. A feed covers ``CALENDAR_BACK`` before and ``CALENDAR_AHEAD`` after today, on UTC day
bounds, and is derived over a wider window so that shifts crossing its edges keep their real bounds.
An event's UID is its rotation and start instant: the same shift has the same UID in every feed and
on every fetch, so calendar clients update it in place when the schedule changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from icalendar import Calendar, Event

from roster import clock
from roster.availability import rules
from roster.schedules import repository, service

PRODID = "-//Roster//On-call schedules//EN"
#: The widest shift or override the window is padded with.
_PAD = timedelta(days=8)


def window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The feed's ``[start, end)``: whole UTC days around today."""
    now = now or clock.now()
    today = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC)
    return today - service.CALENDAR_BACK, today + service.CALENDAR_AHEAD


def _segments(state: service.RotationState, start: datetime, end: datetime) -> list[rules.Shift]:
    pad = max([_PAD, *(timedelta(hours=layer.shift_hours) for layer in state.rotation.layers)])
    timeline = rules.on_call_timeline(state.rule, state.override_rules, start - pad, end + pad)
    return [s for s in timeline if s.starts_at < end and s.ends_at > start]


def _uid(rotation_id: UUID, shift: rules.Shift) -> str:
    return f"oncall-{rotation_id}-{shift.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}@roster"


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    return cal


def _event(
    state: service.RotationState, shift: rules.Shift, names: dict[UUID, str], stamp: datetime, *, mine: bool
) -> Event:
    rotation = state.rotation
    who = names.get(shift.physician_id, str(shift.physician_id))
    kind = "override" if shift.layer == rules.OVERRIDE else f"layer {shift.layer}"
    event = Event()
    event.add("uid", _uid(rotation.id, shift))
    event.add("dtstamp", stamp)
    event.add("dtstart", shift.starts_at.astimezone(UTC))
    event.add("dtend", shift.ends_at.astimezone(UTC))
    event.add("summary", f"On call: {rotation.name}" if mine else f"On call: {who} ({rotation.name})")
    event.add(
        "description",
        f"{who} is on call for {rotation.name} ({kind}); hand-offs are local to {rotation.time_zone}.",
    )
    event.add("categories", ["On call"])
    event.add("transp", "OPAQUE")
    return event


async def rotation_feed(rotation_id: UUID) -> bytes:
    now = clock.now()
    start, end = window(now)
    state = await service.rotation_as_of(rotation_id)
    segments = _segments(state, start, end)
    names = await repository.physician_names({s.physician_id for s in segments})
    cal = _calendar(f"On call: {state.rotation.name}")
    for shift in segments:
        cal.add_component(_event(state, shift, names, now, mine=False))
    return cal.to_ical()


async def physician_feed(physician_id: UUID) -> bytes:
    now = clock.now()
    start, end = window(now)
    physician = await repository.physician(physician_id)
    if physician is None:
        raise service.NotFound(f"no physician {physician_id}")
    name = f"{physician['first_name']} {physician['last_name']}"
    cal = _calendar(f"On call: {name}")
    for rotation_id in sorted(await repository.rotations_with_member(physician_id)):
        state = await service.rotation_as_of(rotation_id)
        for shift in _segments(state, start, end):
            if shift.physician_id == physician_id:
                cal.add_component(_event(state, shift, {physician_id: name}, now, mine=True))
    return cal.to_ical()
