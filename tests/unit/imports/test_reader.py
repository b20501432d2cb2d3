"""Reading roster files: all text, spreadsheet row numbers, and one clear error per file-level problem."""

from __future__ import annotations

import io

import pytest
import xlsxwriter

from roster.imports.layout import COLUMNS, CSV_COLUMNS
from roster.imports.reader import ROW, FileRejected, read_roster
from tests.integration.imports import roster_files as files


def rejected(data: bytes, name: str = "roster.csv") -> list[tuple[str | None, int | None, str | None, str]]:
    with pytest.raises(FileRejected) as caught:
        read_roster(data, name)
    return [(e.sheet, e.row, e.column, e.message) for e in caught.value.errors]


def test_csv_cells_are_text_stripped_and_null_when_empty() -> None:
    rows = [files.physician(1, first_name="  Ada  ", max_open_cases="007", middle_name="   ")]
    frame = read_roster(files.csv_bytes(rows)).frames["physician"]
    [row] = frame.to_dicts()
    assert row["first_name"] == "Ada" and row["max_open_cases"] == "007" and row["middle_name"] is None
    assert tuple(frame.columns) == (*COLUMNS["physician"], ROW)
    assert all(dtype.is_(frame.schema["npi"]) for dtype in frame.drop(ROW).dtypes)


def test_row_numbers_are_what_a_spreadsheet_shows() -> None:
    data = files.csv_bytes(files.roster_rows(2), bom=True)
    lines = data.split(b"\r\n")
    data = b"\r\n".join([*lines[:3], b"", b",,,", *lines[3:]])  # a blank line and an empty record
    source = read_roster(data)
    assert source.frames["physician"].get_column(ROW).to_list() == [2, 7]
    assert source.frames["license"].get_column(ROW).to_list() == [3, 8]
    assert source.frames["certification"].get_column(ROW).to_list() == [6, 9]


def test_quoted_newlines_stay_in_their_cell() -> None:
    rows = [files.physician(1, verification_source=""), files.license(1, verification_source="board\nsite")]
    source = read_roster(files.csv_bytes(rows))
    assert source.frames["license"].get_column("verification_source").to_list() == ["board\nsite"]


@pytest.mark.parametrize(("delimiter", "shown"), [("\t", "tab"), (";", "';'"), ("|", "'|'")])
def test_another_delimiter_is_one_error(delimiter: str, shown: str) -> None:
    data = files.csv_bytes(files.roster_rows(2), delimiter=delimiter)
    assert rejected(data) == [(None, 1, None, f"the file is not comma-separated (the header is split by {shown})")]


def test_header_problems_are_each_named_once() -> None:
    columns = [c for c in CSV_COLUMNS if c not in {"npi", "moc_status"}] + ["npi", "npi", "notes"]
    assert rejected(files.csv_bytes(files.roster_rows(1), columns)) == [
        (None, 1, "npi", "the column appears twice in the header"),
        (None, 1, "moc_status", "missing column"),
        (None, 1, "notes", "unknown column; expected only: " + ", ".join(CSV_COLUMNS)),
    ]


def test_a_header_only_file_has_no_records() -> None:
    source = read_roster(",".join(CSV_COLUMNS).encode() + b"\n")
    assert {kind: frame.height for kind, frame in source.frames.items()} == {
        "physician": 0,
        "license": 0,
        "certification": 0,
    }


def test_workbooks_are_recognised_by_content_not_name() -> None:
    source = read_roster(files.xlsx_bytes(files.roster_rows(2)), "roster.csv")
    assert source.workbook and source.frames["license"].height == 2
    assert source.sheet("license") == "licenses"


def test_workbook_rows_keep_their_sheet_row_and_residue_columns_are_ignored() -> None:
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as workbook:
        for sheet, kind in (("physicians", "physician"), ("licenses", "license"), ("certifications", "certification")):
            ws = workbook.add_worksheet(sheet)
            ws.write_row(0, 0, COLUMNS[kind])
        licenses = workbook.get_worksheet_by_name("licenses")
        row = files.license(1)
        licenses.write_row(3, 0, [row[c] for c in COLUMNS["license"]])  # rows 2 and 3 left blank
        licenses.set_column(len(COLUMNS["license"]), len(COLUMNS["license"]) + 2, 30)  # formatting only
    frame = read_roster(buffer.getvalue()).frames["license"]
    assert frame.get_column(ROW).to_list() == [4]
    assert frame.get_column("number").to_list() == ["MD00001"]


def test_workbook_sheet_problems() -> None:
    data = files.xlsx_bytes(files.roster_rows(1), extra_sheets=["Sheet1"], drop_sheets=["licenses"])
    assert [(s, m.split(";")[0]) for s, _, _, m in rejected(data, "r.xlsx")] == [
        ("Sheet1", "unexpected sheet"),
        ("licenses", "missing sheet (it may have only its header row)"),
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_quote_the_export_puts_before_a_formula_comes_off(fmt: str) -> None:
    person = files.physician(
        1,
        first_name='\'=HYPERLINK("http://x","a")',
        last_name="  '+SUM(1)",
        middle_name="'\tQ",
        suffix="''-1",
        former_last_names="'@A;B",
    )
    quoted = files.physician(2, first_name="'O'Neil", last_name="'abc", middle_name="'\r", suffix="'")
    cert = files.certification(1, moc_status="'=meeting")  # the CSV's last column: no line ending kept
    data = files.csv_bytes([person, quoted, cert]) if fmt == "csv" else files.xlsx_bytes([person, quoted, cert])
    source = read_roster(data, f"roster.{fmt}")
    names = ["first_name", "last_name", "middle_name", "suffix", "former_last_names"]
    assert source.frames["physician"].select(names).rows() == [
        ('=HYPERLINK("http://x","a")', "+SUM(1)", "\tQ", "'-1", "@A;B"),
        ("'O'Neil", "'abc", "\r", "'", None),
    ], "one quote off a quoted formula, kept verbatim after it; any other quote stays"
    assert source.frames["certification"].get_column("moc_status").to_list() == ["=meeting"]


def test_stray_cells_and_record_kinds_are_judged_on_the_cleaned_cells() -> None:
    """A foreign cell of only whitespace is empty (no stray); a row of only whitespace is no record;
    a row with cells but no ``record`` is one error, and so is an unknown kind."""
    rows = [
        files.physician(1, board="  \t "),
        files.license(1, board="'=ABIM"),
        {"record": "  ", "npi": " ", "state": "\t"},
        {"record": " ", "npi": "1234567893"},
        {**files.certification(1), "record": " Diploma "},
        files.certification(1, specialty="  ", board="ABIM"),
    ]
    assert rejected(files.csv_bytes(rows)) == [
        (None, 3, "board", "is not a license column; leave it empty on license rows"),
        (None, 5, "record", "is empty; use physician, license or certification"),
        (None, 6, "record", "'Diploma' is not a record kind; use physician, license or certification"),
    ]
    valid = [files.physician(1, board=" ", state="\t"), files.license(1, specialty="  "), {"record": " "}]
    source = read_roster(files.csv_bytes(valid))
    assert {kind: frame.height for kind, frame in source.frames.items()} == {
        "physician": 1,
        "license": 1,
        "certification": 0,
    }
