"""Time in matching (rules.md §5): the roster's availability book, kept beside the roster index, and what
a case's ``at`` and ``due_at`` make of every row.

The book (``availability.book``) covers a window from yesterday to ``WINDOW_DAYS`` ahead and is rebuilt
when the day moves or when a write could change someone's schedule; a question outside the window (a
replayed past ``at``, a case due beyond it) is answered from each candidate's own schedule as recorded
(``schedules.service.schedule_of``), slower but exact.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np

from roster.availability import rules
from roster.availability.book import (
    AvailabilityBook,
    RosterAvailability,
    build_book,
    kinds,
    micros,
    positions_in,
    with_unscheduled,
)
from roster.matching.index import RosterIndex, TimeView, gathered, time_view
from roster.schedules import repository as schedules_repository
from roster.schedules import service as schedules

#: How far ahead the book answers: the longest clock (30 days) plus the horizon of ``available_from``.
WINDOW_DAYS = 75
#: Business hours of the organization (its zone, weekdays, not a holiday): outside them an expedited case
#: ranks on-call reviewers first (rules.md §5).
BUSINESS_HOURS = (time(8), time(17))
#: How many recent questions' views are kept (clock rows x review types asked within one second).
VIEWS_KEPT = 64


@dataclass(slots=True)
class Availability:
    """The book of one roster version: every schedule it was built from, so a write patches it."""

    start: datetime
    end: datetime
    holidays: frozenset[date]
    schedules: dict[UUID, rules.Schedule]
    book: AvailabilityBook
    #: Physicians in a rotation (a layer or an override): a change to one moves others' on-call time.
    rotation_members: frozenset[UUID]
    #: The index the book's positions were last placed on, and those positions (see :meth:`positions`).
    _positions: tuple[RosterIndex, np.ndarray] | None = None
    #: Each physician's book position, made on first use (a physician a patch adds to the index).
    _book_positions: dict[UUID, int] | None = None
    #: The index the rows' kinds were last found for, and those kinds (see :meth:`kinds`).
    _kinds: tuple[RosterIndex, np.ndarray, np.ndarray] | None = None
    #: The last few questions' views: a router's requests in the same second ask the same question
    #: (``at`` and ``received_at`` default to the current second), so most are answered by a lookup.
    views: OrderedDict[tuple, tuple[RosterIndex, TimeView]] = field(default_factory=OrderedDict)

    def positions(self, index: RosterIndex) -> np.ndarray:
        """Each book position's row in ``index`` (-1: not in it). An index patched from the last one asked
        about moves the previous positions along (most writes leave the book as it is); otherwise every
        physician in the book is looked up."""
        cached = self._positions
        if cached is not None and cached[0] is index:
            return cached[1]
        moved = index.moved_rows(cached[0]) if cached is not None else None
        if moved is None:
            positions = positions_in(self.book, index.row_of)
        else:
            now, added = moved
            positions = gathered(now, cached[1], -1)
            if len(added):
                if self._book_positions is None:
                    self._book_positions = {pid: i for i, pid in enumerate(self.book.physicians)}
                for row in added.tolist():
                    at = self._book_positions.get(index.reviewers[row].id)
                    if at is not None:
                        positions[at] = row
        self._positions = (index, positions)
        return positions

    def kinds(self, index: RosterIndex) -> tuple[np.ndarray, np.ndarray]:
        """Each row's kind on ``index`` (its book group, or the kind outside the book) and the rows of each."""
        cached = self._kinds
        if cached is not None and cached[0] is index:
            return cached[1], cached[2]
        kind, population = kinds(self.book, self.positions(index), index.size)
        self._kinds = (index, kind, population)
        return kind, population

    def fresh_for(self, now: datetime) -> bool:
        """The window is the one ``now`` falls in (``window_start(now) == start``), by two comparisons:
        every match asks."""
        return self.start + _DAY <= now < self.start + _TWO_DAYS


_DAY, _TWO_DAYS = timedelta(days=1), timedelta(days=2)


def window_start(now: datetime) -> datetime:
    day = now.astimezone(UTC).date() - timedelta(days=1)
    return datetime.combine(day, time(), UTC)


async def build_availability(now: datetime) -> Availability:
    start = window_start(now)
    end = start + timedelta(days=WINDOW_DAYS)
    found = await schedules.roster_schedules(start, end)
    holidays = await schedules_repository.holiday_days()
    return _assembled(start, end, holidays, {s.physician_id: s for s in found})


def _assembled(
    start: datetime, end: datetime, holidays: frozenset[date], by_physician: dict[UUID, rules.Schedule]
) -> Availability:
    ordered = [by_physician[pid] for pid in sorted(by_physician)]
    return Availability(
        start=start,
        end=end,
        holidays=holidays,
        schedules=by_physician,
        book=build_book(ordered, holidays, start, end),
        rotation_members=frozenset(s.physician_id for s in ordered if s.in_rotation),
    )


async def patched_availability(current: Availability, changed: Collection[UUID], now: datetime) -> Availability:
    """``current`` after writes to ``changed`` (physicians, or rotations: a rotation owns its versions).
    Unchanged schedules keep the book as it is; a change touching a rotation rebuilds it."""
    if not current.fresh_for(now):
        return await build_availability(now)
    if not changed:
        return current
    if set(changed) & current.rotation_members or await schedules_repository.rotations(list(changed)):
        return await build_availability(now)
    found = {s.physician_id: s for s in await schedules.roster_schedules(current.start, current.end, changed)}
    if any(s.in_rotation for s in found.values()):
        return await build_availability(now)
    updated = dict(current.schedules)
    for pid in changed:
        if pid in found:
            updated[pid] = found[pid]
        else:
            updated.pop(pid, None)
    if updated == current.schedules:
        return current
    return _assembled(current.start, current.end, current.holidays, updated)


def business_hours(at: datetime, zone: ZoneInfo, holidays: frozenset[date]) -> bool:
    local = at.astimezone(zone)
    return (
        local.weekday() < 5 and local.date() not in holidays and BUSINESS_HOURS[0] <= local.time() < BUSINESS_HOURS[1]
    )


def _view(
    answers: RosterAvailability,
    *,
    require_now: bool,
    on_call_first: bool,
    kinds: tuple[np.ndarray, np.ndarray] | None = None,
) -> TimeView:
    return time_view(
        answers.available_now,
        answers.on_leave,
        answers.cannot_meet_due,
        answers.available_from,
        answers.on_call_now,
        require_now=require_now,
        on_call_first=on_call_first,
        kinds=kinds,
    )


def live_time_view(
    availability: Availability,
    index: RosterIndex,
    at: datetime,
    due_at: datetime,
    min_review: timedelta,
    *,
    require_now: bool,
    on_call_first: bool,
) -> TimeView | None:
    """The case's time over every row from the book; None when the question is outside its window."""
    if not availability.book.covers(at, due_at):
        return None
    key = (id(index), at, due_at, min_review, require_now, on_call_first)
    cached = availability.views.get(key)
    if cached is not None and cached[0] is index:
        return cached[1]
    # Answered per group of the book (and the kind outside it), then gathered per row only as asked:
    # each new second brings a few dozen new questions, and answering them per row stalled every request.
    answers = with_unscheduled(availability.book.query_groups(at, due_at, min_review), at, due_at, min_review)
    view = _view(answers, require_now=require_now, on_call_first=on_call_first, kinds=availability.kinds(index))
    availability.views[key] = (index, view)
    while len(availability.views) > VIEWS_KEPT:
        availability.views.popitem(last=False)
    return view


def _overrides_of(schedule: rules.Schedule, rotation: rules.Rotation) -> list[rules.Override]:
    return [o for o in schedule.overrides if o.rotation_id in (None, rotation.id)]


async def recorded_time_view(
    index: RosterIndex,
    rows: Sequence[int],
    at: datetime,
    due_at: datetime,
    min_review: timedelta,
    holidays: frozenset[date],
    *,
    require_now: bool,
    on_call_first: bool,
) -> TimeView:
    """The case's time for ``rows`` (the candidates), each from its schedule as recorded at ``at``; every
    other row as if unscheduled (its time is not what keeps it out)."""
    n = index.size
    now = np.ones(n, dtype=bool)
    leave = np.zeros(n, dtype=bool)
    short = np.zeros(n, dtype=bool)
    call = np.zeros(n, dtype=bool)
    available_from = np.full(n, micros(at), dtype=np.int64)
    recorded = await schedules.schedules_as_recorded([index.reviewers[row].id for row in rows], at)
    for row in rows:
        schedule = recorded.get(index.reviewers[row].id)
        if schedule is None:  # not on file now: no schedule to replay
            continue
        answer = rules.availability(schedule, at, due_at, min_review, holidays)
        now[row], leave[row], short[row] = answer.available_now, answer.on_leave, answer.cannot_meet_due
        available_from[row] = -1 if answer.available_from is None else micros(answer.available_from)
        if schedule.rotations:
            shift = next(
                (
                    s
                    for rotation in schedule.rotations
                    if (s := rules.on_call(rotation, _overrides_of(schedule, rotation), at)) is not None
                ),
                None,
            )
            call[row] = shift is not None and shift.physician_id == schedule.physician_id and not answer.on_leave
    answers = RosterAvailability(now, leave, short, np.zeros(n, dtype=np.int64), available_from, call)
    return _view(answers, require_now=require_now, on_call_first=on_call_first)
