"""Availability of a whole roster at once: every scheduled reviewer's available time over a window, as
arrays, so that one match answers rules.md §5 for thousands of reviewers with a few numpy passes.

A book is built from the same pure functions a single reviewer's availability uses (``rules._available``:
working or on call, minus time off) over ``[start, end)``; :meth:`AvailabilityBook.query_groups` then
gives, for an instant and a due time and once per group of reviewers with the same schedule, exactly what
:func:`roster.availability.rules.availability` gives each of them (a property test holds them to it), as
long as the question fits the window (:meth:`AvailabilityBook.covers`). Reviewers with no schedule and no
time off are not in the book: they are available at every instant.

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
    """One question's answers: one entry per group of the book (:meth:`AvailabilityBook.query_groups`), and
    with :func:`with_unscheduled` one more for everyone outside it (see :func:`kinds`)."""

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
    #: The available intervals searchable by (group, instant) in one sorted array.
    search: SpanSearch

    @property
    def size(self) -> int:
        return len(self.physicians)

    def covers(self, at: datetime, due_at: datetime) -> bool:
        """Whether :meth:`query_groups` can answer for ``at`` and ``due_at`` (both, and ``at`` + ``HORIZON``,
        inside the window)."""
        return self.start <= at and max(due_at, at + HORIZON) <= self.end

    def query_groups(self, at: datetime, due_at: datetime, min_review: timedelta) -> RosterAvailability:
        """The answers per group (``group_of`` says whose): what a question costs grows with the groups."""
        if not self.covers(at, due_at):
            raise ValueError(f"{at.isoformat()}..{due_at.isoformat()} is outside the book's window")
        n = self.groups
        t, due = micros(at), micros(due_at)
        horizon = t + HORIZON // _US
        starts, ends, search = self.starts, self.ends, self.search
        # Per group, the intervals still to come at ``t`` begin at ``first`` and those begun by ``due`` end
        # before ``stop`` (each group's intervals are sorted and disjoint): a binary search per group, not
        # a pass over every interval.
        first = np.searchsorted(search.end_keys, search.group_keys + (t - search.base), side="right")
        stop = np.searchsorted(search.start_keys, search.group_keys + (due - search.base), side="left")
        ahead = first < search.block_ends
        at_first = np.minimum(first, max(len(starts) - 1, 0))
        first_start = starts[at_first] if len(starts) else np.zeros(n, dtype=np.int64)
        now = ahead & (first_start <= t)
        earliest = np.where(ahead, np.maximum(first_start, t), -1)
        earliest[earliest >= horizon] = -1
        # Available time within [t, due]: the whole intervals first..stop-1, less the part of the first
        # before ``t`` and of the last after ``due``.
        some = (first < stop) & (t < due)
        before = np.maximum(t - first_start, 0)
        after = np.maximum(ends[np.maximum(stop - 1, 0)] - due, 0) if len(ends) else 0
        available = np.where(some, search.sums[stop] - search.sums[first] - before - after, 0).astype(np.int64)
        leave = np.zeros(n, dtype=bool)
        leave[self.leave_owners[(self.leave_starts <= t) & (t < self.leave_ends)]] = True
        call = np.zeros(n, dtype=bool)
        call[self.call_owners[(self.call_starts <= t) & (t < self.call_ends)]] = True
        return RosterAvailability(
            available_now=now,
            on_leave=leave,
            cannot_meet_due=available < min_review // _US,
            available_micros=available,
            available_from=earliest,
            on_call_now=call & ~leave,
        )


@dataclass(frozen=True, slots=True)
class SpanSearch:
    """The available intervals keyed ``group * scale + (instant - base)``: sorted, since each group's
    intervals are sorted and disjoint and groups come in order, so a per-group question is a binary search."""

    base: int
    #: Per group: ``group * scale`` (``scale`` exceeds any instant in the window less ``base``).
    group_keys: np.ndarray
    start_keys: np.ndarray
    end_keys: np.ndarray
    #: Per group: one past its last interval.
    block_ends: np.ndarray
    #: Running total of interval lengths (``sums[i]``: the intervals before ``i``).
    sums: np.ndarray


def _span_search(
    owners: np.ndarray, starts: np.ndarray, ends: np.ndarray, groups: int, start: int, end: int
) -> SpanSearch:
    """The search over ``[start, end)`` (microseconds) of intervals in group order (``rules._available``
    gives each group's merged: sorted and disjoint; checked here, as the search relies on it)."""
    scale = end - start + 1
    if groups * scale >= np.iinfo(np.int64).max:
        raise ValueError("too many schedule groups to search this window")
    same = owners[1:] == owners[:-1]
    if np.any(ends <= starts) or np.any(owners[1:] < owners[:-1]) or np.any(starts[1:][same] < ends[:-1][same]):
        raise ValueError("each group's available intervals must be sorted and disjoint")
    start_keys = owners * scale + (starts - start)
    end_keys = owners * scale + (ends - start)
    return SpanSearch(
        base=start,
        group_keys=np.arange(groups, dtype=np.int64) * scale,
        start_keys=start_keys,
        end_keys=end_keys,
        block_ends=np.searchsorted(owners, np.arange(groups), side="right"),
        sums=np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64),
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
        search=_span_search(owners, starts, ends, len(keys), micros(start), micros(end)),
    )


def positions_in(book: AvailabilityBook, rows: Mapping[UUID, int]) -> np.ndarray:
    """Each book position's row in an index (``rows``: physician id to row), -1 for a physician not in it."""
    return np.fromiter((rows.get(pid, -1) for pid in book.physicians), dtype=np.int64, count=book.size)


def kinds(book: AvailabilityBook, positions: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's kind in an index of ``size`` rows (its book group; ``book.groups`` for a row not in the
    book), and the rows of each kind: with :func:`with_unscheduled`, answers per kind stand for every row."""
    present = positions >= 0
    kind = np.full(size, book.groups, dtype=np.int64)
    kind[positions[present]] = book.group_of[present]
    return kind, np.bincount(kind, minlength=book.groups + 1)


def with_unscheduled(
    answers: RosterAvailability, at: datetime, due_at: datetime, min_review: timedelta
) -> RosterAvailability:
    """Per-group ``answers`` and, last, the kind of reviewer outside the book (see :func:`kinds`)."""
    fills = _unscheduled(at, due_at, min_review)
    return RosterAvailability(
        **{
            name: np.append(getattr(answers, name), np.array(fill, dtype=getattr(answers, name).dtype))
            for name, fill in fills.items()
        }
    )


def _unscheduled(at: datetime, due_at: datetime, min_review: timedelta) -> dict[str, int | bool]:
    """The answers for a reviewer with no schedule and no time off: available at every instant."""
    always = max(micros(due_at) - micros(at), 0)
    return {
        "available_now": True,
        "on_leave": False,
        "cannot_meet_due": always < min_review // _US,
        "available_micros": always,
        "available_from": micros(at),
        "on_call_now": False,
    }
