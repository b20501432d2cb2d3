"""Availability of a whole roster at once: every scheduled reviewer's available time over a window, as
arrays, so that one match answers rules.md §5 for thousands of reviewers with a few numpy passes.

A book is built from the same pure functions a single reviewer's availability uses (``rules._available``:
working or on call, minus time off) over ``[start, end)``; :meth:`AvailabilityBook.query` then gives,
for an instant and a due time, exactly what :func:`roster.availability.rules.availability` gives each
reviewer (a property test holds them to it), as long as the question fits the window
(:meth:`AvailabilityBook.covers`). Reviewers with no schedule and no time off are not in the book:
they are available at every instant.

Instants are integer microseconds since the epoch (UTC), exact for every ``datetime``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import numpy as np

from roster.availability.rules import HORIZON, Schedule, _available, _aware, on_call_timeline

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    return (_aware(at) - _EPOCH) // _US


def instant(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(value))


@dataclass(frozen=True, slots=True)
class RosterAvailability:
    """One question's answers, one entry per physician of the book (``AvailabilityBook.physicians``)."""

    available_now: np.ndarray  # bool
    on_leave: np.ndarray  # bool
    cannot_meet_due: np.ndarray  # bool
    #: Microseconds of available time within ``[at, due_at]``.
    available_micros: np.ndarray  # int64
    #: The first available instant at or after ``at`` within ``HORIZON`` (microseconds), or -1.
    available_from: np.ndarray  # int64
    #: On call (a rotation shift or an override) at ``at``.
    on_call_now: np.ndarray  # bool


@dataclass(frozen=True, slots=True)
class AvailabilityBook:
    start: datetime
    end: datetime
    #: The physicians in the book, in book order.
    physicians: tuple[UUID, ...]
    #: Each physician's group: physicians with the same rules, time off and on-call time share one (a
    #: roster has a few dozen working-hours patterns), so intervals are stored and queried once per group.
    group_of: np.ndarray
    groups: int
    #: Available intervals ``[starts, ends)`` (merged per group), each with its group.
    owners: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    #: Time off, the same way.
    leave_owners: np.ndarray
    leave_starts: np.ndarray
    leave_ends: np.ndarray
    #: On-call segments, the same way (for ranking on-call reviewers first out of hours).
    call_owners: np.ndarray
    call_starts: np.ndarray
    call_ends: np.ndarray

    @property
    def size(self) -> int:
        return len(self.physicians)

    def covers(self, at: datetime, due_at: datetime) -> bool:
        """Whether :meth:`query` can answer for ``at`` and ``due_at`` (both, and ``at`` + ``HORIZON``,
        inside the window)."""
        return self.start <= at and max(due_at, at + HORIZON) <= self.end

    def query(self, at: datetime, due_at: datetime, min_review: timedelta) -> RosterAvailability:
        if not self.covers(at, due_at):
            raise ValueError(f"{at.isoformat()}..{due_at.isoformat()} is outside the book's window")
        n = self.groups
        t, due = micros(at), micros(due_at)
        horizon = t + HORIZON // _US
        starts, ends, owners = self.starts, self.ends, self.owners
        overlap = np.clip(np.minimum(ends, due) - np.maximum(starts, t), 0, None)
        available = np.bincount(owners, weights=overlap, minlength=n).astype(np.int64)
        covering = (starts <= t) & (t < ends)
        now = np.zeros(n, dtype=bool)
        now[owners[covering]] = True
        ahead = ends > t
        first = np.maximum(starts[ahead], t)
        first_owner = owners[ahead]
        within = first < horizon
        earliest = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(earliest, first_owner[within], first[within])
        earliest[earliest == np.iinfo(np.int64).max] = -1
        leave = np.zeros(n, dtype=bool)
        leave[self.leave_owners[(self.leave_starts <= t) & (t < self.leave_ends)]] = True
        call = np.zeros(n, dtype=bool)
        call[self.call_owners[(self.call_starts <= t) & (t < self.call_ends)]] = True
        g = self.group_of
        return RosterAvailability(
            available_now=now[g],
            on_leave=leave[g],
            cannot_meet_due=(available < min_review // _US)[g],
            available_micros=available[g],
            available_from=earliest[g],
            on_call_now=(call & ~leave)[g],
        )


def _columns(pieces: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not pieces:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    array = np.array(pieces, dtype=np.int64)
    return array[:, 0], array[:, 1], array[:, 2]


def _on_call(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The schedule's own on-call segments within ``[start, end)``, as ``rules._available`` counts them."""
    shifts = [(s.starts_at, s.ends_at) for s in schedule.on_call if s.physician_id == schedule.physician_id]
    for rotation in schedule.rotations:
        overrides = [o for o in schedule.overrides if o.rotation_id in (None, rotation.id)]
        shifts.extend(
            (s.starts_at, s.ends_at)
            for s in on_call_timeline(rotation, overrides, start, end)
            if s.physician_id == schedule.physician_id
        )
    return [(max(s, start), min(e, end)) for s, e in shifts if s < end and e > start]


def _group_key(schedule: Schedule) -> tuple:
    """What a schedule's intervals depend on besides its physician: equal keys, equal intervals."""
    if schedule.rotations:  # derived here and filtered by physician: not shared
        return (schedule.physician_id,)
    own = tuple((s.starts_at, s.ends_at) for s in schedule.on_call if s.physician_id == schedule.physician_id)
    return (schedule.working_hours, schedule.time_off, own, schedule.scheduled)


def build_book(
    schedules: Iterable[Schedule], holidays: frozenset[date], start: datetime, end: datetime
) -> AvailabilityBook:
    """The book of ``schedules`` (one per physician; unscheduled ones without time off are left out)
    over ``[start, end)``. Give each schedule its on-call shifts already derived for the window
    (``rules.shifts_by_physician``) or its rotations."""
    _aware(start, "start")
    _aware(end, "end")
    physicians: list[UUID] = []
    group_of: list[int] = []
    keys: dict[tuple, int] = {}
    spans: list[tuple[int, int, int]] = []
    leave: list[tuple[int, int, int]] = []
    calls: list[tuple[int, int, int]] = []
    for schedule in schedules:
        if not schedule.scheduled and not schedule.time_off:
            continue
        physicians.append(schedule.physician_id)
        key = _group_key(schedule)
        group = keys.get(key)
        if group is None:
            group = keys[key] = len(keys)
            spans.extend((group, micros(s), micros(e)) for s, e in _available(schedule, holidays, start, end))
            leave.extend((group, micros(t.starts_at), micros(t.ends_at)) for t in schedule.time_off)
            calls.extend((group, micros(s), micros(e)) for s, e in _on_call(schedule, start, end))
        group_of.append(group)
    owners, starts, ends = _columns(spans)
    leave_owners, leave_starts, leave_ends = _columns(leave)
    call_owners, call_starts, call_ends = _columns(calls)
    return AvailabilityBook(
        start=start,
        end=end,
        physicians=tuple(physicians),
        group_of=np.array(group_of, dtype=np.int64),
        groups=len(keys),
        owners=owners,
        starts=starts,
        ends=ends,
        leave_owners=leave_owners,
        leave_starts=leave_starts,
        leave_ends=leave_ends,
        call_owners=call_owners,
        call_starts=call_starts,
        call_ends=call_ends,
    )


def positions_in(book: AvailabilityBook, rows: Mapping[UUID, int]) -> np.ndarray:
    """Each book position's row in an index (``rows``: physician id to row), -1 for a physician not in it."""
    return np.fromiter((rows.get(pid, -1) for pid in book.physicians), dtype=np.int64, count=book.size)


def spread(
    answers: RosterAvailability,
    positions: np.ndarray,
    size: int,
    at: datetime,
    due_at: datetime,
    min_review: timedelta,
) -> RosterAvailability:
    """``answers`` (per book position) for every row of an index of ``size`` rows: a row not in the book is
    a reviewer with no schedule and no time off, available at every instant (rules.md §5)."""
    present = positions >= 0
    rows = positions[present]
    always = max(micros(due_at) - micros(at), 0)

    def column(values: np.ndarray, fill: int | bool) -> np.ndarray:
        out = np.full(size, fill, dtype=values.dtype)
        out[rows] = values[present]
        return out

    return RosterAvailability(
        available_now=column(answers.available_now, True),
        on_leave=column(answers.on_leave, False),
        cannot_meet_due=column(answers.cannot_meet_due, always < min_review // _US),
        available_micros=column(answers.available_micros, always),
        available_from=column(answers.available_from, micros(at)),
        on_call_now=column(answers.on_call_now, False),
    )
