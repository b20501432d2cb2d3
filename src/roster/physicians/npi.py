"""NPI check digit: ISO Luhn over ``80840`` + the ten NPI digits (reference.md §4.3)."""

from __future__ import annotations


def luhn_sum(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total


def is_valid_npi(npi: str) -> bool:
    return len(npi) == 10 and npi.isascii() and npi.isdigit() and luhn_sum("80840" + npi) % 10 == 0


def check_digit(first_nine: str) -> str:
    """The tenth digit that makes ``first_nine`` a valid NPI."""
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError("need nine digits")
    return str((10 - luhn_sum("80840" + first_nine + "0") % 10) % 10)
