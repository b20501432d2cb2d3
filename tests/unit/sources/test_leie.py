"""OIG LEIE reader: the fixture files, the supplements, and every way a file can be broken.

The expected values are computed from the fixture with the stdlib ``csv`` module, independently of
the reader.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.sources.leie import LEIE_HEADER, apply_leie_supplement, read_leie
from roster.sources.records import LIST_SCHEMA, ListFormatError, record_hash

LISTS = Path(__file__).resolve().parents[3] / "fixtures" / "lists"
UPDATED = LISTS / "UPDATED.csv"
HEADER_LINE = ",".join(f'"{name}"' for name in LEIE_HEADER)

# reference.md §1.4: real rows from the live file.
REAL_ROWS = (
    '"","","","#1 MARKETING SERVICE, INC","OTHER BUSINESS","SOBER HOME","","0000000000","","239 BRIGHTON BEACH AVENUE",'
    '"BROOKLYN","NY","11235","1128a1","20200319","00000000","00000000",""\n'
    '"","","","101 FIRST CARE PHARMACY INC","OTHER BUSINESS","PHARMACY","","1972902351","",'
    '"C/O 609 W 191ST STREET, APT D","NEW YORK","NY","10040","1128b8","20220320","00000000","00000000",""\n'
)


def quoted(values: list[str] | tuple[str, ...]) -> str:
    return ",".join('"' + value.replace('"', '""') + '"' for value in values)


def person(**values: str) -> list[str]:
    row = dict.fromkeys(LEIE_HEADER, "")
    row.update(
        LASTNAME="PLUMB", FIRSTNAME="ORSON", NPI="0000000000", DOB="19600102", STATE="OH", EXCLTYPE="1128a1",
        EXCLDATE="20200115", REINDATE="00000000", WAIVERDATE="00000000",
    )  # fmt: skip
    row.update(values)
    return [row[name] for name in LEIE_HEADER]


def leie_file(*rows: list[str], header: str = HEADER_LINE, newline: str = "\n") -> bytes:
    return newline.join([header, *(quoted(row) for row in rows)]).encode() + newline.encode()


def published(path: Path) -> list[dict[str, str]]:
    """Distinct rows of a LEIE file, in order, as the stdlib reads them."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seen: set[tuple[str, ...]] = set()
    distinct = []
    for row in rows:
        key = tuple(row.values())
        if key not in seen:
            seen.add(key)
            distinct.append(row)
    return distinct


def ymd(value: str) -> dt.date | None:
    return None if value in ("", "00000000") else dt.datetime.strptime(value, "%Y%m%d").date()


@pytest.fixture(scope="module")
def updated() -> pl.DataFrame:
    return read_leie(UPDATED)


# ---------------------------------------------------------------------------------------------
# the full file
# ---------------------------------------------------------------------------------------------


def test_header_constant() -> None:
    assert len(LEIE_HEADER) == 18
    assert LEIE_HEADER[0] == "LASTNAME" and LEIE_HEADER[-1] == "WVRSTATE"


def test_updated_schema_and_dedup(updated: pl.DataFrame) -> None:
    assert updated.drop("record").schema == pl.Schema(LIST_SCHEMA)
    assert updated.schema["record"] == pl.Struct(dict.fromkeys(LEIE_HEADER, pl.String()))
    lines = UPDATED.read_text(encoding="utf-8").splitlines()[1:]
    expected = published(UPDATED)
    assert len(lines) - len(expected) == 3  # the fixture repeats three lines verbatim
    assert updated.height == len(expected)
    assert record_hash(updated["record"]).is_unique().all()


def test_updated_values_match_the_published_rows(updated: pl.DataFrame) -> None:
    expected = published(UPDATED)
    hashes = record_hash(updated["record"]).to_list()
    for got, digest, row in zip(updated.iter_rows(named=True), hashes, expected, strict=True):
        assert got["record"] == row
        assert list(got["record"]) == list(LEIE_HEADER)
        assert digest == hashlib.sha256("\x1f".join(row.values()).encode()).hexdigest()
        assert got["entity"] == (bool(row["BUSNAME"]) and not row["LASTNAME"] and not row["FIRSTNAME"])
        assert got["npi"] == (None if row["NPI"] in ("", "0", "0000000000") else row["NPI"])
        assert got["dob"] == ymd(row["DOB"])
        assert got["excluded_on"] == ymd(row["EXCLDATE"])
        assert got["state"] == (row["STATE"] or None)
        assert got["last_name"] == (row["LASTNAME"] or None)
        assert got["business_name"] == (row["BUSNAME"] or None)


def test_updated_null_conventions(updated: pl.DataFrame) -> None:
    records = updated["record"].to_list()
    placeholders = {r["NPI"] for r in records if r["NPI"] in ("", "0", "0000000000")}
    assert placeholders == {"", "0", "0000000000"}  # the fixture carries all three
    assert updated.filter(pl.col("entity"))["dob"].null_count() == updated["entity"].sum()
    assert updated.filter(pl.col("entity"))["first_name"].null_count() == updated["entity"].sum()
    assert updated["excluded_on"].null_count() == 0


def test_updated_planted_name_dob_row(updated: pl.DataFrame) -> None:
    freeman = updated.filter(pl.col("last_name") == "FREEMAN", pl.col("first_name") == "DARNELL").row(0, named=True)
    assert freeman["npi"] is None
    assert freeman["dob"] == dt.date(1972, 6, 8)
    assert freeman["excluded_on"] == dt.date(2024, 1, 17)
    assert freeman["state"] == "CA"
    assert freeman["entity"] is False
    fitzgerald = updated.filter(pl.col("npi") == "1050998396")
    assert fitzgerald["last_name"].to_list() == ["FITZGERALD"]
    khalil = updated.filter(pl.col("business_name") == "SAMIRA KHALIL").row(0, named=True)
    assert khalil["entity"] is True and khalil["last_name"] is None


def test_record_key_is_identity_not_row(updated: pl.DataFrame) -> None:
    keys = updated["record_key"]
    assert keys.str.contains(r"^[0-9a-f]{64}$").all()
    # A changed exclusion date changes the hash, not the key.
    data = leie_file(person(), person(EXCLDATE="20210101"))
    frame = read_leie(data)
    assert frame["record_key"].n_unique() == 1
    assert record_hash(frame["record"]).n_unique() == 2
    # Placeholder spellings of "no NPI" / "no DOB" are the same identity.
    assert read_leie(leie_file(person(NPI="0", DOB="")))["record_key"].item() == (
        read_leie(leie_file(person(NPI="", DOB="00000000")))["record_key"].item()
    )


def test_record_key_value_is_pinned() -> None:
    """Stored hits and dismissals refer to record keys: their value must not move. A padded DOB is the
    date it spells (no DOB, "" as ever); names are stripped; a placeholder NPI counts as none."""
    row = person(LASTNAME=" PLUMB ", MIDNAME="Q", NPI="1234567893", DOB=" 19600102 ")
    expected = hashlib.sha256("\x1f".join(["PLUMB", "ORSON", "Q", "", "19600102", "1234567893"]).encode()).hexdigest()
    assert read_leie(leie_file(row))["record_key"].item() == expected
    undated = hashlib.sha256("\x1f".join(["PLUMB", "ORSON", "", "", "", ""]).encode()).hexdigest()
    assert read_leie(leie_file(person(DOB="00000000")))["record_key"].item() == undated


@given(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
def test_record_key_spells_the_dob_as_yyyymmdd(day: dt.date) -> None:
    text = f"{day.year:04d}{day.month:02d}{day.day:02d}"
    expected = hashlib.sha256("\x1f".join(["PLUMB", "ORSON", "", "", text, ""]).encode()).hexdigest()
    assert read_leie(leie_file(person(DOB=text)))["record_key"].item() == expected


def test_real_sample_rows() -> None:
    frame = read_leie((HEADER_LINE + "\n" + REAL_ROWS).encode())
    assert frame["entity"].to_list() == [True, True]
    assert frame["business_name"].to_list() == ["#1 MARKETING SERVICE, INC", "101 FIRST CARE PHARMACY INC"]
    assert frame["npi"].to_list() == [None, "1972902351"]
    assert frame["dob"].to_list() == [None, None]
    assert frame["excluded_on"].to_list() == [dt.date(2020, 3, 19), dt.date(2022, 3, 20)]
    assert frame["record"][1]["ADDRESS"] == "C/O 609 W 191ST STREET, APT D"


def test_bytes_path_crlf_and_bom_read_alike(tmp_path: Path) -> None:
    data = UPDATED.read_bytes()
    expected = read_leie(data)
    path = tmp_path / "UPDATED.csv"
    path.write_bytes(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"))
    assert read_leie(path).equals(expected)


def test_header_only_is_zero_rows() -> None:
    frame = read_leie((HEADER_LINE + "\n").encode())
    assert frame.height == 0
    assert frame.drop("record").schema == pl.Schema(LIST_SCHEMA)


def test_blank_lines_are_ignored() -> None:
    assert read_leie(leie_file(person()) + b"\n\n").height == 1


def test_values_are_stripped_and_emptied() -> None:
    row = read_leie(leie_file(person(LASTNAME=" PLUMB ", MIDNAME="  ", NPI=" 1972902351 "))).row(0, named=True)
    assert (row["last_name"], row["middle_name"], row["npi"]) == ("PLUMB", None, "1972902351")
    assert row["record"]["LASTNAME"] == " PLUMB "  # record keeps the published text


# ---------------------------------------------------------------------------------------------
# supplements
# ---------------------------------------------------------------------------------------------


def test_excl_supplement_adds_new_rows_once(updated: pl.DataFrame) -> None:
    excl = read_leie(LISTS / "2611EXCL.csv")
    assert excl.height == 4
    merged = apply_leie_supplement(updated, excl, "excl")
    assert merged.height == updated.height + 3  # one supplement row is already in UPDATED.csv
    assert merged.head(updated.height).equals(updated)
    agarwal = merged.filter(pl.col("last_name") == "AGARWAL").row(0, named=True)
    assert agarwal["dob"] == dt.date(1958, 12, 4) and agarwal["excluded_on"] == dt.date(2026, 10, 19)
    assert apply_leie_supplement(merged, excl, "excl").equals(merged)


def test_rein_supplement_removes_the_reinstated_exclusion(updated: pl.DataFrame) -> None:
    rein = read_leie(LISTS / "2611REIN.csv")
    assert [r["REINDATE"] for r in rein["record"]] == ["20261015", "20261002"]
    moore = updated.filter(pl.col("last_name") == "MOORE", pl.col("first_name") == "RACHEL")
    assert moore.height == 1
    merged = apply_leie_supplement(updated, rein, "rein")
    assert merged.height == updated.height - 1
    assert merged.filter(pl.col("last_name") == "MOORE", pl.col("first_name") == "RACHEL").height == 0
    assert apply_leie_supplement(merged, rein, "rein").equals(merged)


def test_rein_keeps_a_later_exclusion_of_the_same_party() -> None:
    base = read_leie(leie_file(person(EXCLDATE="20100101"), person(EXCLDATE="20200101")))
    rein = read_leie(leie_file(person(EXCLDATE="20100101", REINDATE="20150101")))
    left = apply_leie_supplement(base, rein, "rein")
    assert left["excluded_on"].to_list() == [dt.date(2020, 1, 1)]


def test_unknown_supplement_kind() -> None:
    frame = read_leie(leie_file(person()))
    with pytest.raises(ValueError, match="kind"):
        apply_leie_supplement(frame, frame, "both")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# broken files
# ---------------------------------------------------------------------------------------------


def rejects(data: bytes, match: str) -> ListFormatError:
    with pytest.raises(ListFormatError, match=match) as info:
        read_leie(data)
    return info.value


def test_wrong_header() -> None:
    swapped = HEADER_LINE.replace('"LASTNAME","FIRSTNAME"', '"FIRSTNAME","LASTNAME"')
    error = rejects(leie_file(person(), header=swapped), "expected column 1 LASTNAME, found FIRSTNAME")
    assert error.line == 1


def test_waiverstate_is_not_wvrstate() -> None:
    header = HEADER_LINE.replace("WVRSTATE", "WAIVERSTATE")
    rejects(leie_file(person(), header=header), "expected column 18 WVRSTATE, found WAIVERSTATE")


def test_missing_and_extra_header_columns() -> None:
    rejects(leie_file(header=HEADER_LINE.removesuffix(',"WVRSTATE"')), r"column 18 WVRSTATE, found none \(17 columns")
    rejects(leie_file(header=HEADER_LINE + ',"EXTRA"'), "unexpected column 19 EXTRA")


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_wrong_delimiter(separator: str) -> None:
    data = UPDATED.read_text(encoding="utf-8").replace('","', f'"{separator}"').encode()
    error = rejects(data, "header mismatch: expected column 1 LASTNAME.*not comma-separated")
    assert error.line == 1


@pytest.mark.parametrize("data", [b"", b"\n", b"  \r\n\n", b"\xef\xbb\xbf"])
def test_empty_file(data: bytes) -> None:
    rejects(data, "^empty file$")


def test_blank_first_line() -> None:
    rejects(b"\n" + leie_file(person()), "missing header")


@pytest.mark.parametrize(
    ("cut", "what"),
    [
        (lambda text: text.rstrip("\n").rsplit(",", 3)[0], "truncated line: 15 fields"),  # whole fields lost
        (lambda text: text.rstrip("\n").rsplit(",", 3)[0] + "\n", "truncated line: 15 fields"),
        (lambda text: text.rstrip("\n")[:-30], "unterminated quote"),  # cut inside a quoted value
        (lambda text: text.rstrip("\n")[:-1], "unterminated quote"),  # the closing quote lost
    ],
)
def test_truncated_last_line(cut, what: str) -> None:
    text = UPDATED.read_text(encoding="utf-8")
    last_line = text.count("\n")
    error = rejects(cut(text).encode(), what)
    assert error.line == last_line


def test_short_line_in_the_middle() -> None:
    rows = [person(), person(FIRSTNAME="ANN"), person(FIRSTNAME="BOB")]
    data = leie_file(*rows).replace(b',"20200115","00000000","00000000",""\n"PLUMB","BOB"', b'\n"PLUMB","BOB"', 1)
    data = data.replace(b',"20200115","00000000","00000000",""\n"PLUMB","ANN"', b'\n"PLUMB","ANN"', 1)
    assert rejects(data, "truncated line: 14 fields").line == 2


def test_extra_field() -> None:
    data = leie_file(person(), [*person(FIRSTNAME="ANN"), "SURPLUS"], person(FIRSTNAME="BOB"))
    assert rejects(data, "extra fields: 19 fields, expected 18").line == 3


def test_non_utf8_bytes() -> None:
    data = leie_file(person(), person(), person(), person(LASTNAME="MÜLLER"))
    error = rejects(data.replace("Ü".encode(), b"\xdc"), "not UTF-8 text: byte 0xdc")
    assert error.line == 5


def test_non_utf8_bytes_far_past_the_header() -> None:
    """Only the file's first 64 KiB are decoded in Python; polars checks the rest, and the error
    still names the line."""
    rows = [person(FIRSTNAME=f"ANN{i}") for i in range(2000)]
    data = leie_file(*rows, person(LASTNAME="MÜLLER"))
    assert len(data) > 1 << 17
    error = rejects(data.replace("Ü".encode(), b"\xdc"), "not UTF-8 text: byte 0xdc")
    assert error.line == 2002


def test_a_character_cut_by_the_header_span_is_no_error() -> None:
    """A two-byte character straddling the 64 KiB mark the header is looked for in is valid text."""
    offset = leie_file(person(), person(ADDRESS="Ü")).index("Ü".encode())
    row = person(ADDRESS="A" * ((1 << 16) - 1 - offset) + "Ü")
    data = leie_file(person(), row)
    assert data.index("Ü".encode()) == (1 << 16) - 1
    frame = read_leie(data)
    assert frame["record"][1]["ADDRESS"].endswith("Ü")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("DOB", "20231341"),  # month 13
        ("DOB", "19600230"),  # 30 February
        ("DOB", "1960012"),  # seven digits (chrono alone would take it)
        ("DOB", "1960-01-02"),
        ("EXCLDATE", "20200230"),
        ("EXCLDATE", "01/15/2020"),
        ("EXCLDATE", "2020011500"),
    ],
)
def test_bad_date(column: str, value: str) -> None:
    data = leie_file(person(), person(FIRSTNAME="ANN"), person(FIRSTNAME="BOB", **{column: value}))
    error = rejects(data, f"invalid date '{value}', expected YYYYMMDD")
    assert (error.line, error.column) == (4, column)
    assert f"line 4, column {column}" in str(error)


def test_repeated_rows_collapse_wherever_they_stand() -> None:
    """Only rows sharing a record key are compared in full; a repeat far from its first copy still goes,
    and a row of the same party that differs in any cell stays."""
    first, other, changed = person(), person(FIRSTNAME="ANN"), person(EXCLDATE="20210101")
    frame = read_leie(leie_file(first, other, changed, first, other))
    assert [r["FIRSTNAME"] for r in frame["record"]] == ["ORSON", "ANN", "ORSON"]
    assert frame["excluded_on"].to_list() == [dt.date(2020, 1, 15), dt.date(2020, 1, 15), dt.date(2021, 1, 1)]


def test_the_first_bad_date_by_line_is_named() -> None:
    """Dates are checked per distinct value; the error still names the first bad row in the file."""
    rows = [person(), person(DOB="zz"), person(DOB="aa"), person(DOB="zz"), person(DOB="19600102")]
    error = rejects(leie_file(*rows), "invalid date 'zz'")
    assert (error.line, error.column) == (3, "DOB")


def test_repeated_dates_map_back_to_their_rows() -> None:
    rows = [
        person(DOB=dob, FIRSTNAME=f"N{i}") for i, dob in enumerate(["19600102", "", "19600102", "00000000", "19991231"])
    ]
    assert read_leie(leie_file(*rows))["dob"].to_list() == [
        dt.date(1960, 1, 2),
        None,
        dt.date(1960, 1, 2),
        None,
        dt.date(1999, 12, 31),
    ]


def test_bad_date_line_counts_quoted_newlines() -> None:
    data = leie_file(person(ADDRESS="1 MAIN ST\nSUITE 2"), person(FIRSTNAME="ANN", ADDRESS="A\nB\nC"), person(DOB="x"))
    assert rejects(data, "invalid date").line == 7


def test_quoted_newlines_are_values() -> None:
    frame = read_leie(leie_file(person(ADDRESS="1 MAIN ST\nSUITE 2")))
    assert frame["record"].item()["ADDRESS"] == "1 MAIN ST\nSUITE 2"


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------

cell = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=12)


@given(st.lists(cell, min_size=18, max_size=18), st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)))
def test_any_row_round_trips_through_record(values: list[str], excluded: dt.date) -> None:
    values[LEIE_HEADER.index("EXCLDATE")] = excluded.strftime("%Y%m%d")
    values[LEIE_HEADER.index("DOB")] = ""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows([LEIE_HEADER, values])
    frame = read_leie(out.getvalue().encode())
    row = frame.row(0, named=True)
    assert row["record"] == dict(zip(LEIE_HEADER, values, strict=True))
    assert record_hash(frame["record"]).item() == hashlib.sha256("\x1f".join(values).encode()).hexdigest()
    assert row["excluded_on"] == excluded


@given(st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)))
def test_any_real_date_parses(day: dt.date) -> None:
    frame = read_leie(leie_file(person(DOB=day.strftime("%Y%m%d"))))
    assert frame["dob"].item() == day


def test_rows_of_one_exclusion_stay_unless_every_cell_repeats() -> None:
    """Repeated lines are looked for among rows of the same party and exclusion, then compared cell by cell."""
    moved = person(ADDRESS="2 OTHER ST")
    frame = read_leie(leie_file(person(), moved, person(), moved, person(WAIVERDATE="20220101")))
    assert [r["ADDRESS"] for r in frame["record"]] == ["", "2 OTHER ST", ""]
    assert frame["record_key"].n_unique() == 1
