"""Turnaround clocks: the shipped table and ``due_at`` for hours, calendar days and business days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import product
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.availability.clocks import (
    COLUMNS,
    LINES_OF_BUSINESS,
    REVIEW_TYPES,
    URGENCIES,
    ClockTableError,
    TurnaroundClock,
    due_at,
    load_clocks,
)

NY = ZoneInfo("America/New_York")
HOLIDAYS = frozenset({date(2029, 7, 4), date(2029, 9, 3)})


def clock(unit: str, amount: int, extension_days: int = 0) -> TurnaroundClock:
    return TurnaroundClock("medicare_advantage", "initial", "standard", unit, amount, extension_days, "test")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


# -- the shipped table -----------------------------------------------------------------------------


def test_the_shipped_table_has_every_combination_with_a_citation() -> None:
    clocks = load_clocks()
    assert set(clocks) == set(product(LINES_OF_BUSINESS, REVIEW_TYPES, URGENCIES))
    assert all(c.citation and c.amount > 0 for c in clocks.values())


@pytest.mark.parametrize("lob", ["medicare_advantage", "medicaid"])
def test_cms_0057_f_prior_authorization_clocks(lob: str) -> None:
    clocks = load_clocks()
    assert (clocks[lob, "initial", "expedited"].unit, clocks[lob, "initial", "expedited"].amount) == ("hours", 72)
    standard = clocks[lob, "initial", "standard"]
    assert (standard.unit, standard.amount, standard.extension_days) == ("calendar_days", 7, 14)
    assert "CMS-0057-F" in standard.citation
    appeal = clocks[lob, "appeal", "standard"]
    assert (appeal.unit, appeal.amount) == ("calendar_days", 30)


def test_peer_to_peer_uses_the_initial_figures() -> None:
    clocks = load_clocks()
    for lob, urgency in product(LINES_OF_BUSINESS, URGENCIES):
        p2p, initial = clocks[lob, "peer_to_peer", urgency], clocks[lob, "initial", urgency]
        assert (p2p.unit, p2p.amount, p2p.extension_days) == (initial.unit, initial.amount, initial.extension_days)


# -- refused tables --------------------------------------------------------------------------------

GOOD = "medicaid,initial,standard,calendar_days,7,14,42 CFR 438.210(d)(1)"


def write(tmp_path: Path, *rows: str, header: str = ",".join(COLUMNS)) -> Path:
    path = tmp_path / "clocks.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("medicaid,initial,standard,calendar_days,0,14,x", "amount"),
        ("medicaid,initial,standard,calendar_days,-3,14,x", "amount"),
        ("medicaid,initial,standard,calendar_days,seven,14,x", "amount"),
        ("medicaid,initial,standard,calendar_days,7,-1,x", "extension_days"),
        ("medicare,initial,standard,calendar_days,7,14,x", "line_of_business"),
        ("medicaid,reconsideration,standard,calendar_days,7,14,x", "review_type"),
        ("medicaid,initial,urgent,calendar_days,7,14,x", "urgency"),
        ("medicaid,initial,standard,weeks,7,14,x", "unit"),
        ("medicaid,initial,standard,calendar_days,7,14,", "citation"),
    ],
)
def test_a_bad_row_is_refused_naming_row_and_column(tmp_path: Path, row: str, column: str) -> None:
    with pytest.raises(ClockTableError, match=f"row 3, column {column}:") as caught:
        load_clocks(write(tmp_path, GOOD, row), complete=False)
    assert (caught.value.row, caught.value.column) == (3, column)


def test_a_repeated_key_names_both_rows(tmp_path: Path) -> None:
    with pytest.raises(ClockTableError, match=r"row 3, column urgency: repeats medicaid/initial/standard from row 2"):
        load_clocks(write(tmp_path, GOOD, GOOD), complete=False)


def test_a_missing_column_or_combination_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClockTableError, match="row 1, column citation: missing column"):
        load_clocks(write(tmp_path, header=",".join(COLUMNS[:-1])))
    with pytest.raises(ClockTableError, match="no row for medicare_advantage/initial/standard"):
        load_clocks(write(tmp_path, GOOD))
    assert len(load_clocks(write(tmp_path, GOOD), complete=False)) == 1


# -- due_at ----------------------------------------------------------------------------------------


def test_hours_are_elapsed_across_spring_forward() -> None:
    received = ny(2027, 3, 13, 12)
    due = due_at(received, clock("hours", 72), NY)
    assert due - received == timedelta(hours=72)
    assert due.astimezone(NY).hour == 13  # the wall clock moved an hour
    assert due.tzinfo is UTC


def test_calendar_days_end_at_the_same_local_time_across_dst() -> None:
    received = ny(2027, 3, 10, 12)
    due = due_at(received, clock("calendar_days", 7), NY)
    assert due.astimezone(NY).replace(tzinfo=None) == datetime(2027, 3, 17, 12)
    assert due - received == timedelta(days=7, hours=-1)
    fall = due_at(ny(2027, 11, 1, 9), clock("calendar_days", 7), NY)
    assert fall - ny(2027, 11, 1, 9) == timedelta(days=7, hours=1)


def test_calendar_days_into_a_gap_or_fold_are_deterministic() -> None:
    # 02:30 does not exist on 2027-03-14: due when the clock jumps (03:00 EDT).
    gap = due_at(ny(2027, 3, 7, 2, 30), clock("calendar_days", 7), NY)
    assert gap == datetime(2027, 3, 14, 7, tzinfo=UTC)
    # 01:30 happens twice on 2027-11-07: the first (EDT) one.
    fold = due_at(ny(2027, 10, 31, 1, 30), clock("calendar_days", 7), NY)
    assert fold == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_business_days_skip_the_weekend() -> None:
    received = ny(2029, 6, 29, 15)  # Friday
    assert due_at(received, clock("business_days", 1), NY) == ny(2029, 7, 2, 15)
    assert due_at(received, clock("business_days", 3), NY, HOLIDAYS) == ny(2029, 7, 5, 15)  # and July 4th


def test_business_days_skip_a_holiday() -> None:
    received = ny(2029, 7, 3, 10)  # Tuesday, July 4th on Wednesday
    assert due_at(received, clock("business_days", 1), NY, HOLIDAYS) == ny(2029, 7, 5, 10)
    assert due_at(received, clock("business_days", 1), NY) == ny(2029, 7, 4, 10)


def test_business_days_received_on_a_saturday() -> None:
    received = ny(2029, 7, 7, 10)
    assert due_at(received, clock("business_days", 1), NY, HOLIDAYS) == ny(2029, 7, 9, 10)
    assert due_at(received, clock("business_days", 2), NY, HOLIDAYS) == ny(2029, 7, 10, 10)


def test_business_days_use_the_organization_zone() -> None:
    received = datetime(2029, 7, 7, 2, tzinfo=UTC)  # Friday 22:00 in New York
    assert due_at(received, clock("business_days", 1), NY) == ny(2029, 7, 9, 22)


def test_an_extension_adds_calendar_days() -> None:
    received = ny(2029, 7, 2, 9)
    assert due_at(received, clock("calendar_days", 7, 14), NY, extended=True) == ny(2029, 7, 23, 9)
    assert due_at(received, clock("hours", 72, 14), NY, extended=True) == ny(2029, 7, 19, 9)


def test_a_naive_receipt_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        due_at(datetime(2029, 7, 2), clock("hours", 72), NY)


@given(
    received=st.datetimes(datetime(2026, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)),
    unit=st.sampled_from(["calendar_days", "business_days"]),
    amount=st.integers(1, 40),
)
def test_day_clocks_keep_the_local_time_and_never_land_on_a_day_off(received: datetime, unit: str, amount: int) -> None:
    due = due_at(received, clock(unit, amount), NY, HOLIDAYS)
    assert due > received
    local_received, local_due = received.astimezone(NY), due.astimezone(NY)
    if local_due.time() != local_received.time():  # only when that local time is skipped that day
        assert local_due.replace(tzinfo=None).time() == datetime(2000, 1, 1, 3).time()
    if unit == "business_days":
        assert local_due.weekday() < 5 and local_due.date() not in HOLIDAYS
    else:
        assert (local_due.date() - local_received.date()).days == amount
