"""Name normalisation, last-name variants and nicknames (rules.md §4)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.screening.names import (
    last_name_variant_rows,
    last_name_variants,
    load_nicknames,
    nickname_pairs,
    normalize_name,
    normalized,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"

# Latin letters with and without accents, combining marks, punctuation, digits and odd spaces: the
# characters names are really written with. (Arbitrary code points are left out on purpose: Python
# and polars ship different Unicode versions, so a code point added in between may case-map or
# decompose differently.)
NAME_CHARS = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x24F),
    st.characters(min_codepoint=0x300, max_codepoint=0x36F),
    st.characters(min_codepoint=0x1E00, max_codepoint=0x1EFF),
    st.sampled_from(list("\t\n\u00a0\u2018\u2019\u02bc\u201c\u2013\u2014-'.,")),
)
names = st.text(alphabet=NAME_CHARS, max_size=30)
name_words = st.sampled_from(
    ["JR", "SR", "II", "III", "IV", "MD", "DO", "SMITH", "O'BRIEN", "DE", "LA", "JOSÉ", "-", ","]
)
suffixy_names = st.lists(name_words, max_size=6).map(" ".join)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José", "JOSE"),
        ("JOSÉ", "JOSE"),
        ("Zoë Ångström", "ZOE ANGSTROM"),
        ("Søren Łukasz Þór Straße", "SOREN LUKASZ THOR STRASSE"),
        ("O'Brien", "OBRIEN"),
        ("O\u2019Brien", "OBRIEN"),
        ("Smith Jr", "SMITH"),
        ("SMITH, JR.", "SMITH"),
        ("Smith III", "SMITH"),
        ("Smith Sr. M.D.", "SMITH"),
        ("Smith J.R.", "SMITH"),
        ("J.R.", "JR"),
        ("John Smith, MD", "JOHN SMITH"),
        ("Garcia-Lopez", "GARCIA LOPEZ"),
        ("  mary   ann\t", "MARY ANN"),
        ("St. John", "ST JOHN"),
        ("Do", "DO"),  # a surname, not the suffix
        ("Jr", "JR"),
        ("Smithjr", "SMITHJR"),
        ("", ""),
        ("1234 --", ""),
        (None, ""),
    ],
)
def test_normalize_name(raw: str | None, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_polars_keeps_null() -> None:
    out = pl.select(normalized(pl.lit(None, dtype=pl.String())).alias("x"))
    assert out["x"].to_list() == [None]


@given(st.one_of(names, suffixy_names))
def test_normalize_name_is_idempotent(raw: str) -> None:
    once = normalize_name(raw)
    assert normalize_name(once) == once


@given(st.lists(st.one_of(names, suffixy_names), max_size=20))
def test_polars_and_python_agree(raws: list[str]) -> None:
    series = pl.Series("name", raws, dtype=pl.String())
    vectorised = pl.select(normalized(pl.lit(series)).alias("name"))["name"].to_list()
    assert vectorised == [normalize_name(raw) for raw in raws]


@given(st.lists(st.one_of(names, suffixy_names), max_size=20))
def test_polars_normalisation_is_idempotent(raws: list[str]) -> None:
    frame = pl.DataFrame({"name": raws}, schema={"name": pl.String()})
    once = frame.select(normalized(pl.col("name")))
    assert once.select(normalized(pl.col("name"))).equals(once)


def test_last_name_variants() -> None:
    assert last_name_variants("Garcia-López") == {"GARCIA LOPEZ", "GARCIALOPEZ", "GARCIA", "LOPEZ"}
    assert last_name_variants("de la Cruz") == {"DE LA CRUZ", "DELACRUZ", "CRUZ"}
    assert last_name_variants("Smith Jr.", ["O'Brien", None, ""]) == {"SMITH", "OBRIEN"}
    assert last_name_variants("Smith-Jones", ["Lee-Park"], parts=False) == {
        "SMITH JONES",
        "SMITHJONES",
        "LEE PARK",
        "LEEPARK",
    }
    assert last_name_variants(None) == set()


@given(
    st.lists(
        st.tuples(st.one_of(st.none(), names, suffixy_names), st.lists(st.one_of(st.none(), names), max_size=3)),
        max_size=8,
    )
)
def test_variant_rows_agree_with_python(people: list[tuple[str | None, list[str | None]]]) -> None:
    frame = pl.DataFrame(
        {"id": list(range(len(people))), "last": [p[0] for p in people], "former": [p[1] for p in people]},
        schema={"id": pl.Int64(), "last": pl.String(), "former": pl.List(pl.String())},
    )
    rows = last_name_variant_rows(frame, "id", "last", "former")
    assert rows.columns == ["id", "variant", "whole"]
    for i, (last, former) in enumerate(people):
        mine = rows.filter(pl.col("id") == i)
        assert set(mine["variant"]) == last_name_variants(last, former)
        assert set(mine.filter("whole")["variant"]) == last_name_variants(last, former, parts=False)
        assert mine.height == len(set(mine["variant"]))


def test_load_nicknames(tmp_path: Path) -> None:
    path = tmp_path / "nicknames.csv"
    path.write_text("name,nickname\nRobert,Bob\nROBERT,BOB\nrobert,rob\nJOHN,JOHN\nJAMES,\nWilliam,Bill\n")
    frame = load_nicknames(path, published=False)
    assert frame.schema == pl.Schema({"name": pl.String(), "nickname": pl.String()})
    assert frame.rows() == [("ROBERT", "BOB"), ("ROBERT", "ROB"), ("WILLIAM", "BILL")]


def test_the_published_table_is_merged_with_the_projects_additions(tmp_path: Path) -> None:
    path = tmp_path / "nicknames.csv"
    path.write_text("name,nickname\nGuadalupe,Lupe\n")
    rows = set(load_nicknames(path).rows())
    assert ("GUADALUPE", "LUPE") in rows, "the project's own pair"
    assert {("WILLIAM", "BILL"), ("MARGARET", "PEGGY"), ("ELIZABETH", "BETSY")} <= rows, "the published English table"
    assert len(rows) > 2000


def test_two_formal_names_sharing_a_nickname_stay_apart() -> None:
    """The published table lists BILL -> ROBERT and BILL -> WILLIAM: Robert and William are still two names."""
    pairs = set(nickname_pairs(load_nicknames(FIXTURES / "nicknames.csv")).rows())
    assert {("ROBERT", "BILL"), ("WILLIAM", "BILL"), ("BOB", "ROB")} <= pairs
    assert ("ROBERT", "WILLIAM") not in pairs and ("WILLIAM", "ROBERT") not in pairs


def test_shipped_nicknames() -> None:
    frame = load_nicknames(FIXTURES / "nicknames.csv", published=False)
    assert frame.height >= 150
    raw = pl.read_csv(FIXTURES / "nicknames.csv", infer_schema=False)
    assert raw.columns == ["name", "nickname"]
    assert raw.height == frame.height, "every shipped pair is already normalised and distinct"
    for pair in [
        ("ROBERT", "BOB"),
        ("WILLIAM", "BILL"),
        ("GUADALUPE", "LUPE"),
        ("ALEJANDRO", "ALEX"),
        ("JOSE", "PEPE"),
    ]:
        assert pair in frame.rows()


def test_nickname_pairs_are_symmetric_and_join_siblings() -> None:
    nicknames = pl.DataFrame({"name": ["ROBERT", "ROBERT", "WILLIAM"], "nickname": ["BOB", "ROB", "BILL"]})
    pairs = set(nickname_pairs(nicknames).rows())
    assert {("ROBERT", "BOB"), ("BOB", "ROBERT"), ("BOB", "ROB"), ("ROB", "BOB"), ("BILL", "WILLIAM")} <= pairs
    assert all((b, a) in pairs for a, b in pairs)
    assert not any(a == b for a, b in pairs)
    assert ("BOB", "BILL") not in pairs
