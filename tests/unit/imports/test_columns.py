"""Column-wise bulk values: what sqlite3 stores for a polars column is what it stores for the Python values."""

from __future__ import annotations

import sqlite3
from datetime import date

import piccolo.engine.sqlite  # noqa: F401  (registers Piccolo's sqlite3 adapters, as the app does)
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from roster.db.bulk import _sqlite_column, _sqlite_series
from roster.imports.validation import _ITEMS, NPI, ROW, _Valid, record_schema


def stored(values: list[object]) -> list[object]:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (v)")
    connection.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    return [row[0] for row in connection.execute("SELECT v FROM t ORDER BY rowid")]


@given(st.lists(st.one_of(st.none(), st.dates(min_value=date(1, 1, 1)))))
def test_a_date_column_is_stored_as_its_values_would_be(days: list[date | None]) -> None:
    series = pl.Series(days, dtype=pl.Date)
    assert stored(_sqlite_series(series)) == stored(list(days))


@given(
    st.lists(
        st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")), max_size=3)
    )
)
def test_a_list_column_is_stored_as_its_values_would_be(lists: list[list[str]]) -> None:
    series = pl.Series(lists, dtype=pl.List(pl.String))
    assert stored(_sqlite_series(series)) == stored(list(lists))
    assert _sqlite_column(list(lists)) == [stored([v])[0] for v in lists]


@given(
    st.lists(
        st.lists(
            st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=_ITEMS), min_size=1),
            max_size=3,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_valid_records_keep_their_lists_through_polars(languages: list[list[str]]) -> None:
    valid = _Valid("physician")
    fields = {name: None for name in record_schema("physician") if name not in (ROW, NPI)}
    for row, items in enumerate(languages, start=2):
        valid.add(
            row,
            "1234567893",
            {**fields, "languages": items, "former_last_names": [], "specialties": [], "lines_of_business": []},
        )
    frame = valid.frame()
    assert frame.get_column("languages").to_list() == languages
    assert frame.get_column("former_last_names").to_list() == [[] for _ in languages]
    assert frame.get_column(ROW).to_list() == list(range(2, 2 + len(languages)))
