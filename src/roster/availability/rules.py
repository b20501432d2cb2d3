"""Availability (rules.md §5) as pure functions of schedules and an instant: no I/O, no clock.

Recurring rules are local wall-clock times in an IANA zone; instants are aware UTC datetimes. One
convention turns a local date and time into an instant everywhere in this package
(``local_instant``): the first instant at which the zone's wall clock shows that date and time or
later. So an ambiguous time (fall back) is its first occurrence, and a time that does not exist
(spring forward) is the moment the clock jumps past it (02:30 on 2027-03-14 in New York is 03:00
EDT). Write paths refuse such times (``wall_time_problem``); the convention only keeps replay of
odd data deterministic.

A rotation layer's shift k starts at ``handoff_time`` on ``starts_on`` plus k * ``shift_hours`` of
wall-clock time, so a 12-hour shift across a DST change keeps its local hand-off and lasts 11 or
13 hours, and a 7-day shift keeps its weekday and time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from uuid import UUID
from zoneinfo import ZoneInfo

#: An interval of instants, ``[start, end)``, aware UTC datetimes.
Interval = tuple[datetime, datetime]

#: How far ahead ``availability`` looks for ``available_from``.
HORIZON = timedelta(days=30)
#: The first, cheaper look ahead; most reviewers are available again within it.
_FIRST_LOOK = timedelta(days=2)
_ZERO = timedelta(0)
_DAY = timedelta(days=1)
OVERRIDE = "override"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Local ``start``..``end`` on each of ``weekdays`` (0 = Monday) in ``zone``.

    ``end <= start`` is an overnight span that belongs to the weekday it starts on (``end == start``
    is 24 hours). The effective dates bound the local day a span starts on, both inclusive.
    """

    weekdays: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo
    effective_from: date | None = None
    effective_until: date | None = None

    def applies_on(self, day: date) -> bool:
        return (
            day.weekday() in self.weekdays
            and (self.effective_from is None or day >= self.effective_from)
            and (self.effective_until is None or day <= self.effective_until)
        )


@dataclass(frozen=True, slots=True)
class TimeOff:
    """``[starts_at, ends_at)`` in UTC; any length, so half days are just shorter intervals."""

    starts_at: datetime
    ends_at: datetime
    reason: str = "pto"


@dataclass(frozen=True, slots=True)
class Layer:
    """A rotation layer (api.md): priority 1 is tried first; shift k belongs to ``members[k mod n]``."""

    name: str
    priority: int
    members: tuple[UUID, ...]
    handoff_time: time
    shift_hours: int
    starts_on: date


@dataclass(frozen=True, slots=True)
class Rotation:
    id: UUID
    name: str
    zone: ZoneInfo
    layers: tuple[Layer, ...]

    @property
    def by_priority(self) -> tuple[Layer, ...]:
        return tuple(sorted(self.layers, key=lambda layer: (layer.priority, layer.name)))

    def members(self) -> frozenset[UUID]:
        return frozenset(m for layer in self.layers for m in layer.members)


@dataclass(frozen=True, slots=True)
class Override:
    """``physician_id`` covers ``[starts_at, ends_at)`` of the rotation, over every layer."""

    physician_id: UUID
    starts_at: datetime
    ends_at: datetime
    #: The rotation it belongs to; only needed when a ``Schedule`` carries overrides of several rotations.
    rotation_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Shift:
    """Who is on call over ``[starts_at, ends_at)`` (UTC); ``layer`` is a layer name or ``"override"``."""

    physician_id: UUID
    starts_at: datetime
    ends_at: datetime
    layer: str

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True, slots=True)
class Schedule:
    """Everything that decides one physician's availability.

    ``on_call`` holds shifts already derived for this physician (``shifts_by_physician`` derives a
    whole rotation once for many reviewers); ``rotations`` with their ``overrides`` are derived here
    instead. ``in_rotation`` marks a rotation member whose shifts were derived elsewhere, so that
    having none in the window still counts as scheduled.
    """

    physician_id: UUID
    working_hours: tuple[WorkingHours, ...] = ()
    time_off: tuple[TimeOff, ...] = ()
    on_call: tuple[Shift, ...] = ()
    rotations: tuple[Rotation, ...] = ()
    overrides: tuple[Override, ...] = ()
    in_rotation: bool = False

    @property
    def scheduled(self) -> bool:
        """False for a reviewer with no working-hours rule and in no rotation: always available."""
        return bool(self.working_hours or self.on_call or self.rotations or self.in_rotation)


@dataclass(frozen=True, slots=True)
class Availability:
    available_now: bool
    #: ``at`` itself when available now; else the next instant within ``HORIZON``, or None.
    available_from: datetime | None
    on_leave: bool
    cannot_meet_due: bool
    #: Available time within ``[at, due_at]``.
    available_seconds: float


def _aware(at: datetime, name: str = "at") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC), got a naive {at.isoformat()}")
    return at


# -- local wall-clock time -------------------------------------------------------------------------


def local_instant(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which ``zone``'s wall clock shows ``naive`` or later (module docstring)."""
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first  # exists; fold=0 is the first occurrence when ambiguous
    # In a gap: fold=1 reads it with the offset after the jump (an earlier instant, wall clock before
    # the gap), fold=0 with the offset before it (a later one, wall clock past the gap). The jump, a
    # whole second in every tz database, lies between: find it by bisection on whole seconds.
    lo = math.floor(naive.replace(tzinfo=zone, fold=1).timestamp())
    hi = math.ceil(first.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _wall(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def wall_time_problem(zone: ZoneInfo, local_time: time, from_day: date, days: int = 366) -> str | None:
    """Why ``local_time`` cannot anchor a recurring rule in ``zone``, or None.

    Checks every day of ``[from_day, from_day + days)``; a year covers both DST changes of a zone's
    current rules. E.g. "02:30 does not exist in America/New_York on 2027-03-14".
    """
    label = local_time.strftime("%H:%M") if not local_time.second else local_time.isoformat()
    for offset in range(days):
        day = from_day + timedelta(days=offset)
        naive = datetime.combine(day, local_time)
        first = naive.replace(tzinfo=zone, fold=0)
        second = naive.replace(tzinfo=zone, fold=1)
        if first.utcoffset() == second.utcoffset():
            continue
        if _wall(first.astimezone(UTC), zone) != naive:
            return f"{label} does not exist in {zone.key} on {day.isoformat()} (the clock skips it)"
        return f"{label} is ambiguous in {zone.key} on {day.isoformat()} (the clock shows it twice)"
    return None


def layer_problem(layer: Layer, zone: ZoneInfo, days: int = 366) -> str | None:
    """``wall_time_problem`` for every local hand-off time of a layer (not just ``handoff_time`` when
    ``shift_hours`` is not a whole number of days), from ``starts_on``."""
    if layer.shift_hours <= 0:
        return f"shift_hours must be positive, got {layer.shift_hours}"
    base = datetime.combine(layer.starts_on, layer.handoff_time)
    seen: set[time] = set()
    for k in range(24):
        t = (base + timedelta(hours=k * layer.shift_hours)).time()
        if t in seen:
            break
        seen.add(t)
        problem = wall_time_problem(zone, t, layer.starts_on, days)
        if problem is not None:
            return problem
    return None


# -- intervals -------------------------------------------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping, non-empty; touching intervals are joined."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(intervals: list[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """``intervals`` (merged) minus ``holes`` (any order)."""
    if not holes:
        return intervals
    out: list[Interval] = []
    cut = merge(holes)
    for start, end in intervals:
        for hole_start, hole_end in cut:
            if hole_end <= start or hole_start >= end:
                continue
            if hole_start > start:
                out.append((start, hole_start))
            start = max(start, hole_end)
            if start >= end:
                break
        if start < end:
            out.append((start, end))
    return out


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and e > start]


# -- working hours ---------------------------------------------------------------------------------


def span_on(rule: WorkingHours, day: date) -> Interval:
    """The span ``rule`` gives on local ``day`` (whether or not it applies that day)."""
    start = local_instant(datetime.combine(day, rule.start), rule.zone)
    end_day = day if rule.end > rule.start else day + _DAY
    return start, local_instant(datetime.combine(end_day, rule.end), rule.zone)


@lru_cache(maxsize=8192)
def _spans_for_days(rules: tuple[WorkingHours, ...], holidays: frozenset[date], first: date, last: date) -> tuple:
    """Merged spans of every rule on local days ``first..last``: shared by every reviewer with the
    same rules in one request, so matching pays for each distinct rule set once."""
    spans: list[Interval] = []
    day = first
    while day <= last:
        if day not in holidays:
            spans.extend(span_on(rule, day) for rule in rules if rule.applies_on(day))
        day += _DAY
    return tuple(merge(spans))


def working_spans(
    rules: Sequence[WorkingHours], holidays: frozenset[date], start: datetime, end: datetime
) -> list[Interval]:
    """Working time within ``[start, end)`` as merged UTC intervals.

    An organization holiday removes the spans that start on that local day (in the rule's zone);
    an overnight span that started the day before still runs into it. On-call time is separate.
    """
    _aware(start, "start")
    _aware(end, "end")
    if not rules or start >= end:
        return []
    # Local days are within a day of UTC days in every zone; one extra day catches overnight spans.
    first = start.astimezone(UTC).date() - timedelta(days=2)
    last = end.astimezone(UTC).date() + _DAY
    return clip(_spans_for_days(tuple(rules), holidays, first, last), start, end)


# -- rotations -------------------------------------------------------------------------------------


def _shift_start(layer: Layer, zone: ZoneInfo, k: int) -> datetime:
    naive = datetime.combine(layer.starts_on, layer.handoff_time) + timedelta(hours=k * layer.shift_hours)
    return local_instant(naive, zone)


def _shift(layer: Layer, zone: ZoneInfo, k: int) -> Shift:
    return Shift(
        physician_id=layer.members[k % len(layer.members)],
        starts_at=_shift_start(layer, zone, k),
        ends_at=_shift_start(layer, zone, k + 1),
        layer=layer.name,
    )


def layer_start(layer: Layer, zone: ZoneInfo) -> datetime:
    """The instant the layer's first shift starts."""
    return _shift_start(layer, zone, 0)


def _shift_index(layer: Layer, zone: ZoneInfo, at: datetime) -> int:
    """k with start(k) <= at < start(k + 1), in O(1): estimate from wall-clock time, then correct
    (a DST change moves the estimate by at most one shift)."""
    base = datetime.combine(layer.starts_on, layer.handoff_time)
    elapsed = _wall(at, zone) - base
    k = int(elapsed // timedelta(hours=layer.shift_hours))
    while _shift_start(layer, zone, k) > at:
        k -= 1
    while _shift_start(layer, zone, k + 1) <= at:
        k += 1
    return k


def layer_shift(layer: Layer, zone: ZoneInfo, at: datetime) -> Shift | None:
    """The layer's shift covering ``at``; None before the layer starts (or with no members)."""
    _aware(at)
    if not layer.members or layer.shift_hours <= 0:
        return None
    k = _shift_index(layer, zone, at)
    return None if k < 0 else _shift(layer, zone, k)


def layer_shifts(layer: Layer, zone: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """Every shift of the layer overlapping ``[start, end)``, whole (not clipped), in order."""
    _aware(start, "start")
    _aware(end, "end")
    if not layer.members or layer.shift_hours <= 0 or start >= end:
        return []
    k = max(_shift_index(layer, zone, start), 0)
    shifts: list[Shift] = []
    while True:
        shift = _shift(layer, zone, k)
        if shift.starts_at >= end:
            return shifts
        if shift.ends_at > start:
            shifts.append(shift)
        k += 1


def _winning_override(overrides: Iterable[Override], at: datetime) -> Override | None:
    """Among overrides covering ``at``, the one that starts latest (the most specific cover), then the
    one that ends first, then by physician id: deterministic whatever the order given."""
    covering = [o for o in overrides if o.starts_at <= at < o.ends_at]
    if not covering:
        return None
    return max(covering, key=lambda o: (o.starts_at, -o.ends_at.timestamp(), str(o.physician_id)))


def _active_layer(rotation: Rotation, at: datetime) -> Layer | None:
    for layer in rotation.by_priority:
        if layer.members and layer.shift_hours > 0 and layer_start(layer, rotation.zone) <= at:
            return layer
    return None


def on_call(rotation: Rotation, overrides: Sequence[Override], at: datetime) -> Shift | None:
    """Who is on call at ``at``: the override covering it (layer ``"override"``, its own bounds), else
    the shift of the highest-priority layer that has started (that shift's bounds); None if nobody."""
    _aware(at)
    override = _winning_override(overrides, at)
    if override is not None:
        return Shift(override.physician_id, override.starts_at, override.ends_at, OVERRIDE)
    layer = _active_layer(rotation, at)
    return None if layer is None else layer_shift(layer, rotation.zone, at)


def _layer_timeline(rotation: Rotation, start: datetime, end: datetime) -> list[Shift]:
    """Shifts of the winning layer at each instant, clipped to when that layer wins."""
    zone = rotation.zone
    layers = [layer for layer in rotation.by_priority if layer.members and layer.shift_hours > 0]
    starts = {layer.name: layer_start(layer, zone) for layer in layers}
    out: list[Shift] = []
    t = start
    while t < end:
        started = [i for i, layer in enumerate(layers) if starts[layer.name] <= t]
        top = started[0] if started else len(layers)
        # The winner (the first started layer) wins until a higher-priority layer starts.
        until = min([end, *(starts[layer.name] for layer in layers[:top])])
        if started:
            active = layers[top]
            for shift in layer_shifts(active, zone, t, until):
                out.append(Shift(shift.physician_id, max(shift.starts_at, t), min(shift.ends_at, until), shift.layer))
        t = until
    return out


def on_call_timeline(rotation: Rotation, overrides: Sequence[Override], start: datetime, end: datetime) -> list[Shift]:
    """Who is on call over ``[start, end)``, as consecutive segments clipped to the window and to each
    other: overrides cut into layer shifts. Agrees with ``on_call`` at every instant."""
    _aware(start, "start")
    _aware(end, "end")
    if start >= end:
        return []
    return list(_timeline_cached(rotation, tuple(overrides), start, end))


@lru_cache(maxsize=1024)
def _timeline_cached(rotation: Rotation, overrides: tuple[Override, ...], start: datetime, end: datetime) -> tuple:
    base = _layer_timeline(rotation, start, end)
    relevant = [o for o in overrides if o.starts_at < end and o.ends_at > start and o.starts_at < o.ends_at]
    if not relevant:
        return tuple(base)
    # Elementary pieces between override bounds, each given to the override that wins there.
    cuts = sorted({start, end, *(b for o in relevant for b in (o.starts_at, o.ends_at) if start < b < end)})
    covered: list[Shift] = []
    for lo, hi in pairwise(cuts):
        winner = _winning_override(relevant, lo)
        if winner is None:
            continue
        if covered and covered[-1].ends_at == lo and covered[-1].physician_id == winner.physician_id:
            covered[-1] = Shift(winner.physician_id, covered[-1].starts_at, hi, OVERRIDE)
        else:
            covered.append(Shift(winner.physician_id, lo, hi, OVERRIDE))
    holes = [(s.starts_at, s.ends_at) for s in covered]
    pieces = [
        Shift(shift.physician_id, s, e, shift.layer)
        for shift in base
        for s, e in subtract([(shift.starts_at, shift.ends_at)], holes)
    ]
    return tuple(sorted([*pieces, *covered], key=lambda s: s.starts_at))


def shifts_by_physician(
    rotations: Iterable[Rotation], overrides: dict[UUID, Sequence[Override]], start: datetime, end: datetime
) -> dict[UUID, tuple[Shift, ...]]:
    """Each physician's effective on-call segments in ``[start, end)`` over several rotations
    (``overrides`` keyed by rotation id): derive once per request, then give ``Schedule.on_call``."""
    out: dict[UUID, list[Shift]] = {}
    for rotation in rotations:
        for shift in on_call_timeline(rotation, overrides.get(rotation.id, ()), start, end):
            out.setdefault(shift.physician_id, []).append(shift)
    return {pid: tuple(sorted(shifts, key=lambda s: s.starts_at)) for pid, shifts in out.items()}


# -- availability ----------------------------------------------------------------------------------


def _available(schedule: Schedule, holidays: frozenset[date], start: datetime, end: datetime) -> list[Interval]:
    """(working or on call) minus time off, within ``[start, end)``; an unscheduled reviewer's base is all of it."""
    if not schedule.scheduled:
        base = [(start, end)]
    else:
        base = working_spans(schedule.working_hours, holidays, start, end)
        shifts = [(s.starts_at, s.ends_at) for s in schedule.on_call if s.physician_id == schedule.physician_id]
        for rotation in schedule.rotations:
            overrides = [o for o in schedule.overrides if o.rotation_id in (None, rotation.id)]
            shifts.extend(
                (s.starts_at, s.ends_at)
                for s in on_call_timeline(rotation, overrides, start, end)
                if s.physician_id == schedule.physician_id
            )
        if shifts:
            base = merge([*base, *clip(shifts, start, end)])
    if schedule.time_off:
        base = subtract(base, [(t.starts_at, t.ends_at) for t in schedule.time_off])
    return base


def availability(
    schedule: Schedule,
    at: datetime,
    due_at: datetime,
    min_review: timedelta,
    holidays: frozenset[date] = frozenset(),
) -> Availability:
    """rules.md §5 for one reviewer at ``at`` for a case due at ``due_at``.

    ``on_leave``: time off covers ``at``. ``available_now``: ``at`` is in (working or on call) minus time
    off. ``cannot_meet_due``: that time within ``[at, due_at]`` is shorter than ``min_review`` (exactly
    ``min_review`` is enough). ``available_from``: the first such instant ≥ ``at`` within ``HORIZON``.
    A reviewer with no working hours and in no rotation is available at every instant not on leave.
    """
    _aware(at)
    _aware(due_at, "due_at")
    on_leave = any(t.starts_at <= at < t.ends_at for t in schedule.time_off)
    if not schedule.scheduled and not schedule.time_off:
        seconds = max(due_at - at, _ZERO)
        return Availability(True, at, False, seconds < min_review, seconds.total_seconds())
    end = max(due_at, at + _FIRST_LOOK)
    spans = _available(schedule, holidays, at, end)
    if not spans and end < at + HORIZON:
        end = at + HORIZON
        spans = _available(schedule, holidays, at, end)
    total = _ZERO
    for s, e in spans:
        if s >= due_at:
            break
        total += min(e, due_at) - s
    return Availability(
        available_now=bool(spans) and spans[0][0] == at,
        available_from=spans[0][0] if spans and spans[0][0] < at + HORIZON else None,
        on_leave=on_leave,
        cannot_meet_due=total < min_review,
        available_seconds=total.total_seconds(),
    )


def time_reasons(available: Availability, *, require_now: bool) -> list[str]:
    """The time reasons of one reviewer (rules.md §5), in the contract's order: ``on_leave`` and
    ``cannot_meet_due`` always exclude, ``off_shift`` only when the case asks for a reviewer available now."""
    reasons = []
    if require_now and not available.available_now and not available.on_leave:
        reasons.append("off_shift")
    if available.on_leave:
        reasons.append("on_leave")
    if available.cannot_meet_due:
        reasons.append("cannot_meet_due")
    return reasons


@dataclass(frozen=True, slots=True)
class OnCallGap:
    """``[starts_at, ends_at)`` of a rotation without a reviewer who can take its cases: ``nobody`` on call
    (no layer started, no member), or the one on call is ``on_leave``."""

    starts_at: datetime
    ends_at: datetime
    reason: str
    physician_id: UUID | None = None


def on_call_gaps(
    rotation: Rotation,
    overrides: Sequence[Override],
    time_off: dict[UUID, Sequence[TimeOff]],
    start: datetime,
    end: datetime,
) -> list[OnCallGap]:
    """The gaps of a 24x7 rotation over ``[start, end)``, in order (``time_off`` by physician)."""
    gaps: list[OnCallGap] = []
    t = start
    for shift in on_call_timeline(rotation, overrides, start, end):
        if shift.starts_at > t:
            gaps.append(OnCallGap(t, shift.starts_at, "nobody"))
        away = merge((o.starts_at, o.ends_at) for o in time_off.get(shift.physician_id, ()))
        gaps.extend(
            OnCallGap(s, e, "on_leave", shift.physician_id) for s, e in clip(away, shift.starts_at, shift.ends_at)
        )
        t = max(t, shift.ends_at)
    if t < end:
        gaps.append(OnCallGap(t, end, "nobody"))
    return gaps
