"""Properties: the availability book's positions on an index, moved along through patches, are the ones a
lookup of every physician gives; a time view answered per book group is the one built from every
reviewer's own answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from roster.availability.book import micros, positions_in
from roster.availability.rules import Schedule, TimeOff, WorkingHours
from roster.availability.rules import availability as availability_of
from roster.matching.availability import Availability, _assembled, live_time_view
from roster.matching.index import RosterIndex, time_view
from tests.unit.matching.roster import RULES, reviewer
from tests.unit.matching.test_index_agrees import rosters
from tests.unit.matching.test_index_patched import write_batches

START = datetime(2027, 3, 1, tzinfo=UTC)
MIN_REVIEW = timedelta(hours=2)
NINE_TO_FIVE = WorkingHours(frozenset(range(5)), time(9), time(17), ZoneInfo("America/New_York"))


def book_of(ids: list[UUID]) -> Availability:
    schedules = {pid: Schedule(pid, working_hours=(NINE_TO_FIVE,)) for pid in ids}
    return _assembled(START, START + timedelta(days=10), frozenset(), schedules)


@settings(max_examples=80)
@given(data=st.data(), roster=rosters())
def test_positions_follow_patches_as_a_lookup_finds_them(data: st.DataObject, roster: list) -> None:
    batches = data.draw(write_batches(roster))
    everyone = sorted({r.id for r in roster} | {pid for b in batches for pid in b}, key=str)
    # The book holds some of the roster, some physicians only a later write adds, and a stranger.
    in_book = [pid for pid in everyone if data.draw(st.booleans())] + [uuid.uuid4()]
    availability = book_of(in_book)
    index = RosterIndex(roster, RULES)
    assert np.array_equal(availability.positions(index), positions_in(availability.book, index.row_of))
    for batch in batches:
        index = index.patched(batch)
        if data.draw(st.booleans()):  # a patch nobody matched against: the next one is not patched from it
            continue
        positions = availability.positions(index)
        assert np.array_equal(positions, positions_in(availability.book, index.row_of))
        assert availability.positions(index) is positions, "asked again: the same answer, not a new one"


def test_positions_on_an_unrelated_index_are_looked_up_and_the_earlier_ones_stay_as_they_were() -> None:
    a, b, c = reviewer(1), reviewer(2), reviewer(3)
    availability = book_of([c.id, a.id])
    book = availability.book.physicians

    def expected(index: RosterIndex) -> list[int]:
        return [index.row_of.get(pid, -1) for pid in book]

    old = RosterIndex([a, b], RULES)
    first = availability.positions(old)
    assert first.tolist() == expected(old) and sorted(first.tolist()) == [-1, old.row_of[a.id]]
    patched = old.patched({b.id: None, c.id: c})
    moved = availability.positions(patched)
    assert moved.tolist() == expected(patched) and -1 not in moved.tolist()
    assert first.tolist() == expected(old), "the positions a request still holds are not changed"
    other = RosterIndex([c], RULES)
    assert availability.positions(other).tolist() == expected(other)
    assert patched.moved_rows(other) is None and other.moved_rows(patched) is None


def test_open_cases_carry_over_from_an_empty_roster() -> None:
    """The first physician of an empty roster: nothing to carry, and no error."""
    empty = RosterIndex([], RULES)
    first = reviewer(1)
    patched = empty.patched({first.id: first})
    assert patched.carried_over(empty, empty.open_case_counts({})).tolist() == [0]


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    roster=rosters(),
    hour=st.integers(min_value=0, max_value=24 * 8),
    due_hours=st.integers(min_value=0, max_value=24 * 5),
    require_now=st.booleans(),
    on_call_first=st.booleans(),
)
def test_a_time_view_answered_per_kind_is_the_view_answered_per_row(
    data: st.DataObject, roster: list, hour: int, due_hours: int, require_now: bool, on_call_first: bool
) -> None:
    """The live view answers once per book group and gathers to rows; its rows and reason counts are those
    of the view built from every row's own answer."""
    hours = (
        NINE_TO_FIVE,
        WorkingHours(frozenset({0, 2, 4}), time(13), time(21), ZoneInfo("America/Los_Angeles")),
    )
    schedules = {}
    for r in roster:
        pattern = data.draw(st.sampled_from([(), hours[:1], hours[1:], hours]))
        leave = (TimeOff(START + timedelta(hours=hour - 1), START + timedelta(hours=hour + 30)),)
        off = leave if data.draw(st.booleans()) else ()
        if pattern or off:
            schedules[r.id] = Schedule(r.id, working_hours=pattern, time_off=off)
    availability = _assembled(START, START + timedelta(days=45), frozenset(), schedules)
    index = RosterIndex(roster, RULES)
    at = START + timedelta(hours=hour)
    due_at = at + timedelta(hours=due_hours)
    options = {"require_now": require_now, "on_call_first": on_call_first}
    live = live_time_view(availability, index, at, due_at, MIN_REVIEW, **options)
    assert live is not None
    # Every reviewer's own answer, from its schedule (none on file: available at every instant).
    own = [availability_of(schedules.get(r.id, Schedule(r.id)), at, due_at, MIN_REVIEW) for r in index.reviewers]
    expected = time_view(
        np.array([a.available_now for a in own], dtype=bool),
        np.array([a.on_leave for a in own], dtype=bool),
        np.array([a.cannot_meet_due for a in own], dtype=bool),
        np.array([-1 if a.available_from is None else micros(a.available_from) for a in own], dtype=np.int64),
        np.zeros(len(own), dtype=bool),
        **options,
    )
    assert live.counts == expected.counts
    for name in ("excluded", "bits", "penalty", "available_now", "available_from"):
        assert live.every_row(name).tolist() == expected.every_row(name).tolist(), name
        rows = list(range(0, index.size, 3))
        assert live.of_rows(name, rows) == expected.of_rows(name, rows), name
