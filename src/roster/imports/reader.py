"""Read an uploaded roster file (CSV or XLSX) into one all-text frame per record kind.

Every cell is read as text (``infer_schema=False``; an NPI or license number keeps its leading
zeros), stripped, and null when empty; the leading quote the export puts before a would-be formula
(``roster.spreadsheet``) comes off. Each frame carries ``ROW``, the spreadsheet row a person
sees (header = row 1; blank rows still count). Problems with the file as a whole (not UTF-8, wrong
delimiter, a missing or unknown column, a missing or extra sheet) are :class:`FileRejected`, each
reported once instead of once per row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import fastexcel
import polars as pl

from roster import spreadsheet
from roster.imports.layout import COLUMNS, CSV_COLUMNS, KINDS, OPTIONAL_COLUMNS, RECORD, SHEETS, RecordKind
from roster.imports.schemas import RowError, row_error

#: Spreadsheet row of each record (header = 1).
ROW = "__row__"
UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_SPAN = 1 << 16
_OTHER_DELIMITERS = (";", "\t", "|")


class FileRejected(Exception):
    """The file cannot be read as a roster; ``errors`` says why, by sheet, row and column."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class RosterFile:
    #: Per record kind: one String column per layout column (null when empty) plus ``ROW``.
    frames: dict[RecordKind, pl.DataFrame]
    #: Whether the records came from XLSX sheets (errors then name the sheet).
    workbook: bool

    def sheet(self, kind: RecordKind) -> str | None:
        return SHEETS[kind] if self.workbook else None


def is_workbook(data: bytes, file_name: str | None = None) -> bool:
    if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        return True
    return bool(file_name) and str(file_name).lower().endswith((".xlsx", ".xlsm", ".xls"))


def read_roster(data: bytes, file_name: str | None = None) -> RosterFile:
    """CSV or XLSX, told apart by content (ZIP/OLE magic) and then by file name."""
    if not data or not data.strip():
        raise FileRejected([row_error(None, None, "the file is empty")])
    return read_workbook(data) if is_workbook(data, file_name) else read_csv(data)


def _cell(column: str) -> pl.Expr:
    """Stripped, empty -> null; a cell the export quoted (``'=x``) loses the quote and keeps what it protects.

    The quote goes by :func:`roster.spreadsheet.unescape`, so an exported roster reads back exactly.
    What follows it is kept verbatim: it may be a tab or carriage return that stripping would eat.
    """
    left = pl.col(column).str.strip_chars_start()
    cell = pl.when(spreadsheet.is_escaped(left)).then(spreadsheet.unescape(left)).otherwise(left.str.strip_chars_end())
    return cell.replace("", None).alias(column)


def _cleaned(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Clean every cell (:func:`_cell`), drop rows with nothing in them."""
    cleaned = frame.with_columns([_cell(c) for c in columns])
    return cleaned.filter(~pl.all_horizontal([pl.col(c).is_null() for c in columns]))


def _header_errors(
    found: Sequence[str], expected: Sequence[str], sheet: str | None, *, workbook: bool
) -> list[RowError]:
    errors = []
    seen: set[str] = set()
    for name in found:
        if name in seen:
            errors.append(row_error(1, name, "the column appears twice in the header", sheet))
        seen.add(name)
    if len(found) == 1 and not workbook:
        for sep in _OTHER_DELIMITERS:
            if sep in found[0]:
                shown = "tab" if sep == "\t" else repr(sep)
                return [row_error(1, None, f"the file is not comma-separated (the header is split by {shown})")]
    for name in expected:
        if name not in seen and name not in OPTIONAL_COLUMNS:
            errors.append(row_error(1, name, "missing column", sheet))
    for name in dict.fromkeys(found):
        if name not in expected:
            shown = name if name else "(blank)"
            errors.append(row_error(1, shown, "unknown column; expected only: " + ", ".join(expected), sheet))
    return errors


# --- CSV ---------------------------------------------------------------------------------------


def _utf8_body(data: bytes) -> bytes:
    if data.startswith(_UTF16_BOMS):
        raise FileRejected([row_error(None, None, "the file is UTF-16; save it as CSV UTF-8")])
    body = data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = body.count(b"\n", 0, exc.start) + 1
        raise FileRejected(
            [row_error(row, None, f"not UTF-8 text (byte 0x{body[exc.start]:02x}); save it as CSV UTF-8")]
        ) from None
    return body


def _bad_record(body: bytes, width: int) -> RowError:
    """The first record with the wrong number of fields, found with the stdlib reader (slow, exact)."""
    reader = csv.reader(io.StringIO(body.decode("utf-8")), strict=True)
    try:
        for index, record in enumerate(reader):
            if index and record and len(record) > width:
                return row_error(index + 1, None, f"{len(record)} fields, the header has {width}")
    except csv.Error as exc:
        return row_error(reader.line_num, None, f"malformed CSV ({exc}; an unclosed quote?)")
    return row_error(None, None, "malformed CSV")


def read_csv(data: bytes) -> RosterFile:
    body = _utf8_body(data)
    head = body[:_HEADER_SPAN].decode("utf-8", errors="ignore")
    try:
        header = [name.strip() for name in next(csv.reader(io.StringIO(head)))]
    except (csv.Error, StopIteration):
        raise FileRejected([row_error(1, None, "unreadable header line")]) from None
    problems = _header_errors(header, CSV_COLUMNS, None, workbook=False)
    if problems:
        raise FileRejected(problems)
    positional = [f"c{i}" for i in range(len(header))]
    try:
        frame = pl.read_csv(
            body, has_header=True, new_columns=positional, infer_schema=False, quote_char='"', raise_if_empty=False
        )
    except pl.exceptions.PolarsError:
        raise FileRejected([_bad_record(body, len(header))]) from None
    frame = _with_optional(frame.rename(dict(zip(positional, header, strict=True))), CSV_COLUMNS)
    frame = frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return RosterFile(frames=_split_records(frame), workbook=False)


def _with_optional(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The optional columns a file left out, as empty cells."""
    missing = [c for c in columns if c in OPTIONAL_COLUMNS and c not in frame.columns]
    return frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing) if missing else frame


def _filled(column: str) -> pl.Expr:
    """Whether a raw cell holds anything once cleaned: :func:`_cell` is null exactly when the cell is
    only whitespace (an escaped cell keeps at least the character its quote protects). A boolean
    straight from the raw text, without the cleaned text made for every cell."""
    return pl.col(column).str.contains(r"\S").fill_null(False)


def _split_records(frame: pl.DataFrame) -> dict[RecordKind, pl.DataFrame]:
    """One frame per ``record`` value, its own columns cleaned (:func:`_cell`); a cell outside its
    record's columns, or a bad ``record``, is an error. Rows with nothing in them are dropped.

    ``frame`` holds the raw cells of every column: each kind's rows are cleaned in their own columns
    only, so the whole file is never held cleaned beside its raw text (a wide, mostly empty file)."""
    kind = frame.select(_cell(RECORD).str.to_lowercase()).to_series()
    known = kind.is_in(list(KINDS)).fill_null(False)
    errors: list[RowError] = []
    if not known.all():
        others = [column for column in CSV_COLUMNS if column != RECORD]
        unknown = frame.filter(~known).select(
            ROW, _cell(RECORD), pl.any_horizontal([_filled(column) for column in others]).alias("__filled__")
        )
        unknown = unknown.filter(pl.col(RECORD).is_not_null() | pl.col("__filled__"))  # blank rows are no records
        for row, value in unknown.select(ROW, RECORD).iter_rows():
            message = "is empty" if value is None else f"{value!r} is not a record kind"
            errors.append(row_error(row, RECORD, message + "; use physician, license or certification"))
    frames: dict[RecordKind, pl.DataFrame] = {}
    for name in KINDS:
        mine = (kind == name).fill_null(False)
        own = COLUMNS[name]
        foreign = [column for column in CSV_COLUMNS if column != RECORD and column not in own]
        # One pass finds the rows with a stray cell (usually none); only those are looked at cell by cell.
        stray = frame.select(pl.any_horizontal([_filled(column) for column in foreign])).to_series() & mine
        if stray.any():
            strays = frame.filter(stray).select(ROW, *[_cell(column) for column in foreign])
            for column in foreign:
                for (row,) in strays.filter(pl.col(column).is_not_null()).select(ROW).iter_rows():
                    errors.append(row_error(row, column, f"is not a {name} column; leave it empty on {name} rows"))
        frames[name] = frame.lazy().select(*own, ROW).filter(mine).select(*[_cell(c) for c in own], ROW).collect()
    if errors:
        raise FileRejected(sorted(errors, key=lambda e: (e.row or 0, CSV_COLUMNS.index(e.column or RECORD))))
    return frames


# --- XLSX --------------------------------------------------------------------------------------


def read_workbook(data: bytes) -> RosterFile:
    try:
        reader = fastexcel.read_excel(data)
    except (fastexcel.FastExcelError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileRejected([row_error(None, None, f"not a readable XLSX workbook ({first})")]) from None
    wanted = {SHEETS[kind]: kind for kind in KINDS}
    problems = [
        row_error(None, None, "unexpected sheet; a roster workbook has only: " + ", ".join(wanted), sheet)
        for sheet in reader.sheet_names
        if sheet not in wanted
    ]
    problems += [
        row_error(None, None, "missing sheet (it may have only its header row)", sheet)
        for sheet in wanted
        if sheet not in reader.sheet_names
    ]
    if problems:
        raise FileRejected(problems)
    frames: dict[RecordKind, pl.DataFrame] = {}
    for sheet, kind in wanted.items():
        frame, header_problems = _sheet(reader, sheet, COLUMNS[kind])
        problems += header_problems
        frames[kind] = frame
    if problems:
        raise FileRejected(problems)
    return RosterFile(frames=frames, workbook=True)


def _sheet(reader: fastexcel.ExcelReader, sheet: str, columns: Sequence[str]) -> tuple[pl.DataFrame, list[RowError]]:
    """A sheet's cells as text; its first row is the header. Rows keep their sheet row number."""
    try:
        raw = reader.load_sheet(sheet, header_row=None, dtypes="string", skip_rows=0).to_polars()
    except fastexcel.FastExcelError as exc:
        return pl.DataFrame(), [row_error(None, None, f"unreadable sheet ({exc})", sheet)]
    if raw.height == 0:
        return pl.DataFrame(), [row_error(1, None, "the header row is missing", sheet)]
    header_cells = [None if cell is None else str(cell).strip() for cell in raw.row(0)]
    # Columns with neither a header nor a value are formatting residue, not columns.
    keep = [
        (name, header)
        for name, header in zip(raw.columns, header_cells, strict=True)
        if header or raw.get_column(name).slice(1).drop_nulls().len()
    ]
    header = [header or "" for _, header in keep]
    problems = _header_errors(header, columns, sheet, workbook=True)
    if problems:
        return pl.DataFrame(), problems
    frame = (
        _with_optional(raw.select([pl.col(name).cast(pl.String).alias(title) for name, title in keep]), columns)
        .with_row_index(ROW, offset=1)
        .slice(1)
        .with_columns(pl.col(ROW).cast(pl.Int64))
    )
    return _cleaned(frame, columns).select(*columns, ROW), []
