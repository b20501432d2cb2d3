"""Formula escaping: dangerous cells get a quote, the quote comes off again, nothing else changes."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.spreadsheet import FORMULA_START, escape, escape_text, unescape


def escaped(values: list[str | None]) -> list[str | None]:
    return pl.Series("v", values, dtype=pl.String).to_frame().select(escape(pl.col("v"))).to_series().to_list()


def unescaped(values: list[str | None]) -> list[str | None]:
    return pl.Series("v", values, dtype=pl.String).to_frame().select(unescape(pl.col("v"))).to_series().to_list()


@pytest.mark.parametrize("start", list(FORMULA_START))
def test_a_cell_starting_with_a_formula_character_gets_one_quote(start: str) -> None:
    values = [f'{start}HYPERLINK("http://x","a")', start, f"'{start}1", f"''{start}"]
    assert escaped(values) == [f"'{v}" for v in values]
    assert unescaped(escaped(values)) == values


@pytest.mark.parametrize(
    "value", ["O'Neil", "'O'Neil", "'abc", "'", "''", "a=b", "1-2", " =1", "", "2024-03-05", "'\n=x", None]
)
def test_other_text_is_left_alone_both_ways(value: str | None) -> None:
    assert escaped([value]) == [value]
    assert unescaped([value]) == [value]


def test_only_text_columns_are_escaped() -> None:
    frame = pl.DataFrame({"name": ["=1", "-2"], "days_left": [-3, 4]})
    assert escape_text(frame).to_dict(as_series=False) == {"name": ["'=1", "'-2"], "days_left": [-3, 4]}


_TRICKY = st.text(alphabet=st.sampled_from(["'", *FORMULA_START, " ", "a", "\n"]), max_size=6)


@given(st.lists(st.one_of(_TRICKY, st.text(), st.none()), max_size=20))
def test_unescape_undoes_escape_and_escaped_text_never_starts_a_formula(values: list[str | None]) -> None:
    out = escaped(values)
    assert unescaped(out) == values
    assert not any(v and v[0] in FORMULA_START for v in out)
