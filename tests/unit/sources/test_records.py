"""The derived forms of a published row: record keys and hashes must be SHA-256 itself, forever."""

from __future__ import annotations

import hashlib

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from roster.sources.records import SEP, record_hash, record_json, sha256_hex

# Any text a publisher's cell can hold once decoded: every code point but lone surrogates.
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@given(st.lists(st.none() | text, max_size=30))
def test_sha256_hex_is_hashlib_sha256_of_the_utf8_text(values: list[str | None]) -> None:
    digests = pl.select(sha256_hex(pl.lit(pl.Series("v", values, dtype=pl.String())))).to_series().to_list()
    assert digests == [None if value is None else hashlib.sha256(value.encode()).hexdigest() for value in values]


def test_sha256_hex_known_vectors() -> None:
    # FIPS 180-2 test vectors: pinned so that a changed implementation cannot pass by agreeing with itself.
    digests = pl.select(sha256_hex(pl.lit(pl.Series(["abc", ""])))).to_series().to_list()
    assert digests == [
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ]


@given(st.lists(st.tuples(text, st.none() | text, text), min_size=1, max_size=20))
def test_record_hash_is_sha256_of_the_values_joined(rows: list[tuple[str, str | None, str]]) -> None:
    record = pl.DataFrame(rows, schema=["A", "B", "C"], orient="row").select(pl.struct(pl.all()).alias("record"))
    expected = [hashlib.sha256(SEP.join(value or "" for value in row).encode()).hexdigest() for row in rows]
    assert record_hash(record.to_series()).to_list() == expected


def test_record_hash_and_json_of_no_rows() -> None:
    record = pl.DataFrame(schema={"A": pl.String(), "B": pl.String()}).select(pl.struct(pl.all()).alias("record"))
    assert record_hash(record.to_series()).dtype == pl.String()
    assert record_hash(record.to_series()).len() == 0
    assert record_json(record.to_series()).len() == 0
