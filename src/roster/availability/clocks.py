"""Turnaround clocks (rules.md §5): the table in ``fixtures/turnaround_clocks.csv`` and ``due_at``.

Pure: ``due_at`` is a function of the receipt instant, the clock row, the organization's zone and
its holidays. Local times are turned into instants with ``rules.local_instant``: the first instant
at which the organization's wall clock shows that time or later, so a due time that falls in a
spring-forward gap is the moment the clock jumps (never later than the rule), and one that falls in
a fall-back hour is its first occurrence (the earlier, stricter reading).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import product
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from roster.availability.rules import local_instant
from roster.vocabulary import LineOfBusiness, ReviewType

Urgency = Literal["standard", "expedited"]
ClockUnit = Literal["hours", "calendar_days", "business_days"]
ClockKey = tuple[str, str, str]

LINES_OF_BUSINESS: tuple[str, ...] = get_args(LineOfBusiness)
REVIEW_TYPES: tuple[str, ...] = get_args(ReviewType)
URGENCIES: tuple[str, ...] = get_args(Urgency)
UNITS: tuple[str, ...] = get_args(ClockUnit)
COLUMNS = ("line_of_business", "review_type", "urgency", "unit", "amount", "extension_days", "citation")
DEFAULT_PATH = Path(__file__).resolve().parents[3] / "fixtures" / "turnaround_clocks.csv"


@dataclass(frozen=True, slots=True)
class TurnaroundClock:
    """One row of the table (api.md ``GET /api/v1/turnaround-clocks`` item)."""

    line_of_business: str
    review_type: str
    urgency: str
    unit: str
    amount: int
    extension_days: int
    citation: str

    @property
    def key(self) -> ClockKey:
        return (self.line_of_business, self.review_type, self.urgency)


class ClockTableError(ValueError):
    """A refused table; ``row`` is the file's line number (the header is row 1)."""

    def __init__(self, path: Path | str, row: int | None, column: str | None, message: str) -> None:
        where = Path(path).name + (f" row {row}" if row is not None else "")
        where += f", column {column}" if column is not None else ""
        super().__init__(f"{where}: {message}")
        self.row = row
        self.column = column


def _choice(value: str, allowed: tuple[str, ...], fail) -> str:
    if value not in allowed:
        fail(f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _whole(value: str, minimum: int, fail) -> int:
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        fail(f"must be a whole number of at least {minimum}, got {value!r}")
    return number  # type: ignore[return-value]


def load_clocks(path: Path | str = DEFAULT_PATH, *, complete: bool = True) -> dict[ClockKey, TurnaroundClock]:
    """Read and check the table: known values, positive amounts, one row per key and (with ``complete``)
    a row for every (line of business, review type, urgency). Any fault raises ``ClockTableError``
    naming the row and column."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for column in COLUMNS:
            if column not in header:
                raise ClockTableError(path, 1, column, "missing column")
        extra = [c for c in header if c not in COLUMNS]
        if extra:
            raise ClockTableError(path, 1, extra[0], "unknown column")
        clocks: dict[ClockKey, TurnaroundClock] = {}
        rows: dict[ClockKey, int] = {}
        for number, raw in enumerate(reader, start=2):
            if None in raw or any(raw[c] is None for c in COLUMNS):
                raise ClockTableError(path, number, None, f"expected {len(COLUMNS)} fields")
            row = {c: raw[c].strip() for c in COLUMNS}

            def fail(message: str, column: str | None = None, number: int = number) -> None:
                raise ClockTableError(path, number, column, message)

            def at(column: str):
                return lambda message: fail(message, column)

            clock = TurnaroundClock(
                line_of_business=_choice(row["line_of_business"], LINES_OF_BUSINESS, at("line_of_business")),
                review_type=_choice(row["review_type"], REVIEW_TYPES, at("review_type")),
                urgency=_choice(row["urgency"], URGENCIES, at("urgency")),
                unit=_choice(row["unit"], UNITS, at("unit")),
                amount=_whole(row["amount"], 1, at("amount")),
                extension_days=_whole(row["extension_days"], 0, at("extension_days")),
                citation=row["citation"],
            )
            if not clock.citation:
                fail("a citation is required", "citation")
            if clock.key in clocks:
                fail(f"repeats {'/'.join(clock.key)} from row {rows[clock.key]}", "urgency")
            clocks[clock.key] = clock
            rows[clock.key] = number
    if complete:
        missing = [key for key in product(LINES_OF_BUSINESS, REVIEW_TYPES, URGENCIES) if key not in clocks]
        if missing:
            raise ClockTableError(path, None, None, "no row for " + ", ".join("/".join(k) for k in missing))
    return clocks


def is_business_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(day: date, days: int, holidays: frozenset[date]) -> date:
    """The ``days``-th business day after ``day`` (Saturdays, Sundays and ``holidays`` skipped)."""
    while days > 0:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            days -= 1
    return day


def due_at(
    received_at: datetime,
    clock: TurnaroundClock,
    org_zone: ZoneInfo,
    holidays: frozenset[date] = frozenset(),
    *,
    extended: bool = False,
) -> datetime:
    """When the decision is due (UTC).

    ``hours``: elapsed hours. ``calendar_days``: the same local time in ``org_zone`` that many days
    later, whatever DST did in between. ``business_days``: the same local time on the n-th business
    day after the local day of receipt (so a case received on a Saturday with 1 business day is due
    Monday at that time). ``extended`` adds the row's ``extension_days`` as calendar days after that.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be an aware datetime (UTC)")
    if clock.unit == "hours":
        due = received_at.astimezone(UTC) + timedelta(hours=clock.amount)  # elapsed, not wall-clock
    else:
        local = received_at.astimezone(org_zone).replace(tzinfo=None)
        if clock.unit == "calendar_days":
            day = local.date() + timedelta(days=clock.amount)
        elif clock.unit == "business_days":
            day = add_business_days(local.date(), clock.amount, holidays)
        else:
            raise ValueError(f"unknown clock unit {clock.unit!r}")
        due = local_instant(datetime.combine(day, local.time()), org_zone)
    if extended and clock.extension_days:
        local = due.astimezone(org_zone).replace(tzinfo=None)
        due = local_instant(local + timedelta(days=clock.extension_days), org_zone)
    return due


def turnaround_outcome(status: str, due_at: datetime, closed_at: datetime | None, now: datetime) -> str | None:
    """How a case fared against its clock: ``on_time`` or ``late`` once decided (``completed``), ``overdue``
    while open past ``due_at``, ``pending`` while open before it; None for a cancelled case (no decision)."""
    if status == "cancelled":
        return None
    if status == "completed":
        return "on_time" if closed_at is not None and closed_at <= due_at else "late"
    return "overdue" if now > due_at else "pending"
