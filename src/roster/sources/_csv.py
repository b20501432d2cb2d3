"""Shared plumbing for the list readers: publisher bytes in, an all-text table out, plus the
vectorised normalisation, date, hashing and record helpers every reader uses.

A :class:`Table` holds the published cells as text exactly as written (no stripping, empty cells
as ``""``), one column per header name, plus a row index used to name the physical line of a bad
row. Everything after that is polars expressions, evaluated in one polars call per file: the rows, the
record keys (SHA-256, for the rows without a key of their own) and the date checks. The published row
itself is kept as a Struct and hashed and serialised for hits only.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import fastexcel
import polars as pl

from roster.sources.records import LIST_SCHEMA, RECORD, SEP, ListFormatError, sha256_hex

UTF8_BOM = b"\xef\xbb\xbf"
ZIP_MAGIC = b"PK\x03\x04"
#: Physical row index of a data row (0 = first row after the header); dropped before returning.
ROW = "__row__"
#: The text hashed into ``record_key`` for a row without a key of its own (see :func:`finish`).
_UNKEYED = "__unkeyed__"
#: Characters searched for the header line.
_HEADER_SPAN = 1 << 16


def load(source: bytes | Path) -> bytes:
    """The file's bytes, whether given directly or as a path."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    return Path(source).read_bytes()


def peek(source: bytes | Path) -> bytes:
    """The first bytes of a file, enough to tell its kind and read its header without loading it all."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[: _HEADER_SPAN + 1])
    with Path(source).open("rb") as handle:
        return handle.read(_HEADER_SPAN + 1)


# ---------------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Table:
    #: One String column per header name (cells as published, ``""`` when empty) and ``ROW``.
    frame: pl.DataFrame
    header: tuple[str, ...]
    #: Physical line (1-based) of data row 0.
    first_line: int
    #: Whether a row may span several physical lines (quoted newlines in a CSV).
    multiline: bool

    def line_of(self, row: int) -> int:
        """Physical line on which data row ``row`` starts."""
        if not self.multiline or row == 0:
            return self.first_line + row
        newlines = (
            self.frame.filter(pl.col(ROW) < row)
            .select(pl.sum_horizontal(pl.col(name).str.count_matches("\n") for name in self.header).sum())
            .item()
        )
        return self.first_line + row + (newlines or 0)


def _strip_bom(data: bytes) -> bytes:
    return data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data


def _text(body: bytes) -> str:
    """The whole body as strict UTF-8, else :class:`ListFormatError` naming the first bad byte."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise ListFormatError(
            f"not UTF-8 text: byte 0x{body[exc.start]:02x} at offset {exc.start}", line=line
        ) from None


def _head(body: bytes) -> str:
    """The text of the first :data:`_HEADER_SPAN` bytes (strict UTF-8; a character cut in two at the
    end is left out). Decoding a 60 MB file only to find its header would cost more than parsing
    it: the rest is checked by polars, which rejects invalid UTF-8 in any cell."""
    if len(body) <= _HEADER_SPAN:
        head = _text(body)
    else:
        try:
            head = codecs.getincrementaldecoder("utf-8")().decode(body[:_HEADER_SPAN], final=False)
        except UnicodeDecodeError:
            head = _text(body)  # raises, naming the byte
    if not head or (head.isspace() and _text(body).isspace()):
        raise ListFormatError("empty file")
    return head


def _shorten(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _locate_bad_record(text: str, width: int) -> None:
    """Raise for the first record that is not ``width`` fields or not well-formed CSV.

    Only called when polars has failed or padded a row: the stdlib reader is slower but knows
    the physical line of every record.
    """
    reader = csv.reader(io.StringIO(text), strict=True)
    start = 1
    try:
        for index, record in enumerate(reader):
            if index and record and len(record) != width:
                what = "truncated line" if len(record) < width else "extra fields"
                raise ListFormatError(f"{what}: {len(record)} fields, expected {width}", line=start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ListFormatError(f"malformed CSV record ({exc}; unterminated quote?)", line=start) from None


def _index_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``ROW``, drop blank rows (every cell null) and make the remaining nulls ``""``."""
    blank = pl.all_horizontal(pl.exclude(ROW).is_null())
    return frame.with_row_index(ROW).filter(~blank).with_columns(pl.exclude(ROW).fill_null(""))


def _require_unique(header: Sequence[str]) -> None:
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise ListFormatError(f"duplicate column {position} {name!r} in the header", line=1)
        seen.add(name)


def _header(body: bytes) -> tuple[tuple[str, ...], int]:
    """The header's names and the physical line of the first data row."""
    # The header is near the top: parsing a prefix spares decoding the whole file. Leniently, so
    # that a file in another dialect (``"A";"B"``) reaches the header check and its message.
    reader = csv.reader(io.StringIO(_head(body)))
    try:
        header = tuple(next(reader))
    except (csv.Error, StopIteration) as exc:
        raise ListFormatError(f"unreadable header ({exc})", line=1) from None
    if not header:
        raise ListFormatError("missing header: the first line is blank", line=1)
    _require_unique(header)
    return header, reader.line_num + 1


def read_csv_table(source: bytes | Path, check_header: Callable[[tuple[str, ...]], None] | None = None) -> Table:
    """Parse a comma-separated, ``"``-quoted UTF-8 file with a header line; every cell is text.

    ``check_header`` (the reader's own header rule) runs before the body is parsed, and for a path
    before the file is even loaded: a file of another kind is refused at the cost of its first bytes.
    Raises :class:`ListFormatError` for an empty file, non-UTF-8 bytes, an unreadable header, or a
    record with the wrong number of fields (including a truncated last line or an unterminated
    quote), naming the line.
    """
    if check_header is not None and not isinstance(source, bytes | bytearray | memoryview):
        prefix = _strip_bom(peek(source))
        # The header is read from the first bytes either way (see _head), so the prefix gives the same
        # header and the same faults as the whole file, unless it is all blank: then only the whole can tell.
        if prefix.strip():
            check_header(_header(prefix)[0])
    body = _strip_bom(load(source))
    header, first_line = _header(body)
    if check_header is not None:
        check_header(header)
    positional = [f"c{i}" for i in range(len(header))]
    try:
        frame = pl.read_csv(
            body,
            has_header=True,
            new_columns=positional,
            infer_schema=False,
            quote_char='"',
            separator=",",
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        _locate_bad_record(_text(body), len(header))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ListFormatError(f"unreadable CSV: {first}") from None
    # polars pads a short record with nulls, so its last cell is null. A quoted empty cell is ""
    # but an unquoted one null too: a null last cell outside a blank line needs the exact check.
    padded = pl.col(positional[-1]).is_null() & ~pl.all_horizontal(pl.all().is_null())
    if frame.height and frame.select(padded.any()).item():
        _locate_bad_record(_text(body), len(header))
    frame = _index_rows(frame).rename(dict(zip(positional, header, strict=True)))
    return Table(frame=frame, header=header, first_line=first_line, multiline=True)


def read_xlsx_table(data: bytes) -> Table:
    """The first sheet of a workbook, header in its first used row, every cell read as text."""
    try:
        raw = pl.read_excel(
            data,
            engine="calamine",
            has_header=False,
            infer_schema_length=0,
            drop_empty_rows=False,  # kept so that a row's index is its sheet row; dropped below
            drop_empty_cols=True,  # no header and no value: formatting residue
            raise_if_empty=False,
        )
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ListFormatError(f"not a readable XLSX workbook ({first})") from None
    if not raw.height:
        raise ListFormatError("empty file")
    header = tuple("" if cell is None else str(cell) for cell in raw.row(0))
    _require_unique(header)
    frame = _index_rows(raw.slice(1)).rename(dict(zip(raw.columns, header, strict=True)))
    return Table(frame=frame, header=header, first_line=2, multiline=False)


def first_copies(frame: pl.DataFrame, suspects: pl.Series, whole: pl.Expr) -> pl.Series | None:
    """Which rows of ``frame`` to keep: all but those whose ``whole`` (the row as published) repeats an
    earlier row's; ``None`` when none does (the LEIE full file and the SAM extract repeat lines verbatim).

    ``suspects`` marks the rows whose cheap key (a hash of a few identifying cells, a record key) repeats:
    identical rows share it, so only those are compared in full. A shared key costs a comparison, never
    a row."""
    if not suspects.any():
        return None
    first = frame.filter(suspects).select(whole.is_first_distinct()).to_series()
    return pl.repeat(True, frame.height, eager=True).scatter(suspects.arg_true().filter(~first), False)


# ---------------------------------------------------------------------------------------------
# header checks
# ---------------------------------------------------------------------------------------------


def require_header(found: Sequence[str], expected: Sequence[str]) -> None:
    """The header must be ``expected`` exactly: same names, same order, nothing more."""
    if tuple(found) == tuple(expected):
        return
    position, want, got = next(
        (i, want, got) for i, (want, got) in enumerate(zip_longest(expected, found), start=1) if want != got
    )
    if got is None:
        detail = f"expected column {position} {want}, found none"
    elif want is None:
        detail = f"unexpected column {position} {_shorten(got)}"
    else:
        detail = f"expected column {position} {want}, found {_shorten(got)}"
    if len(found) != len(expected):
        detail += f" ({len(found)} column{'' if len(found) == 1 else 's'}, expected {len(expected)}"
        if len(found) == 1 and any(sep in found[0] for sep in (";", "\t", "|")):
            detail += "; the file is not comma-separated"
        detail += ")"
    raise ListFormatError(f"header mismatch: {detail}", line=1)


def require_columns(found: Sequence[str], required: Iterable[str]) -> None:
    """Every name in ``required`` must be a column of the header (in any order)."""
    present = set(found)
    missing = [name for name in dict.fromkeys(required) if name not in present]
    if missing:
        names = ", ".join(repr(name) for name in missing)
        raise ListFormatError(f"missing column{'s' if len(missing) > 1 else ''} {names}", line=1)


# ---------------------------------------------------------------------------------------------
# value normalisation (expressions over the raw text columns)
# ---------------------------------------------------------------------------------------------


def text(name: str) -> pl.Expr:
    """Whitespace-stripped text; null when nothing is left."""
    return pl.col(name).str.strip_chars().replace("", None)  # as pl.when(value != "").then(value), faster


def npi(name: str) -> pl.Expr:
    """Ten digits, else null: empty, ``0``, ``0000000000`` and other placeholders are no NPI."""
    value = pl.col(name).str.strip_chars()
    return pl.when(value.str.contains(r"^\d{10}$") & (value != "0000000000")).then(value)


def joined(parts: Iterable[pl.Expr]) -> pl.Expr:
    """Values joined by :data:`SEP`, a null part counting as ``""``."""
    return pl.concat_str([part.fill_null("") for part in parts], separator=SEP)


def published(header: Sequence[str]) -> pl.Expr:
    """The row as published: a Struct of its cells, fields in header order (see records.RECORD)."""
    return pl.struct([pl.col(name) for name in header]).alias(RECORD)


# ---------------------------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateFormat:
    label: str
    #: The whole (stripped) value must match this before strptime runs: chrono alone is lenient
    #: (``"2023011"`` parses as ``%Y%m%d``).
    pattern: str
    strptime: str
    #: Only the first ``keep`` characters are parsed (drops a midnight time from spreadsheets).
    keep: int | None = None


YYYYMMDD = DateFormat("YYYYMMDD", r"^\d{8}$", "%Y%m%d")
MM_DD_YYYY = DateFormat("MM/DD/YYYY", r"^\d{2}/\d{2}/\d{4}$", "%m/%d/%Y")
#: As written by spreadsheet exports: month and day may lose their leading zero.
M_D_YYYY = DateFormat("MM/DD/YYYY", r"^\d{1,2}/\d{1,2}/\d{4}$", "%m/%d/%Y")
YYYY_MM_DD = DateFormat("YYYY-MM-DD", r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d")
#: A spreadsheet date cell read as text: ``2024-03-05 00:00:00``.
YYYY_MM_DD_MIDNIGHT = DateFormat("YYYY-MM-DD", r"^\d{4}-\d{2}-\d{2}(?:[ T]00:00:00(?:\.0+)?)?$", "%Y-%m-%d", keep=10)


@dataclass(frozen=True, slots=True)
class DateColumn:
    """A column of dates in one of ``formats``; ``nulls`` and ``also_valid`` values are no date."""

    column: str
    formats: Sequence[DateFormat]
    nulls: Sequence[str] = ("",)
    also_valid: Sequence[str] = ()

    def parsed(self, raw: pl.Expr | None = None) -> pl.Expr:
        """The column (or ``raw``) as dates; null for anything that is not a date in one of the formats."""
        value = (pl.col(self.column) if raw is None else raw).str.strip_chars()
        return pl.coalesce(
            [
                pl.when(value.str.contains(fmt.pattern))
                .then(value if fmt.keep is None else value.str.slice(0, fmt.keep))
                .str.to_date(fmt.strptime, strict=False)
                for fmt in self.formats
            ]
        )

    def values(self) -> pl.Expr:
        """:meth:`parsed`, for a column :func:`check_dates` passes (a reader's, through :func:`finish`): with
        one format the pattern test is left out, since chrono's leniency (``"2023011"`` as ``%Y%m%d``) only
        shows on values the check refuses, and the test costs as much as the parse."""
        if len(self.formats) != 1 or self.formats[0].keep is not None:
            return self.parsed()
        return pl.col(self.column).str.strip_chars().str.to_date(self.formats[0].strptime, strict=False)

    def rejected(self, table: Table) -> pl.LazyFrame:
        """The distinct values of the column that are neither a date nor one of ``nulls`` / ``also_valid``."""
        raw = pl.col("raw")
        accepted = self.parsed(raw).is_not_null() | raw.str.strip_chars().is_in([*self.nulls, *self.also_valid])
        return table.frame.lazy().select(raw=pl.col(self.column).unique()).filter(raw.is_not_null() & ~accepted)


def check_dates(table: Table, columns: Sequence[DateColumn], rejected: Sequence[pl.DataFrame]) -> None:
    """Raise :class:`ListFormatError`, naming its line and column, for the first of ``columns`` with a
    value that is not a real date in one of its formats (nor one of its ``nulls`` or ``also_valid``).

    ``rejected`` holds each column's collected :meth:`DateColumn.rejected`: each distinct value is checked
    once (a list of 150,000 rows holds a few thousand dates), in the reader's one polars pass, which
    also parses the rows with :meth:`DateColumn.parsed`."""
    for date, values in zip(columns, rejected, strict=True):
        if values.height:
            first = table.frame.filter(pl.col(date.column).is_in(values.get_column("raw").implode())).row(0, named=True)
            row, raw_value = first[ROW], first[date.column]
            labels = " or ".join(dict.fromkeys(fmt.label for fmt in date.formats))
            extra = "".join(f" or {token!r}" for token in date.also_valid)
            raise ListFormatError(
                f"invalid date {_shorten(raw_value)!r}, expected {labels}{extra}",
                line=table.line_of(row),
                column=date.column,
            )


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------


def finish(
    table: Table,
    columns: Mapping[str, pl.Expr],
    hashed: pl.Expr,
    dates: Sequence[DateColumn] = (),
    *,
    identity: Sequence[str] = (),
) -> pl.DataFrame:
    """The list frame: LIST_SCHEMA ``columns`` in order, then the published record (see :func:`published`),
    without repeated rows (:func:`first_copies`, suspected by a hash of the ``identity`` cells, default
    all), once ``dates`` are checked (:func:`check_dates`).

    ``record_key`` is ``columns["record_key"]`` where that is not null, else the :func:`sha256_hex` of
    ``hashed``. The date checks and the rows run as one polars call, on every core."""
    suspects = table.frame.select(identity or table.header).hash_rows().is_duplicated()
    keep = first_copies(table.frame, suspects, pl.struct(table.header))
    kept = table.frame.lazy() if keep is None else table.frame.lazy().filter(keep)
    key = columns["record_key"]
    listed = kept.select(*(columns[name].alias(name) for name in LIST_SCHEMA), published(table.header)).cast(
        LIST_SCHEMA
    )
    # Spelled and hashed only where there is no key (a when/then would spell every row): in order, as listed.
    unkeyed = kept.filter(key.is_null()).select(sha256_hex(hashed).alias(_UNKEYED))
    *rejected, frame, hashes = pl.collect_all(
        [*(date.rejected(table) for date in dates), listed, unkeyed], engine="in-memory"
    )
    check_dates(table, dates, rejected)
    if not hashes.height:
        return frame
    keys = frame.get_column("record_key")
    if hashes.height == frame.height:
        return frame.with_columns(hashes.get_column(_UNKEYED).alias("record_key"))
    return frame.with_columns(keys.scatter(keys.is_null().arg_true(), hashes.get_column(_UNKEYED)))


def drop_repeated_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (a list frame) without the rows whose published record repeats an earlier row's, in order.

    ``record_key`` is computed from the row's own cells, so identical rows share it (see :func:`first_copies`)."""
    keep = first_copies(frame, frame.get_column("record_key").is_duplicated(), pl.col(RECORD))
    return frame if keep is None else frame.filter(keep)
