"""Calendar arithmetic: months clamp to the month's last day and never roll over."""

from __future__ import annotations

import calendar
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.compliance.dates import add_months, add_years

dates = st.dates(min_value=date(1000, 1, 1), max_value=date(8999, 12, 31))
months = st.integers(min_value=-12_000, max_value=12_000)
years = st.integers(min_value=-999, max_value=999)


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 8, 31), 36, date(2026, 8, 31)),
        (date(2023, 8, 31), 1, date(2023, 9, 30)),
        (date(2023, 12, 15), 1, date(2024, 1, 15)),
        (date(2024, 1, 15), -1, date(2023, 12, 15)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2023, 2, 28), 36, date(2026, 2, 28)),
    ],
)
def test_add_months_examples(start: date, n: int, expected: date) -> None:
    assert add_months(start, n) == expected


def test_add_years_examples() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert add_years(date(2020, 2, 29), 5) == date(2025, 2, 28)
    assert add_years(date(2021, 6, 15), 5) == date(2026, 6, 15)


@given(dates, months)
def test_month_arithmetic_is_exact(d: date, n: int) -> None:
    result = add_months(d, n)
    assert isinstance(result, date)
    assert month_index(result) - month_index(d) == n


@given(dates, months)
def test_day_never_grows_and_is_kept_when_month_is_long_enough(d: date, n: int) -> None:
    result = add_months(d, n)
    assert result.day <= d.day
    month_length = calendar.monthrange(result.year, result.month)[1]
    if d.day <= month_length:
        assert result.day == d.day
    else:
        assert result.day == month_length


@given(dates)
def test_add_zero_months_is_identity(d: date) -> None:
    assert add_months(d, 0) == d
    assert add_years(d, 0) == d


@given(dates, months)
def test_result_is_a_valid_date(d: date, n: int) -> None:
    result = add_months(d, n)
    # Re-constructing proves the fields form a real date (no Feb 30, no month 13).
    assert date(result.year, result.month, result.day) == result
    assert 1 <= result.month <= 12
    assert 1 <= result.day <= calendar.monthrange(result.year, result.month)[1]


@given(dates, years)
def test_add_years_is_twelve_months(d: date, n: int) -> None:
    result = add_years(d, n)
    assert result == add_months(d, 12 * n)
    assert result.year == d.year + n
    assert result.month == d.month
    assert result.day <= d.day


@given(dates, st.integers(min_value=-6000, max_value=6000), st.integers(min_value=-6000, max_value=6000))
def test_composition_differs_only_by_clamping(d: date, a: int, b: int) -> None:
    stepwise = add_months(add_months(d, a), b)
    direct = add_months(d, a + b)
    assert (stepwise.year, stepwise.month) == (direct.year, direct.month)
    assert stepwise.day <= direct.day
    if d.day <= 28:
        assert stepwise == direct


@given(dates, months)
def test_result_is_monotone_in_months(d: date, n: int) -> None:
    assert add_months(d, n) <= add_months(d, n + 1)
