"""The report's CSV: streamed in chunks that add up to exactly one CSV, spreadsheet formulas defused."""

from __future__ import annotations

import csv
import io

import polars as pl

from roster.api.tabular import csv_chunks, csv_of

SCHEMA = {"name": pl.String, "days_left": pl.Int64}


def test_chunks_join_into_the_same_csv_as_one_frame() -> None:
    rows = [{"name": f"n{i}", "days_left": i - 3} for i in range(7)]
    chunks = list(csv_chunks(iter(rows), SCHEMA, chunk_rows=3))
    assert len(chunks) == 4, "header, then 3 + 3 + 1 rows"
    assert b"".join(chunks) == csv_of(rows, SCHEMA)
    parsed = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert [int(r["days_left"]) for r in parsed] == [-3, -2, -1, 0, 1, 2, 3], "numbers are never quoted"


def test_no_rows_is_just_the_header() -> None:
    assert b"".join(csv_chunks([], SCHEMA)) == b"name,days_left\n"


def test_text_that_a_spreadsheet_would_run_is_quoted() -> None:
    names = ("=SUM(A1)", "+1", "-1", "@cmd", "\tx", "\rx", "'=x", "O'Neil", "a=b", None)
    rows = [{"name": name, "days_left": -1} for name in names]
    parsed = [r["name"] for r in csv.DictReader(io.StringIO(csv_of(rows, SCHEMA).decode(), newline=""))]
    assert parsed == ["'=SUM(A1)", "'+1", "'-1", "'@cmd", "'\tx", "'\rx", "''=x", "O'Neil", "a=b", ""]
    streamed = b"".join(csv_chunks(iter(rows), SCHEMA, chunk_rows=4))
    assert streamed == csv_of(rows, SCHEMA), "the streamed report is escaped the same way"
