"""What the schedule page shows as pure functions: a physician's stretches of time, and form times read in a zone."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roster.availability import rules
from roster.errors import InvalidInput
from roster.schedules.service import local_to_utc, stretches

NY = ZoneInfo("America/New_York")
ME = uuid.UUID(int=1)
OTHER = uuid.UUID(int=2)
MONDAY = date(2027, 1, 11)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(MONDAY + timedelta(days=day), time(hour, minute), NY).astimezone(UTC)


def weekdays_9_to_5() -> rules.WorkingHours:
    return rules.WorkingHours(weekdays=frozenset(range(5)), start=time(9), end=time(17), zone=NY)


def states(found: list) -> list[tuple[datetime, datetime, str]]:
    return [(s.starts_at, s.ends_at, s.state) for s in found]


def test_time_off_beats_on_call_beats_working_and_holidays_remove_the_day() -> None:
    rotation = rules.Rotation(
        id=uuid.UUID(int=9),
        name="nights",
        zone=NY,
        layers=(rules.Layer("primary", 1, (ME, OTHER), time(17), 12, MONDAY),),
    )
    schedule = rules.Schedule(
        physician_id=ME,
        working_hours=(weekdays_9_to_5(),),
        time_off=(rules.TimeOff(ny(0, 12), ny(0, 13)),),
        rotations=(rotation,),
    )
    holidays = frozenset({MONDAY + timedelta(days=1)})
    found = states(stretches(schedule, holidays, ny(0, 0), ny(3, 0)))
    assert found == [
        (ny(0, 0), ny(0, 9), "off"),
        (ny(0, 9), ny(0, 12), "working"),
        (ny(0, 12), ny(0, 13), "time_off"),
        (ny(0, 13), ny(0, 17), "working"),
        (ny(0, 17), ny(1, 5), "on_call"),  # shift 0 is mine
        (ny(1, 5), ny(1, 17), "off"),  # shift 1 is the other's, and Tuesday is a holiday: no work
        (ny(1, 17), ny(2, 5), "on_call"),
        (ny(2, 5), ny(2, 9), "off"),
        (ny(2, 9), ny(2, 17), "working"),
        (ny(2, 17), ny(3, 0), "on_call"),  # cut at the window's end
    ]


def test_a_physician_without_a_schedule_is_unscheduled_but_time_off_still_counts() -> None:
    schedule = rules.Schedule(physician_id=ME, time_off=(rules.TimeOff(ny(0, 12), ny(0, 13)),))
    assert states(stretches(schedule, frozenset(), ny(0, 0), ny(1, 0))) == [
        (ny(0, 0), ny(0, 12), "unscheduled"),
        (ny(0, 12), ny(0, 13), "time_off"),
        (ny(0, 13), ny(1, 0), "unscheduled"),
    ]
    assert stretches(schedule, frozenset(), ny(1, 0), ny(1, 0)) == []


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=23),
    length=st.integers(min_value=1, max_value=14),
    leave_from=st.integers(min_value=0, max_value=160),
    leave_hours=st.integers(min_value=1, max_value=30),
    probe=st.integers(min_value=0, max_value=7 * 24 * 4 - 1),
)
def test_stretches_agree_with_availability_at_every_instant(
    start: int, length: int, leave_from: int, leave_hours: int, probe: int
) -> None:
    """Working or on call (and not on time off) exactly where ``rules.availability`` says available now."""
    rule = rules.WorkingHours(
        weekdays=frozenset({0, 2, 4, 5}), start=time(start), end=time((start + length) % 24), zone=NY
    )
    leave = rules.TimeOff(ny(0, 0) + timedelta(hours=leave_from), ny(0, 0) + timedelta(hours=leave_from + leave_hours))
    schedule = rules.Schedule(physician_id=ME, working_hours=(rule,), time_off=(leave,))
    window = (ny(0, 0), ny(7, 0))
    found = stretches(schedule, frozenset(), *window)
    assert found[0].starts_at == window[0] and found[-1].ends_at == window[1]
    assert all(a.ends_at == b.starts_at and a.state != b.state for a, b in pairwise(found))
    at = window[0] + timedelta(minutes=15 * probe)
    [here] = [s for s in found if s.starts_at <= at < s.ends_at]
    answer = rules.availability(schedule, at, at + timedelta(hours=1), timedelta(0))
    assert (here.state in ("working", "on_call")) == answer.available_now
    assert (here.state == "time_off") == answer.on_leave


def test_local_to_utc_reads_wall_clock_times_in_the_zone() -> None:
    assert local_to_utc(datetime(2027, 1, 12, 9), "America/Chicago", "starts_at") == datetime(
        2027, 1, 12, 15, tzinfo=UTC
    )
    assert local_to_utc(datetime(2027, 7, 12, 9), "America/Phoenix", "at") == datetime(2027, 7, 12, 16, tzinfo=UTC)
    given_ = datetime(2027, 1, 12, 9, tzinfo=UTC)
    assert local_to_utc(given_, "America/Chicago", "at") == given_, "an instant with an offset is kept"


@pytest.mark.parametrize(
    ("local", "words"),
    [(datetime(2027, 3, 14, 2, 30), "does not exist"), (datetime(2027, 11, 7, 1, 30), "ambiguous")],
)
def test_local_to_utc_refuses_times_the_zone_skips_or_repeats(local: datetime, words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        local_to_utc(local, "America/New_York", "ends_at")
    assert refused.value.errors[0].field == "ends_at" and words in refused.value.errors[0].message
