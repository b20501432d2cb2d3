"""SAM exclusions extract reader: the ZIP fixture, its CSV, and broken files and archives.

Expected values come from the fixture read with the stdlib ``csv`` module.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import struct
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.sources.records import LIST_SCHEMA, ListFormatError, record_hash
from roster.sources.sam import SAM_HEADER, read_sam

LISTS = Path(__file__).resolve().parents[3] / "fixtures" / "lists"
EXTRACT = LISTS / "SAM_Exclusions_Public_Extract_V2_26327.ZIP"
HEADER_LINE = ",".join(f'"{name}"' for name in SAM_HEADER)

# reference.md §2.3: real rows (public federal data).
REAL_ROWS = (
    '"Individual","","","CARLOS","","PIEXOTTO","","","","","","BROOKLYN","NY","USA","11236","","","","Reciprocal",'
    '"GSA","","Ineligible (Proceedings Completed)","","11/22/2023","10/19/2026","","","S4MRRFZSX","","","2023-11-22"\n'
    '"Individual","","","MARQUIS","ASAAD","HOOPER","","","","","","NORTH LAS VEGAS","NV","USA","89031","","","",'
    '"Reciprocal","NAVY","","Ineligible (Proceedings Pending)","Proposed Debarment: 11-20-2023 ","11/20/2023",'
    '"Indefinite","","","S4MRRFNFM","","","2023-11-21"\n'
)


def csv_text() -> str:
    with zipfile.ZipFile(EXTRACT) as archive:
        (name,) = archive.namelist()
        return archive.read(name).decode("utf-8")


def published() -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(csv_text(), newline="")))
    seen: set[tuple[str, ...]] = set()
    distinct = []
    for row in rows:
        if tuple(row.values()) not in seen:
            seen.add(tuple(row.values()))
            distinct.append(row)
    return distinct


def sam_row(**values: str) -> list[str]:
    row = dict.fromkeys(SAM_HEADER, "")
    row.update(
        {
            "Classification": "Individual", "First": "ORSON", "Last": "PLUMB", "State / Province": "OH",
            "Active Date": "01/15/2020", "Termination Date": "Indefinite", "SAM Number": "S4MAAAAAA",
            "Creation_Date": "2020-01-16",
        }
    )  # fmt: skip
    row.update(values)
    return [row[name] for name in SAM_HEADER]


def sam_file(*rows: list[str], header: str = HEADER_LINE) -> bytes:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return (header + "\r\n" + out.getvalue()).encode()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def mdy(value: str) -> dt.date | None:
    return dt.datetime.strptime(value, "%m/%d/%Y").date() if value else None


@pytest.fixture(scope="module")
def extract() -> pl.DataFrame:
    return read_sam(EXTRACT)


def test_header_constant() -> None:
    assert len(SAM_HEADER) == 31
    assert (SAM_HEADER[0], SAM_HEADER[12], SAM_HEADER[-1]) == ("Classification", "State / Province", "Creation_Date")


def test_extract_schema_and_dedup(extract: pl.DataFrame) -> None:
    assert extract.drop("record").schema == pl.Schema(LIST_SCHEMA)
    assert extract.schema["record"] == pl.Struct(dict.fromkeys(SAM_HEADER, pl.String()))
    rows = list(csv.DictReader(io.StringIO(csv_text(), newline="")))
    expected = published()
    assert len(rows) - len(expected) == 4  # the fixture repeats four rows
    assert extract.height == len(expected)
    assert record_hash(extract["record"]).is_unique().all()


def test_extract_values_match_the_published_rows(extract: pl.DataFrame) -> None:
    hashes = record_hash(extract["record"]).to_list()
    for got, digest, row in zip(extract.iter_rows(named=True), hashes, published(), strict=True):
        assert got["record"] == row
        assert digest == hashlib.sha256("\x1f".join(row.values()).encode()).hexdigest()
        individual = row["Classification"] == "Individual"
        assert got["entity"] is not individual
        assert got["business_name"] == (None if individual else row["Name"] or None)
        assert (got["first_name"], got["last_name"]) == (row["First"] or None, row["Last"] or None)
        assert got["excluded_on"] == mdy(row["Active Date"])
        assert got["dob"] is None
        assert got["state"] == (row["State / Province"] or None)
        assert got["npi"] == (row["NPI"] or None)
        if row["SAM Number"]:
            assert got["record_key"] == row["SAM Number"]
        else:
            assert len(got["record_key"]) == 64


def test_extract_kinds_and_oddities(extract: pl.DataFrame) -> None:
    kinds = {r["Classification"] for r in extract["record"]}
    assert kinds == {"Individual", "Firm", "Special Entity Designation", "Vessel"}
    terminations = {r["Termination Date"] for r in extract["record"]}
    assert "Indefinite" in terminations
    comments = [r["Additional Comments"] for r in extract["record"]]
    assert any("\n" in c for c in comments) and any('"' in c for c in comments)
    # A firm listed once per cross-reference: one SAM Number, two rows.
    assert extract["record_key"].is_duplicated().any()


def test_planted_rows(extract: pl.DataFrame) -> None:
    kuznetsov = extract.filter(pl.col("npi") == "1313575957").row(0, named=True)
    assert (kuznetsov["last_name"], kuznetsov["entity"], kuznetsov["state"]) == ("KUZNETSOV", False, "PA")
    firm = extract.filter(pl.col("business_name") == "CAMILLE BOUDREAUX").row(0, named=True)
    assert firm["entity"] is True and firm["first_name"] is None


def test_csv_and_zip_read_alike(extract: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "extract.csv"
    path.write_text(csv_text(), encoding="utf-8", newline="")
    assert read_sam(path).equals(extract)
    assert read_sam(EXTRACT.read_bytes()).equals(extract)


def test_zip_may_hold_folders_and_other_files() -> None:
    data = zipped({"docs/": b"", "README.txt": b"hello", "x/SAM.csv": sam_file(sam_row())})
    assert read_sam(data).height == 1


def test_real_sample_rows() -> None:
    frame = read_sam((HEADER_LINE + "\n" + REAL_ROWS).encode())
    assert frame["record_key"].to_list() == ["S4MRRFZSX", "S4MRRFNFM"]
    assert frame["excluded_on"].to_list() == [dt.date(2023, 11, 22), dt.date(2023, 11, 20)]
    assert frame["middle_name"].to_list() == [None, "ASAAD"]
    assert frame["npi"].to_list() == [None, None]
    assert frame["record"][1]["Additional Comments"] == "Proposed Debarment: 11-20-2023 "


def test_key_without_sam_number_is_the_identity() -> None:
    frame = read_sam(
        sam_file(
            sam_row(**{"SAM Number": ""}),
            sam_row(**{"SAM Number": "", "Active Date": "02/01/2021"}),
            sam_row(**{"SAM Number": "", "First": "ANN"}),
        )
    )
    keys = frame["record_key"].to_list()
    assert keys[0] == keys[1] != keys[2]
    assert all(len(key) == 64 for key in keys)


@pytest.mark.parametrize("value", ["", "0", "0000000000", "N/A", "123"])
def test_npi_placeholders_are_null(value: str) -> None:
    assert read_sam(sam_file(sam_row(NPI=value)))["npi"].item() is None


def test_empty_dates_allowed() -> None:
    row = read_sam(sam_file(sam_row(**{"Active Date": "", "Termination Date": "", "Creation_Date": ""}))).row(0)
    assert row[list(LIST_SCHEMA).index("excluded_on")] is None


# ---------------------------------------------------------------------------------------------
# broken files
# ---------------------------------------------------------------------------------------------


def rejects(data: bytes, match: str) -> ListFormatError:
    with pytest.raises(ListFormatError, match=match) as info:
        read_sam(data)
    return info.value


def test_wrong_header() -> None:
    header = HEADER_LINE.replace('"State / Province"', '"State"')
    assert rejects(sam_file(sam_row(), header=header), "expected column 13 State / Province, found State").line == 1


def test_header_without_npi_column() -> None:
    header = HEADER_LINE.replace(',"NPI"', "")
    rejects(sam_file(header=header), "expected column 30 NPI, found Creation_Date")


@pytest.mark.parametrize("separator", ["|", "\t"])
def test_wrong_delimiter(separator: str) -> None:
    rejects(csv_text().replace('","', f'"{separator}"').encode(), "header mismatch.*not comma-separated")


def test_empty() -> None:
    rejects(b"", "^empty file$")
    rejects(zipped({"SAM.CSV": b""}), "^empty file$")


def test_header_only_is_zero_rows() -> None:
    assert read_sam(zipped({"SAM.CSV": (HEADER_LINE + "\r\n").encode()})).height == 0


def test_truncated_last_line() -> None:
    text = csv_text()
    lines = text.count("\n")  # physical lines: one comment holds a line break
    assert rejects(text.rstrip()[:-40].encode(), "unterminated quote|truncated line").line == lines
    short = text.rstrip().rsplit(",", 2)[0] + "\r\n"
    assert rejects(short.encode(), "truncated line: 29 fields, expected 31").line == lines


def test_non_utf8_bytes() -> None:
    data = sam_file(sam_row(), sam_row(Last="PEÑA"))
    assert rejects(data.replace("Ñ".encode(), b"\xd1"), "not UTF-8").line == 3


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("Active Date", "2020-01-15", "MM/DD/YYYY"),
        ("Active Date", "13/15/2020", "MM/DD/YYYY"),
        ("Active Date", "1/15/2020", "MM/DD/YYYY"),
        ("Termination Date", "Permanent", "MM/DD/YYYY or 'Indefinite'"),
        ("Termination Date", "02/30/2024", "MM/DD/YYYY or 'Indefinite'"),
        ("Creation_Date", "01/16/2020", "YYYY-MM-DD"),
        ("Creation_Date", "2020-13-01", "YYYY-MM-DD"),
    ],
)
def test_bad_date(column: str, value: str, expected: str) -> None:
    data = sam_file(sam_row(), sam_row(**{"Additional Comments": "two\nlines"}), sam_row(**{column: value}))
    error = rejects(data, f"invalid date '{value}', expected {expected}")
    assert (error.line, error.column) == (5, column)


def test_zip_without_csv() -> None:
    rejects(zipped({"README.txt": b"nothing here"}), r"exactly one \.CSV file, found 0")


def test_zip_with_two_csvs() -> None:
    data = zipped({"a.CSV": sam_file(sam_row()), "b.csv": sam_file(sam_row())})
    rejects(data, r"exactly one \.CSV file, found 2 \(a\.CSV, b\.csv\)")


def test_corrupt_zip() -> None:
    rejects(b"PK\x03\x04" + b"\x00" * 64, "not a readable ZIP")
    good = EXTRACT.read_bytes()
    rejects(good[: len(good) // 2], "not a readable ZIP|cannot extract")


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------

cell = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=10)


@given(st.lists(cell, min_size=31, max_size=31), st.dates(dt.date(1980, 1, 1), dt.date(2099, 12, 31)))
def test_any_row_round_trips_through_record(values: list[str], active: dt.date) -> None:
    values[SAM_HEADER.index("Active Date")] = active.strftime("%m/%d/%Y")
    values[SAM_HEADER.index("Termination Date")] = "Indefinite"
    values[SAM_HEADER.index("Creation_Date")] = active.isoformat()
    row = read_sam(zipped({"x.csv": sam_file(values)})).row(0, named=True)
    assert row["record"] == dict(zip(SAM_HEADER, values, strict=True))
    assert row["excluded_on"] == active
    assert row["entity"] is (values[0].strip() != "Individual")


def test_rows_sharing_a_sam_number_stay_unless_every_cell_repeats() -> None:
    """Repeated rows are looked for among rows sharing a SAM Number, then compared cell by cell."""
    first, cross_reference = sam_row(), sam_row(**{"Cross-Reference": "ALSO KNOWN AS X"})
    frame = read_sam(sam_file(first, cross_reference, first, sam_row(**{"SAM Number": ""}), cross_reference))
    assert frame["record"].struct.field("Cross-Reference").to_list() == ["", "ALSO KNOWN AS X", ""]
    assert frame["record_key"].to_list()[:2] == ["S4MAAAAAA", "S4MAAAAAA"]


def test_a_damaged_deflate_stream_is_refused_by_its_crc() -> None:
    """The ISA-L inflate checks what ``zipfile`` checks: a changed byte is a refusal, never other rows."""
    good = bytearray(zipped({"x.csv": sam_file(*(sam_row(**{"SAM Number": f"S4M{i:06d}"}) for i in range(50)))}))
    info = zipfile.ZipFile(io.BytesIO(bytes(good))).infolist()[0]
    name_length, extra_length = struct.unpack("<HH", good[info.header_offset + 26 : info.header_offset + 30])
    middle = info.header_offset + 30 + name_length + extra_length + info.compress_size // 2
    for flipped in range(256):
        damaged = bytearray(good)
        damaged[middle] ^= flipped or 1
        try:
            read_sam(bytes(damaged))
        except ListFormatError as error:
            assert "cannot extract" in str(error), error
        else:  # pragma: no cover - a flipped byte that still inflates to the same CRC would be a miracle
            raise AssertionError("a damaged member was read")


def test_a_stored_member_is_read_too() -> None:
    content = sam_file(sam_row())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("x.csv", content)
    assert read_sam(buffer.getvalue()).height == 1
