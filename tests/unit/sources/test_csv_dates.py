"""``DateColumn.values`` (the readers' fast parse) agrees with ``parsed`` on every value the reader's date
check accepts: the pattern test it leaves out only ever mattered for values the check refuses."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from roster.sources._csv import MM_DD_YYYY, YYYY_MM_DD, YYYYMMDD, DateColumn, Table

_COLUMNS = (
    DateColumn("d", [YYYYMMDD], nulls=("", "00000000")),
    DateColumn("d", [MM_DD_YYYY], also_valid=("Indefinite",)),
    DateColumn("d", [YYYY_MM_DD]),
)

#: Dates as published, and the near misses chrono would read leniently ("2023011", "1/2/2023").
_cells = st.one_of(
    st.dates().map(lambda d: d.strftime("%Y%m%d")),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.dates().map(lambda d: d.isoformat()),
    st.from_regex(r"\A ?[0-9/\-]{0,11} ?\Z"),
    st.sampled_from(["", "00000000", "Indefinite", "2023011", "1/2/2023", "20230229", "13/01/2023"]),
)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(_cells, min_size=1, max_size=20), which=st.sampled_from(range(len(_COLUMNS))))
def test_values_equals_parsed_where_the_check_accepts(cells: list[str], which: int) -> None:
    column = _COLUMNS[which]
    table = Table(frame=pl.DataFrame({"d": cells}), header=("d",), first_line=2, multiline=False)
    refused = set(column.rejected(table).collect().get_column("raw").to_list())
    accepted = pl.DataFrame({"d": [cell for cell in cells if cell not in refused]}, schema={"d": pl.String()})
    fast = accepted.select(column.values()).to_series().to_list()
    strict = accepted.select(column.parsed()).to_series().to_list()
    assert fast == strict


def test_lenient_values_are_refused_by_the_check() -> None:
    table = Table(frame=pl.DataFrame({"d": ["2023011", "20230101"]}), header=("d",), first_line=2, multiline=False)
    refused = _COLUMNS[0].rejected(table).collect().get_column("raw").to_list()
    assert refused == ["2023011"]
