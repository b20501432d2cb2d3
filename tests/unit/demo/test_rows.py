"""The demo's dates follow today; its dates of birth stay put (the sample lists match on them)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from roster.demo.service import _rows

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo"


@given(days=st.integers(min_value=-4000, max_value=4000))
def test_every_date_but_the_date_of_birth_moves_with_the_anchor(days: int) -> None:
    written = pl.read_csv(DEMO / "physicians.csv", infer_schema=False).head(20).to_dicts()
    loaded = _rows(DEMO / "physicians.csv", timedelta(days=days))[:20]
    for raw, row in zip(written, loaded, strict=True):
        assert row["date_of_birth"] == raw["date_of_birth"]
        for column in ("clinical_practice_start", "credentialed_on", "irr_passed_on"):
            if raw[column]:
                assert date.fromisoformat(row[column]) - date.fromisoformat(raw[column]) == timedelta(days=days)
            else:
                assert column not in row
