"""On-call rotations (rules.md §5): wall-clock hand-offs across DST, priority, overrides, O(1) lookup."""

from __future__ import annotations

import itertools
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
    Shift,
    layer_problem,
    layer_shift,
    layer_shifts,
    layer_start,
    on_call,
    on_call_timeline,
    shifts_by_physician,
)

NY = ZoneInfo("America/New_York")
PHOENIX = ZoneInfo("America/Phoenix")
HONOLULU = ZoneInfo("Pacific/Honolulu")
A, B, C, D = (uuid.UUID(int=i) for i in range(1, 5))
H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def twelve(starts_on: date = date(2027, 3, 1), members: tuple[uuid.UUID, ...] = (A, B), **kw) -> Layer:
    return Layer(
        name=kw.pop("name", "primary"),
        priority=kw.pop("priority", 1),
        members=members,
        handoff_time=kw.pop("handoff_time", time(7)),
        shift_hours=kw.pop("shift_hours", 12),
        starts_on=starts_on,
    )


# -- DST -------------------------------------------------------------------------------------------


def test_new_york_night_shift_across_spring_forward_is_11_hours_and_keeps_its_handoffs() -> None:
    shift = layer_shift(twelve(), NY, local(NY, 2027, 3, 14, 1, 0))  # Sat 19:00 -> Sun 07:00
    assert shift is not None
    assert shift.starts_at.astimezone(NY).replace(tzinfo=None) == datetime(2027, 3, 13, 19)
    assert shift.ends_at.astimezone(NY).replace(tzinfo=None) == datetime(2027, 3, 14, 7)
    assert shift.ends_at - shift.starts_at == 11 * H
    assert shift.starts_at.tzinfo is UTC


def test_new_york_night_shift_across_fall_back_is_13_hours() -> None:
    shift = layer_shift(twelve(date(2027, 11, 1)), NY, local(NY, 2027, 11, 7, 3, 0))
    assert shift is not None
    assert shift.starts_at.astimezone(NY).replace(tzinfo=None) == datetime(2027, 11, 6, 19)
    assert shift.ends_at.astimezone(NY).replace(tzinfo=None) == datetime(2027, 11, 7, 7)
    assert shift.ends_at - shift.starts_at == 13 * H


def test_day_shifts_around_the_change_stay_12_hours_and_members_alternate() -> None:
    shifts = layer_shifts(twelve(), NY, local(NY, 2027, 3, 13, 8), local(NY, 2027, 3, 15, 6))
    assert [s.ends_at - s.starts_at for s in shifts] == [12 * H, 11 * H, 12 * H, 12 * H]
    assert [s.starts_at.astimezone(NY).hour for s in shifts] == [7, 19, 7, 19]
    assert [s.physician_id for s in shifts] == [A, B, A, B]  # shift k belongs to members[k mod n]


@pytest.mark.parametrize("zone", [PHOENIX, HONOLULU], ids=["America/Phoenix", "Pacific/Honolulu"])
@pytest.mark.parametrize("starts_on", [date(2027, 3, 1), date(2027, 11, 1)])
def test_no_dst_zones_always_give_12_hours(zone: ZoneInfo, starts_on: date) -> None:
    shifts = layer_shifts(
        twelve(starts_on),
        zone,
        local(zone, starts_on.year, starts_on.month, 1, 8),
        local(zone, starts_on.year, starts_on.month, 20, 8),
    )
    assert len(shifts) > 30
    assert {s.ends_at - s.starts_at for s in shifts} == {12 * H}
    assert {s.starts_at.astimezone(zone).hour for s in shifts} == {7, 19}


def test_a_weekly_shift_keeps_its_weekday_and_time_and_is_167_hours_over_spring_forward() -> None:
    layer = twelve(date(2027, 3, 8), members=(A, B, C), shift_hours=168, handoff_time=time(9))  # Monday
    shift = layer_shift(layer, NY, local(NY, 2027, 3, 14, 12))
    assert shift is not None and shift.physician_id == A
    assert shift.ends_at - shift.starts_at == 167 * H
    assert shift.ends_at.astimezone(NY).replace(tzinfo=None) == datetime(2027, 3, 15, 9)
    assert layer_shift(layer, NY, local(NY, 2027, 3, 22, 9)).physician_id == C  # type: ignore[union-attr]


def test_layer_problem_refuses_a_handoff_that_does_not_exist_or_repeats() -> None:
    assert "02:30 does not exist in America/New_York on 2027-03-14" in (
        layer_problem(twelve(date(2027, 1, 1), handoff_time=time(2, 30)), NY) or ""
    )
    # 07:00 + 18 h cycles through 01:00, which repeats on 2027-11-07.
    assert "01:00 is ambiguous" in (layer_problem(twelve(date(2027, 1, 4), shift_hours=18), NY) or "")
    assert layer_problem(twelve(date(2027, 1, 1), handoff_time=time(2, 30)), PHOENIX) is None
    assert layer_problem(twelve(date(2027, 1, 1)), NY) is None


# -- who is on call --------------------------------------------------------------------------------


def test_a_layer_not_yet_started_has_nobody() -> None:
    layer = twelve(date(2027, 3, 1))
    assert layer_shift(layer, NY, local(NY, 2027, 3, 1, 6, 59)) is None
    assert layer_shift(layer, NY, local(NY, 2027, 3, 1, 7, 0)).physician_id == A  # type: ignore[union-attr]
    rotation = Rotation(uuid.uuid4(), "precert", NY, (layer,))
    assert on_call(rotation, (), local(NY, 2027, 2, 28, 12)) is None


def test_priority_1_wins_once_started_and_a_lower_layer_covers_until_then() -> None:
    backup = twelve(date(2027, 1, 1), members=(C,), name="backup", priority=2, shift_hours=24)
    primary = twelve(date(2027, 3, 1), members=(A, B), name="primary", priority=1)
    rotation = Rotation(uuid.uuid4(), "precert", NY, (backup, primary))  # order given does not matter
    before = on_call(rotation, (), local(NY, 2027, 2, 20, 12))
    assert before is not None and before.physician_id == C and before.layer == "backup"
    after = on_call(rotation, (), local(NY, 2027, 3, 1, 12))
    assert after is not None and after.physician_id == A and after.layer == "primary"
    assert after.starts_at == local(NY, 2027, 3, 1, 7) and after.ends_at == local(NY, 2027, 3, 1, 19)


def test_an_override_beats_every_layer_with_its_own_bounds() -> None:
    rotation = Rotation(uuid.uuid4(), "precert", NY, (twelve(),))
    cover = Override(D, local(NY, 2027, 3, 2, 10), local(NY, 2027, 3, 2, 14))
    shift = on_call(rotation, (cover,), local(NY, 2027, 3, 2, 12))
    assert shift == Shift(D, cover.starts_at, cover.ends_at, "override")
    assert on_call(rotation, (cover,), local(NY, 2027, 3, 2, 14)).physician_id == A  # type: ignore[union-attr]


def test_the_latest_starting_override_wins_where_two_overlap() -> None:
    rotation = Rotation(uuid.uuid4(), "precert", NY, (twelve(),))
    long = Override(C, local(NY, 2027, 3, 2, 0), local(NY, 2027, 3, 3, 0))
    short = Override(D, local(NY, 2027, 3, 2, 12), local(NY, 2027, 3, 2, 13))
    for order in ((long, short), (short, long)):
        assert on_call(rotation, order, local(NY, 2027, 3, 2, 12, 30)).physician_id == D  # type: ignore[union-attr]
        assert on_call(rotation, order, local(NY, 2027, 3, 2, 13, 30)).physician_id == C  # type: ignore[union-attr]


def test_timeline_cuts_overrides_into_layer_shifts() -> None:
    rotation = Rotation(uuid.uuid4(), "precert", NY, (twelve(),))
    cover = Override(D, local(NY, 2027, 3, 2, 10), local(NY, 2027, 3, 2, 14))
    timeline = on_call_timeline(rotation, (cover,), local(NY, 2027, 3, 2, 7), local(NY, 2027, 3, 3, 7))
    assert [
        (s.physician_id, s.starts_at.astimezone(NY).hour, s.ends_at.astimezone(NY).hour, s.layer) for s in timeline
    ] == [
        (A, 7, 10, "primary"),
        (D, 10, 14, "override"),
        (A, 14, 19, "primary"),
        (B, 19, 7, "primary"),
    ]
    mine = shifts_by_physician([rotation], {rotation.id: [cover]}, local(NY, 2027, 3, 2, 7), local(NY, 2027, 3, 3, 7))
    assert [s.layer for s in mine[D]] == ["override"] and len(mine[A]) == 2


# -- properties ------------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [NY, PHOENIX, HONOLULU, ZoneInfo("Europe/London"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("America/Chicago")]
)
LAYERS = st.builds(
    Layer,
    name=st.just("l"),
    priority=st.just(1),
    members=st.lists(st.sampled_from([A, B, C, D]), min_size=1, max_size=4).map(tuple),
    handoff_time=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    shift_hours=st.sampled_from([1, 5, 8, 12, 18, 24, 36, 168]),
    starts_on=st.dates(date(2026, 1, 1), date(2028, 12, 31)),
)


@given(layer=LAYERS, zone=ZONES, offset=st.integers(-3 * 86400, 60 * 86400))
def test_layer_shift_contains_at_and_matches_enumeration_from_starts_on(
    layer: Layer, zone: ZoneInfo, offset: int
) -> None:
    first = layer_start(layer, zone)
    at = first + timedelta(seconds=offset)
    shift = layer_shift(layer, zone, at)
    if at < first:
        assert shift is None
        return
    assert shift is not None and shift.covers(at)
    # The same shift, found the slow way: walk every shift from the first.
    enumerated = layer_shifts(layer, zone, first, at + timedelta(seconds=1))
    assert enumerated[-1] == shift
    assert enumerated[0].starts_at == first


@given(layer=LAYERS, zone=ZONES, offset=st.integers(0, 400 * 86400), span=st.integers(1, 20 * 86400))
def test_consecutive_shifts_tile_time(layer: Layer, zone: ZoneInfo, offset: int, span: int) -> None:
    start = layer_start(layer, zone) + timedelta(seconds=offset)
    shifts = layer_shifts(layer, zone, start, start + timedelta(seconds=span))
    assert shifts[0].starts_at <= start < shifts[-1].ends_at or shifts[-1].ends_at >= start + timedelta(seconds=span)
    for before, after in itertools.pairwise(shifts):
        assert before.ends_at == after.starts_at
        assert before.starts_at <= before.ends_at
    assert all(s.starts_at < s.ends_at for s in shifts[:1] + shifts[-1:])


@given(
    zone=ZONES,
    offset=st.integers(0, 30 * 86400),
    overrides=st.lists(
        st.tuples(st.integers(0, 40 * 86400), st.integers(1, 3 * 86400), st.sampled_from([C, D])), max_size=4
    ),
    probe=st.integers(0, 10 * 86400 - 1),
)
def test_timeline_agrees_with_on_call_and_tiles(zone: ZoneInfo, offset: int, overrides: list, probe: int) -> None:
    backup = twelve(date(2027, 1, 1), members=(C,), name="backup", priority=2, shift_hours=24)
    primary = twelve(date(2027, 1, 20), members=(A, B), name="primary", priority=1)
    rotation = Rotation(uuid.UUID(int=99), "r", zone, (backup, primary))
    base = layer_start(backup, zone)
    covers = tuple(
        Override(who, base + timedelta(seconds=s), base + timedelta(seconds=s + length)) for s, length, who in overrides
    )
    start = base + timedelta(seconds=offset)
    end = start + timedelta(days=10)
    timeline = on_call_timeline(rotation, covers, start, end)
    assert timeline[0].starts_at == start and timeline[-1].ends_at == end
    for before, after in itertools.pairwise(timeline):
        assert before.ends_at == after.starts_at
    at = start + timedelta(seconds=probe)
    segment = next(s for s in timeline if s.covers(at))
    expected = on_call(rotation, covers, at)
    assert expected is not None
    assert (segment.physician_id, segment.layer) == (expected.physician_id, expected.layer)


def test_on_call_gaps_are_the_uncovered_time_and_the_on_call_reviewers_leave() -> None:
    from roster.availability.rules import OnCallGap, TimeOff, on_call_gaps

    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    zone = ZoneInfo("America/Phoenix")
    layer = Layer("primary", 1, (a, b), time(8), 12, date(2027, 1, 4))
    rotation = Rotation(uuid.UUID(int=9), "24x7", zone, (layer,))
    start = datetime(2027, 1, 4, 0, tzinfo=zone)
    end = datetime(2027, 1, 5, 20, tzinfo=zone)
    pto = TimeOff(datetime(2027, 1, 4, 22, tzinfo=zone), datetime(2027, 1, 5, 2, tzinfo=zone))
    gaps = on_call_gaps(rotation, (), {b: (pto,)}, start, end)
    assert gaps == [
        OnCallGap(start, datetime(2027, 1, 4, 8, tzinfo=zone), "nobody"),  # the layer starts at 08:00
        OnCallGap(pto.starts_at, pto.ends_at, "on_leave", b),  # b's night shift, 20:00-08:00
    ]
    covered = Override(a, pto.starts_at, pto.ends_at, rotation.id)
    assert on_call_gaps(rotation, (covered,), {b: (pto,)}, start, end) == gaps[:1], "an override closes the gap"
