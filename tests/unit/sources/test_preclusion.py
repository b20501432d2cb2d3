"""CMS Preclusion List reader: CSV and XLSX fixtures, custom layouts, and broken files.

Workbook variants are made by editing the fixture's shared strings, so the tests need no
spreadsheet writer.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.sources.preclusion import DEFAULT_LAYOUT, PreclusionLayout, read_preclusion
from roster.sources.records import LIST_SCHEMA, ListFormatError, record_hash

LISTS = Path(__file__).resolve().parents[3] / "fixtures" / "lists"
PRECLUSION_CSV = LISTS / "preclusion.csv"
PRECLUSION_XLSX = LISTS / "preclusion.xlsx"
HEADER = "NPI,Last Name,First Name,Middle Name,Business Name,Provider Type,Effective Date,Claim Denial Date,Reason"
ROW = "1972902351,PLUMB,ORSON,,,Physician,2024-03-05,2024-06-03,Revoked with re-enrollment bar"


def published() -> list[dict[str, str]]:
    with PRECLUSION_CSV.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def any_date(value: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            pass
    assert not value
    return None


def xlsx_with(renames: dict[str, str]) -> bytes:
    """The fixture workbook with some shared strings (header cells among them) replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(PRECLUSION_XLSX) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/sharedStrings.xml":
                for old, new in renames.items():
                    assert f"<t>{old}</t>".encode() in data
                    data = data.replace(f"<t>{old}</t>".encode(), f"<t>{new}</t>".encode())
            target.writestr(item, data)
    return out.getvalue()


def without_source_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop("record")


@pytest.fixture(scope="module")
def from_csv() -> pl.DataFrame:
    return read_preclusion(PRECLUSION_CSV)


def test_default_layout_is_the_documented_header() -> None:
    assert ",".join(DEFAULT_LAYOUT.columns().values()) == HEADER
    assert list(DEFAULT_LAYOUT.columns()) == [
        "npi", "last_name", "first_name", "middle_name", "business_name", "provider_type", "effective_date",
        "claim_denial_date", "reason",
    ]  # fmt: skip


def test_csv_fixture_values(from_csv: pl.DataFrame) -> None:
    assert from_csv.drop("record").schema == pl.Schema(LIST_SCHEMA)
    rows = published()
    assert from_csv.height == len(rows) == 150
    spellings = {("/" in row["Effective Date"]) for row in rows}
    assert spellings == {True, False}  # both date spellings occur
    hashes = record_hash(from_csv["record"]).to_list()
    for got, digest, row in zip(from_csv.iter_rows(named=True), hashes, rows, strict=True):
        assert got["record"] == row
        assert digest == hashlib.sha256("\x1f".join(row.values()).encode()).hexdigest()
        assert got["npi"] == (row["NPI"] or None)
        assert got["excluded_on"] == any_date(row["Effective Date"])
        assert got["entity"] == (bool(row["Business Name"]) and not row["Last Name"] and not row["First Name"])
        assert got["business_name"] == (row["Business Name"] or None)
        assert got["dob"] is None and got["state"] is None
        if row["NPI"]:
            assert got["record_key"] == row["NPI"]
        else:
            names = "\x1f".join([row["Last Name"], row["First Name"], row["Middle Name"], row["Business Name"]])
            assert got["record_key"] == hashlib.sha256(names.encode()).hexdigest()


def test_planted_npis(from_csv: pl.DataFrame) -> None:
    hits = from_csv.filter(pl.col("npi").is_in(["1309250201", "1862134370"])).sort("npi")
    assert hits["last_name"].to_list() == ["HARRIS", "WANG"]
    assert from_csv.filter(pl.col("npi").is_null())["entity"].to_list() == [True]


def test_xlsx_matches_csv(from_csv: pl.DataFrame) -> None:
    from_xlsx = read_preclusion(PRECLUSION_XLSX)
    assert from_xlsx.drop("record").schema == pl.Schema(LIST_SCHEMA)
    assert without_source_columns(from_xlsx).equals(without_source_columns(from_csv))
    record = from_xlsx["record"][0]
    assert list(record) == HEADER.split(",")
    assert record["NPI"] == from_csv["npi"][0]  # a number cell reads as its digits
    assert read_preclusion(PRECLUSION_XLSX.read_bytes()).equals(from_xlsx)


def test_values_are_stripped() -> None:
    row = read_preclusion(f'{HEADER}\n" 1972902351 ", PLUMB ,ORSON,,,,2024-03-05,,\n'.encode()).row(0, named=True)
    assert (row["npi"], row["last_name"], row["middle_name"]) == ("1972902351", "PLUMB", None)


def test_header_only_is_zero_rows() -> None:
    assert read_preclusion(f"{HEADER}\r\n".encode()).height == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", dt.date(2024, 3, 5)),
        ("03/05/2024", dt.date(2024, 3, 5)),
        ("3/5/2024", dt.date(2024, 3, 5)),
        ("2024-03-05 00:00:00", dt.date(2024, 3, 5)),
        ("", None),
    ],
)
def test_accepted_dates(value: str, expected: dt.date | None) -> None:
    data = f"{HEADER}\n1972902351,PLUMB,ORSON,,,,{value},,\n".encode()
    assert read_preclusion(data)["excluded_on"].item() == expected


# ---------------------------------------------------------------------------------------------
# layouts
# ---------------------------------------------------------------------------------------------


def test_custom_layout_csv() -> None:
    layout = PreclusionLayout(
        npi="Provider NPI",
        last_name="Surname",
        first_name="Given Name",
        middle_name=None,
        business_name="Organization",
        provider_type="Specialty",
        effective_date="Preclusion Date",
        claim_denial_date=None,
        reason=None,
        state="State",
    )
    data = (
        b"Notes,Preclusion Date,State,Organization,Given Name,Surname,Specialty,Provider NPI\n"
        b"see letter,12/01/2025,NJ,,ORSON,PLUMB,Physician,1972902351\n"
        b",2025-11-01,NY,ACME HOME CARE LLC,,,Home Health Agency,\n"
    )
    frame = read_preclusion(data, layout=layout)
    assert frame["npi"].to_list() == ["1972902351", None]
    assert frame["last_name"].to_list() == ["PLUMB", None]
    assert frame["entity"].to_list() == [False, True]
    assert frame["state"].to_list() == ["NJ", "NY"]
    assert frame["middle_name"].to_list() == [None, None]
    assert frame["excluded_on"].to_list() == [dt.date(2025, 12, 1), dt.date(2025, 11, 1)]
    assert frame["record"][0]["Notes"] == "see letter"
    with pytest.raises(ListFormatError, match="missing columns 'NPI', 'Last Name'"):
        read_preclusion(data)


def test_custom_layout_xlsx(from_csv: pl.DataFrame) -> None:
    data = xlsx_with({"NPI": "Provider NPI", "Effective Date": "Precluded From"})
    with pytest.raises(ListFormatError, match="missing columns 'NPI', 'Effective Date'"):
        read_preclusion(data)
    layout = PreclusionLayout(npi="Provider NPI", effective_date="Precluded From")
    assert without_source_columns(read_preclusion(data, layout=layout)).equals(without_source_columns(from_csv))


def test_layout_is_a_msgspec_struct() -> None:
    import msgspec

    layout = msgspec.json.decode(b'{"npi": "Provider NPI", "reason": null}', type=PreclusionLayout)
    assert layout.npi == "Provider NPI" and layout.reason is None and layout.last_name == "Last Name"
    assert "reason" not in layout.columns()


# ---------------------------------------------------------------------------------------------
# broken files
# ---------------------------------------------------------------------------------------------


def rejects(data: bytes, match: str, **kwargs: object) -> ListFormatError:
    with pytest.raises(ListFormatError, match=match) as info:
        read_preclusion(data, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_xlsx_missing_a_mapped_column() -> None:
    error = rejects(xlsx_with({"Claim Denial Date": "Denial"}), r"^missing column 'Claim Denial Date' \(line 1\)$")
    assert error.line == 1


def test_csv_missing_mapped_columns() -> None:
    header = HEADER.replace(",Effective Date", "").replace(",Reason", "")
    rejects(f"{header}\n".encode(), "missing columns 'Effective Date', 'Reason'")


def test_wrong_delimiter() -> None:
    rejects(PRECLUSION_CSV.read_bytes().replace(b",", b";"), "missing columns 'NPI', 'Last Name', ")


def test_duplicate_column() -> None:
    rejects(f"{HEADER},Reason\n{ROW},x\n".encode(), "duplicate column 10 'Reason'")


@pytest.mark.parametrize("data", [b"", b"\r\n", b"\xef\xbb\xbf \n"])
def test_empty_file(data: bytes) -> None:
    rejects(data, "^empty file$")


def test_truncated_last_line() -> None:
    text = PRECLUSION_CSV.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert rejects(text.rstrip().rsplit(",", 2)[0].encode(), "truncated line: 7 fields, expected 9").line == lines
    assert rejects((text.rstrip() + '\n1972902351,"PLUMB').encode(), "unterminated quote").line == lines + 1


def test_non_utf8_bytes() -> None:
    data = f"{HEADER}\n{ROW}\n{ROW.replace('PLUMB', 'PEÑA')}\n".encode().replace("Ñ".encode(), b"\xd1")
    assert rejects(data, "not UTF-8").line == 3


@pytest.mark.parametrize(
    "value", ["2024-02-30", "31/12/2024", "2024/01/05", "Jan 5 2024", "05/03/24", "2024-03-05 13:45:00"]
)
def test_bad_effective_date(value: str) -> None:
    data = f"{HEADER}\n{ROW}\n{ROW.replace('2024-03-05', value)}\n".encode()
    error = rejects(data, f"invalid date '{value}', expected YYYY-MM-DD or MM/DD/YYYY")
    assert (error.line, error.column) == (3, "Effective Date")


def test_bad_claim_denial_date() -> None:
    data = f"{HEADER}\n{ROW.replace('2024-06-03', '06/31/2024')}\n".encode()
    assert rejects(data, "invalid date '06/31/2024'").column == "Claim Denial Date"
    layout = PreclusionLayout(claim_denial_date=None)
    assert read_preclusion(data, layout=layout).height == 1


def test_bad_date_in_a_workbook_names_the_sheet_row() -> None:
    error = rejects(xlsx_with({}), "invalid date", layout=PreclusionLayout(effective_date="Reason"))
    assert (error.line, error.column) == (2, "Reason")


def test_not_a_workbook() -> None:
    rejects(b"PK\x03\x04" + b"\x00" * 100, "not a readable XLSX")
    rejects(PRECLUSION_CSV.read_bytes(), "not a readable XLSX", file_name="preclusion.xlsx")


def test_path_suffix_selects_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "list.XLSX"
    path.write_bytes(PRECLUSION_CSV.read_bytes())
    with pytest.raises(ListFormatError, match="not a readable XLSX"):
        read_preclusion(path)
    assert read_preclusion(path, file_name="list.csv").height == 150


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------


@given(st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)), st.booleans())
def test_any_real_date_in_either_spelling(day: dt.date, slashes: bool) -> None:
    value = day.strftime("%m/%d/%Y") if slashes else day.isoformat()
    data = f"{HEADER}\n1972902351,PLUMB,ORSON,,,,{value},{value},\n".encode()
    assert read_preclusion(data)["excluded_on"].item() == day


names = st.text(st.characters(categories=("Lu", "Ll", "Zs"), exclude_characters="\x1f"), max_size=12)


@given(names, names, names)
def test_key_without_npi_depends_on_names_only(last: str, first: str, business: str) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([HEADER.split(","), ["", last, first, "", business, "A", "2024-01-01", "", "x"]])
    writer.writerow(["", last, first, "", business, "B", "2025-01-01", "", "y"])
    frame = read_preclusion(out.getvalue().encode())
    assert frame["record_key"].n_unique() == 1
    assert record_hash(frame["record"]).n_unique() == 2
