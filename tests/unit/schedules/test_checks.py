"""The schedule write checks as pure functions: wall times per weekday and zone, layers."""

from __future__ import annotations

from datetime import date, time
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from roster.schedules.schemas import LayerBody
from roster.schedules.service import layers_problems, wall_time, working_hours_problems

NY = ZoneInfo("America/New_York")
TODAY = date(2026, 12, 4)


def test_wall_time() -> None:
    assert wall_time("07:05") == time(7, 5) and wall_time("23:59") == time(23, 59)


@pytest.mark.parametrize(
    ("weekdays", "start", "end", "fields"),
    [
        (["mon", "tue", "wed", "thu", "fri"], time(2, 30), time(10), []),  # US clocks change on Sundays
        (["sun"], time(2, 30), time(10), ["start"]),  # 2027-03-14 skips it
        (["sun"], time(1, 30), time(10), ["start"]),  # 2027-11-07 shows it twice
        (["sat"], time(22), time(2, 30), ["end"]),  # overnight: the end falls on Sunday
        (["sat"], time(22), time(1, 30), ["end"]),
        (["sun"], time(1, 30), time(2, 15), ["start", "end"]),
    ],
)
def test_working_hours_wall_times(weekdays: list[str], start: time, end: time, fields: list[str]) -> None:
    problems = working_hours_problems(weekdays, start, end, NY, None, None, TODAY)
    assert [p.field for p in problems] == fields


def test_working_hours_only_check_the_days_they_apply() -> None:
    # Ends before the spring change: fine; the rule starting after the fall change is fine until next March.
    assert working_hours_problems(["sun"], time(2, 30), time(9), NY, date(2027, 1, 1), date(2027, 3, 7), TODAY) == []
    assert working_hours_problems(["sun"], time(1, 30), time(9), NY, date(2027, 11, 8), date(2028, 3, 1), TODAY) == []
    assert working_hours_problems(["sun"], time(2, 30), time(9), ZoneInfo("America/Phoenix"), None, None, TODAY) == []
    [order] = working_hours_problems(["mon"], time(9), time(17), NY, date(2027, 2, 1), date(2027, 1, 1), TODAY)
    assert order.field == "effective_until"


def layer(name: str, handoff: str, hours: int = 12) -> LayerBody:
    return LayerBody(name=name, members=[uuid4()], handoff_time=handoff, shift_hours=hours, starts_on=date(2027, 1, 1))


def test_layers() -> None:
    assert layers_problems([layer("a", "07:00"), layer("b", "19:00")], "America/New_York") == []
    problems = layers_problems([layer("a", "07:00"), layer("a", "02:30"), layer("c", "01:00", 5)], "America/New_York")
    assert [p.field for p in problems] == ["layers.1.name", "layers.1.handoff_time", "layers.2.handoff_time"]
    assert "02:30 does not exist in America/New_York on 2027-03-14" in problems[1].message
    assert layers_problems([layer("a", "02:30")], "Pacific/Honolulu") == []
