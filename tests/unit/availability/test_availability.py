"""Working hours, holidays, time off and ``availability`` (rules.md §5), each at an explicit instant."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.availability.rules import (
    Layer,
    Override,
    Rotation,
    Schedule,
    Shift,
    TimeOff,
    WorkingHours,
    availability,
    wall_time_problem,
    working_spans,
)

NY = ZoneInfo("America/New_York")
PHOENIX = ZoneInfo("America/Phoenix")
ME = uuid.UUID(int=1)
OTHER = uuid.UUID(int=2)
H = timedelta(hours=1)
WEEKDAYS = frozenset(range(5))
NINE_TO_FIVE = WorkingHours(WEEKDAYS, time(9), time(17), NY)
JULY_4 = date(2029, 7, 4)  # a Wednesday


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def hours(spans: list) -> list[tuple[str, str]]:
    return [(s.astimezone(NY).strftime("%a %H:%M"), e.astimezone(NY).strftime("%a %H:%M")) for s, e in spans]


# -- local times refused at write time -------------------------------------------------------------


def test_wall_time_problem() -> None:
    assert wall_time_problem(NY, time(2, 30), date(2027, 1, 1)) == (
        "02:30 does not exist in America/New_York on 2027-03-14 (the clock skips it)"
    )
    assert wall_time_problem(NY, time(1, 30), date(2027, 1, 1)) == (
        "01:30 is ambiguous in America/New_York on 2027-11-07 (the clock shows it twice)"
    )
    assert wall_time_problem(PHOENIX, time(2, 30), date(2027, 1, 1)) is None
    assert wall_time_problem(NY, time(9), date(2027, 1, 1)) is None
    assert wall_time_problem(NY, time(2, 30), date(2027, 4, 1), days=30) is None  # outside the window


# -- working spans ---------------------------------------------------------------------------------


def test_weekday_spans_in_utc() -> None:
    spans = working_spans([NINE_TO_FIVE], frozenset(), ny(2029, 7, 2), ny(2029, 7, 9))
    assert hours(spans) == [
        (d, d.replace("09:00", "17:00")) for d in ("Mon 09:00", "Tue 09:00", "Wed 09:00", "Thu 09:00", "Fri 09:00")
    ]
    assert spans[0][0] == datetime(2029, 7, 2, 13, tzinfo=UTC)


def test_an_overnight_span_belongs_to_the_weekday_it_starts_on() -> None:
    nights = WorkingHours(frozenset({4}), time(22), time(6), NY)  # Friday night only
    spans = working_spans([nights], frozenset(), ny(2029, 7, 1), ny(2029, 7, 10))
    assert hours(spans) == [("Fri 22:00", "Sat 06:00")]
    assert spans[0][1] - spans[0][0] == 8 * H


def test_an_overnight_span_across_spring_forward_is_an_hour_shorter() -> None:
    nights = WorkingHours(frozenset({5}), time(22), time(6), NY)  # Saturday 2027-03-13
    (span,) = working_spans([nights], frozenset(), ny(2027, 3, 13), ny(2027, 3, 15))
    assert span[1] - span[0] == 7 * H


def test_a_holiday_removes_the_local_day_only() -> None:
    spans = working_spans([NINE_TO_FIVE], frozenset({JULY_4}), ny(2029, 7, 2), ny(2029, 7, 7))
    assert [d for d, _ in hours(spans)] == ["Mon 09:00", "Tue 09:00", "Thu 09:00", "Fri 09:00"]
    # An overnight span that starts the evening before the holiday still runs into it.
    nights = WorkingHours(WEEKDAYS, time(22), time(6), NY)
    starts = [d for d, _ in hours(working_spans([nights], frozenset({JULY_4}), ny(2029, 7, 3, 12), ny(2029, 7, 6)))]
    assert starts == ["Tue 22:00", "Thu 22:00"]


def test_effective_dates_are_inclusive_and_spans_are_clipped() -> None:
    rule = WorkingHours(
        WEEKDAYS, time(9), time(17), NY, effective_from=date(2029, 7, 3), effective_until=date(2029, 7, 5)
    )
    spans = working_spans([rule], frozenset(), ny(2029, 7, 3, 12), ny(2029, 7, 10))
    assert hours(spans) == [("Tue 12:00", "Tue 17:00"), ("Wed 09:00", "Wed 17:00"), ("Thu 09:00", "Thu 17:00")]


# -- availability ----------------------------------------------------------------------------------

REVIEW = timedelta(hours=2)


def test_an_unscheduled_reviewer_is_always_available() -> None:
    at = ny(2029, 7, 4, 3)  # 3 a.m. on a holiday
    result = availability(Schedule(ME), at, at + 72 * H, REVIEW, frozenset({JULY_4}))
    assert result.available_now and not result.on_leave and not result.cannot_meet_due
    assert result.available_from == at and result.available_seconds == 72 * 3600


def test_an_unscheduled_reviewer_on_pto_is_on_leave() -> None:
    at = ny(2029, 7, 2, 12)
    pto = TimeOff(ny(2029, 7, 2), ny(2029, 7, 3), "pto")
    result = availability(Schedule(ME, time_off=(pto,)), at, at + 72 * H, REVIEW)
    assert result.on_leave and not result.available_now and result.available_from == pto.ends_at


def test_working_now_and_off_shift() -> None:
    schedule = Schedule(ME, working_hours=(NINE_TO_FIVE,))
    now = availability(schedule, ny(2029, 7, 2, 10), ny(2029, 7, 5, 10), REVIEW)
    assert now.available_now and now.available_from == ny(2029, 7, 2, 10)
    night = availability(schedule, ny(2029, 7, 2, 22), ny(2029, 7, 5, 22), REVIEW)
    assert not night.available_now and not night.on_leave
    assert night.available_from == ny(2029, 7, 3, 9)
    assert night.available_seconds == 3 * 8 * 3600


def test_time_off_covering_at_is_on_leave_and_half_days_count() -> None:
    afternoon = TimeOff(ny(2029, 7, 2, 13), ny(2029, 7, 2, 17), "pto")
    schedule = Schedule(ME, working_hours=(NINE_TO_FIVE,), time_off=(afternoon,))
    result = availability(schedule, ny(2029, 7, 2, 14), ny(2029, 7, 3, 12), REVIEW)
    assert result.on_leave and not result.available_now
    assert result.available_from == ny(2029, 7, 3, 9) and result.available_seconds == 3 * 3600
    morning = availability(schedule, ny(2029, 7, 2, 10), ny(2029, 7, 2, 16), REVIEW)
    assert morning.available_now and morning.available_seconds == 3 * 3600


def test_cannot_meet_due_at_the_edge() -> None:
    schedule = Schedule(ME, working_hours=(NINE_TO_FIVE,))
    at = ny(2029, 7, 2, 15)  # two hours left today
    assert not availability(schedule, at, ny(2029, 7, 2, 17), REVIEW).cannot_meet_due  # exactly enough
    assert availability(schedule, at, ny(2029, 7, 2, 16, 59), REVIEW).cannot_meet_due
    assert not availability(schedule, at, ny(2029, 7, 3, 9, 1), REVIEW + timedelta(minutes=1)).cannot_meet_due
    overdue = availability(schedule, at, at - H, REVIEW)
    assert overdue.cannot_meet_due and overdue.available_seconds == 0


def test_pto_until_after_due_cannot_meet_due() -> None:
    week = TimeOff(ny(2029, 7, 2), ny(2029, 7, 9), "leave")
    schedule = Schedule(ME, working_hours=(NINE_TO_FIVE,), time_off=(week,))
    result = availability(schedule, ny(2029, 7, 2, 10), ny(2029, 7, 5, 10), REVIEW)
    assert result.on_leave and result.cannot_meet_due and result.available_from == ny(2029, 7, 9, 9)


def test_on_call_covers_nights_and_holidays() -> None:
    night = Shift(ME, ny(2029, 7, 3, 19), ny(2029, 7, 4, 7), "primary")
    schedule = Schedule(ME, working_hours=(NINE_TO_FIVE,), on_call=(night,))
    result = availability(schedule, ny(2029, 7, 3, 23), ny(2029, 7, 4, 5), REVIEW, frozenset({JULY_4}))
    assert result.available_now and result.available_seconds == 6 * 3600
    # Derived from the rotation, with another physician's override cutting into the shift.
    rotation = Rotation(
        uuid.UUID(int=9), "precert", NY, (Layer("primary", 1, (ME, OTHER), time(7), 12, date(2029, 7, 1)),)
    )
    cover = Override(OTHER, ny(2029, 7, 2, 8), ny(2029, 7, 2, 12))
    derived = Schedule(ME, rotations=(rotation,), overrides=(cover,))
    at = ny(2029, 7, 2, 9)
    result = availability(derived, at, at + 4 * H, REVIEW)
    assert not result.available_now and result.available_from == ny(2029, 7, 2, 12)
    assert result.available_seconds == 1 * 3600 and result.cannot_meet_due


def test_nobody_scheduled_within_the_horizon_has_no_available_from() -> None:
    ended = WorkingHours(WEEKDAYS, time(9), time(17), NY, effective_until=date(2029, 6, 30))
    result = availability(Schedule(ME, working_hours=(ended,)), ny(2029, 7, 2, 10), ny(2029, 7, 5), REVIEW)
    assert result.available_from is None and not result.available_now and result.cannot_meet_due


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        availability(Schedule(ME), datetime(2029, 7, 2), ny(2029, 7, 3), REVIEW)


@given(
    at=st.datetimes(datetime(2027, 1, 1), datetime(2029, 12, 31), timezones=st.just(UTC)),
    due=st.integers(-86400, 20 * 86400),
    pto=st.lists(st.tuples(st.integers(-5 * 86400, 20 * 86400), st.integers(1, 5 * 86400)), max_size=3),
    start=st.integers(0, 23),
    length=st.integers(1, 24),
)
def test_available_seconds_never_exceed_the_time_to_due(
    at: datetime, due: int, pto: list, start: int, length: int
) -> None:
    rule = WorkingHours(frozenset({0, 2, 3, 5}), time(start), time((start + length) % 24), NY)
    time_off = tuple(TimeOff(at + timedelta(seconds=s), at + timedelta(seconds=s + n)) for s, n in pto)
    due_at = at + timedelta(seconds=due)
    result = availability(Schedule(ME, working_hours=(rule,), time_off=time_off), at, due_at, REVIEW)
    assert 0 <= result.available_seconds <= max((due_at - at).total_seconds(), 0)
    assert result.on_leave == any(t.starts_at <= at < t.ends_at for t in time_off)
    if result.available_now:
        assert result.available_from == at and not result.on_leave
    if result.available_from is not None:
        assert result.available_from >= at
