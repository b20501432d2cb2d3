"""The roster-wide availability book answers exactly what ``availability`` answers for each reviewer."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roster.availability.book import (
    AvailabilityBook,
    RosterAvailability,
    build_book,
    instant,
    kinds,
    positions_in,
    with_unscheduled,
)
from roster.availability.rules import (
    HORIZON,
    Layer,
    Override,
    Rotation,
    Schedule,
    TimeOff,
    WorkingHours,
    availability,
)

ZONES = [ZoneInfo(name) for name in ("America/New_York", "America/Phoenix", "Pacific/Honolulu", "Europe/London")]
PEOPLE = [uuid.UUID(int=i) for i in range(1, 7)]
ROTATION = uuid.UUID(int=99)
#: Around the 2027 spring-forward in the US and Europe.
WINDOW_START = datetime(2027, 3, 1, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(days=50)
HOLIDAYS = frozenset({date(2027, 3, 15)})
MIN_REVIEW = timedelta(hours=2)


def per_row(
    book: AvailabilityBook, rows: dict[uuid.UUID, int], size: int, at: datetime, due_at: datetime
) -> RosterAvailability:
    """What matching reads, per row of an index of ``size`` rows: the answer of each row's kind."""
    kind, population = kinds(book, positions_in(book, rows), size)
    assert population.sum() == size and len(population) == book.groups + 1
    return of_kinds(with_unscheduled(book.query_groups(at, due_at, MIN_REVIEW), at, due_at, MIN_REVIEW), kind)


def of_kinds(answers: RosterAvailability, kind: np.ndarray) -> RosterAvailability:
    """The answers of each row's kind, per row (as matching gathers them)."""
    return RosterAvailability(**{name: getattr(answers, name)[kind] for name in RosterAvailability.__slots__})


def assert_agrees(answers: RosterAvailability, row: int, schedule: Schedule, at: datetime, due_at: datetime) -> None:
    expected = availability(schedule, at, due_at, MIN_REVIEW, HOLIDAYS)
    assert bool(answers.available_now[row]) == expected.available_now, row
    assert bool(answers.on_leave[row]) == expected.on_leave, row
    assert bool(answers.cannot_meet_due[row]) == expected.cannot_meet_due, row
    assert int(answers.available_micros[row]) == round(expected.available_seconds * 1_000_000), row
    got_from = None if answers.available_from[row] < 0 else instant(answers.available_from[row])
    assert got_from == expected.available_from, row


quarter_hours = st.integers(min_value=0, max_value=95).map(lambda q: time(q // 4, (q % 4) * 15))
rules = st.builds(
    WorkingHours,
    weekdays=st.frozensets(st.integers(min_value=0, max_value=6), min_size=1),
    start=quarter_hours,
    end=quarter_hours,
    zone=st.sampled_from(ZONES),
    effective_from=st.none() | st.dates(min_value=date(2027, 2, 20), max_value=date(2027, 3, 30)),
    effective_until=st.none() | st.dates(min_value=date(2027, 3, 5), max_value=date(2027, 5, 1)),
)
offsets = st.integers(min_value=-3 * 24 * 4, max_value=45 * 24 * 4).map(
    lambda q: WINDOW_START + timedelta(minutes=15 * q)
)


@st.composite
def time_off(draw: st.DrawFn) -> TimeOff:
    start = draw(offsets)
    return TimeOff(start, start + timedelta(minutes=15 * draw(st.integers(min_value=1, max_value=4 * 24 * 6))))


@st.composite
def rotation(draw: st.DrawFn) -> tuple[Rotation, tuple[Override, ...]]:
    members = tuple(draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3)))
    layer = Layer(
        "primary",
        1,
        members,
        time(draw(st.sampled_from([7, 8, 9, 19]))),
        draw(st.sampled_from([12, 24, 168])),
        draw(st.dates(min_value=date(2027, 2, 1), max_value=date(2027, 3, 20))),
    )
    overrides = []
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        start = draw(offsets)
        overrides.append(
            Override(draw(st.sampled_from(PEOPLE)), start, start + timedelta(hours=draw(st.integers(1, 48))), ROTATION)
        )
    return Rotation(ROTATION, "24x7", draw(st.sampled_from(ZONES)), (layer,)), tuple(overrides)


@st.composite
def rosters(draw: st.DrawFn) -> list[Schedule]:
    on_call = draw(st.none() | rotation())
    schedules = []
    for pid in PEOPLE:
        in_rotation = on_call is not None and pid in on_call[0].members()
        schedules.append(
            Schedule(
                pid,
                working_hours=tuple(draw(st.lists(rules, max_size=2))),
                time_off=tuple(draw(st.lists(time_off(), max_size=2))),
                rotations=(on_call[0],) if in_rotation else (),
                overrides=on_call[1] if in_rotation else (),
            )
        )
    return schedules


@settings(max_examples=150, deadline=None)
@given(
    schedules=rosters(),
    at=st.integers(min_value=0, max_value=18 * 24 * 4).map(lambda q: WINDOW_START + timedelta(minutes=15 * q)),
    due_in=st.integers(min_value=0, max_value=9 * 24 * 4).map(lambda q: timedelta(minutes=15 * q)),
)
def test_the_book_agrees_with_availability_for_every_reviewer(
    schedules: list[Schedule], at: datetime, due_in: timedelta
) -> None:
    due_at = at + due_in
    book = build_book(schedules, HOLIDAYS, WINDOW_START, WINDOW_END)
    assert book.covers(at, due_at)
    answers = per_row(book, {pid: row for row, pid in enumerate(PEOPLE)}, len(PEOPLE), at, due_at)
    for row, schedule in enumerate(schedules):
        assert_agrees(answers, row, schedule, at, due_at)


@settings(max_examples=100, deadline=None)
@given(
    schedules=rosters(),
    at=st.integers(min_value=0, max_value=18 * 24 * 4).map(lambda q: WINDOW_START + timedelta(minutes=15 * q)),
    due_in=st.integers(min_value=0, max_value=9 * 24 * 4).map(lambda q: timedelta(minutes=15 * q)),
    data=st.data(),
)
def test_rows_in_any_order_and_rows_the_book_does_not_know_get_their_own_answers(
    schedules: list[Schedule], at: datetime, due_in: timedelta, data: st.DataObject
) -> None:
    """An index holds some of the book's physicians, in any order, and others the book does not know (no
    schedule: available at every instant); each row's kind answers for it."""
    due_at = at + due_in
    book = build_book(schedules, HOLIDAYS, WINDOW_START, WINDOW_END)
    size = data.draw(st.integers(min_value=0, max_value=len(PEOPLE) + 3))
    slots = data.draw(st.permutations(range(size)))
    people = data.draw(st.permutations(PEOPLE))
    rows = {pid: row for pid, row in zip(people, slots, strict=False)}
    strangers = [uuid.UUID(int=1000 + row) for row in slots[len(rows) :]]
    answers = per_row(book, rows, size, at, due_at)
    by_id = {s.physician_id: s for s in schedules}
    for pid, row in rows.items():
        assert_agrees(answers, row, by_id[pid], at, due_at)
    for pid, row in zip(strangers, slots[len(rows) :], strict=True):
        assert_agrees(answers, row, Schedule(pid), at, due_at)


def test_a_reviewer_with_no_schedule_is_left_out_and_always_available() -> None:
    free, working = PEOPLE[0], PEOPLE[1]
    nine_to_five = WorkingHours(frozenset(range(5)), time(9), time(17), ZONES[0])
    book = build_book(
        [Schedule(free), Schedule(working, working_hours=(nine_to_five,))], frozenset(), WINDOW_START, WINDOW_END
    )
    assert book.physicians == (working,)
    at = datetime(2027, 3, 6, 12, tzinfo=UTC)  # a Saturday
    answers = per_row(book, {free: 0, working: 1}, 3, at, at + timedelta(hours=72))
    assert answers.available_now.tolist() == [True, False, True]
    assert instant(answers.available_from[1]) == datetime(2027, 3, 8, 14, tzinfo=UTC)  # Monday 09:00 EST
    assert answers.cannot_meet_due.tolist() == [False, False, False]


def test_on_call_now_is_reported_for_ranking() -> None:
    layer = Layer("primary", 1, (PEOPLE[0],), time(8), 24, date(2027, 3, 1))
    rotation_ = Rotation(ROTATION, "24x7", ZONES[0], (layer,))
    book = build_book([Schedule(PEOPLE[0], rotations=(rotation_,))], frozenset(), WINDOW_START, WINDOW_END)
    at = datetime(2027, 3, 10, 3, tzinfo=UTC)
    answers = per_row(book, {PEOPLE[0]: 0}, 1, at, at + timedelta(hours=72))
    assert answers.on_call_now.tolist() == [True] and answers.available_now.tolist() == [True]


def test_a_question_outside_the_window_is_refused() -> None:
    book = build_book([], frozenset(), WINDOW_START, WINDOW_END)
    assert not book.covers(WINDOW_END - HORIZON + timedelta(seconds=1), WINDOW_END - HORIZON)
    assert not book.covers(WINDOW_START - timedelta(seconds=1), WINDOW_START)
    with pytest.raises(ValueError, match="outside the book's window"):
        book.query_groups(WINDOW_END, WINDOW_END, MIN_REVIEW)
    empty = book.query_groups(WINDOW_START, WINDOW_START + timedelta(days=1), MIN_REVIEW)
    assert empty.available_now.shape == (0,) and np.all(empty.available_from == -1)


@pytest.mark.parametrize(("due_in", "short"), [(MIN_REVIEW, False), (MIN_REVIEW - timedelta(microseconds=1), True)])
def test_a_reviewer_outside_the_book_can_meet_a_due_exactly_the_minimum_away(due_in: timedelta, short: bool) -> None:
    book = build_book([], frozenset(), WINDOW_START, WINDOW_END)
    at = WINDOW_START + timedelta(days=1)
    answers = per_row(book, {}, 1, at, at + due_in)
    assert answers.cannot_meet_due.tolist() == [short]
    assert availability(Schedule(PEOPLE[0]), at, at + due_in, MIN_REVIEW).cannot_meet_due is short


def test_physicians_with_the_same_rules_share_a_group_and_keep_their_own_leave() -> None:
    nine_to_five = WorkingHours(frozenset(range(5)), time(9), time(17), ZONES[0])
    pto = TimeOff(datetime(2027, 3, 9, tzinfo=UTC), datetime(2027, 3, 10, tzinfo=UTC))
    schedules = [
        Schedule(PEOPLE[0], working_hours=(nine_to_five,)),
        Schedule(PEOPLE[1], working_hours=(nine_to_five,)),
        Schedule(PEOPLE[2], working_hours=(nine_to_five,), time_off=(pto,)),
    ]
    book = build_book(schedules, frozenset(), WINDOW_START, WINDOW_END)
    assert book.groups == 2 and book.group_of.tolist() == [0, 0, 1]
    at = datetime(2027, 3, 9, 15, tzinfo=UTC)  # Tuesday 10:00 in New York
    answers = per_row(book, {pid: row for row, pid in enumerate(PEOPLE[:3])}, 3, at, at + timedelta(hours=72))
    assert answers.available_now.tolist() == [True, True, False]
    assert answers.on_leave.tolist() == [False, False, True]
    for row, schedule in enumerate(schedules):
        expected = availability(schedule, at, at + timedelta(hours=72), MIN_REVIEW)
        assert int(answers.available_micros[row]) == round(expected.available_seconds * 1_000_000)
