"""Validate every record of a roster file with the API's own rules, collecting every error.

Cells are parsed column-wise in polars (dates in any accepted format, booleans, integers, lists);
each record is then checked by the same msgspec schemas the API decodes bodies with
(``PhysicianCreate``, ``LicenseCreate``, ``CertificationCreate``) and by the services' pure rule
functions (``check_physician``, ``check_license_dates``, ``check_certification``). Nothing here
does I/O or reads the clock: reference data and ``today`` come in as arguments.

An empty cell means what leaving the field out of a POST means (API defaults), except a
physician's ``status``: empty keeps an existing physician's status and makes a new one active.

Records are checked ``CHUNK`` at a time and the valid ones kept column-wise in polars, so what a
large file costs in Python objects is bounded by the chunk, not by the file.
"""

from __future__ import annotations

import operator
import types
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
import polars as pl

from roster.certifications.schemas import CertificationCreate
from roster.certifications.service import check_certification
from roster.errors import FieldError
from roster.imports.layout import (
    BOOL_COLUMNS,
    COLUMNS,
    CSV_COLUMNS,
    DATE_COLUMNS,
    INT_COLUMNS,
    KINDS,
    LIST_COLUMNS,
    LIST_SEPARATOR,
    RecordKind,
)
from roster.imports.reader import ROW, RosterFile
from roster.imports.schemas import RowError, row_error
from roster.licenses.schemas import LicenseCreate
from roster.licenses.service import check_license_dates, normalized_number
from roster.physicians.schemas import PhysicianCreate
from roster.physicians.service import check_physician
from roster.reference.service import SpecialtyIndex
from roster.vocabulary import PhysicianStatus

#: Beyond this many, errors are counted but not listed (a wrong file can have one per cell).
MAX_LISTED_ERRORS = 10_000
#: Records checked (and later planned and written) at a time: bounds the Python objects alive at once.
CHUNK = 5000
#: The column of a valid record's physician NPI (credentials have no ``npi`` field of their own).
NPI = "__npi__"

DATE_HINT = "use YYYY-MM-DD, MM/DD/YYYY (or M/D/YYYY) or YYYYMMDD"
_TRUE = ("true", "yes", "y", "1")
_FALSE = ("false", "no", "n", "0")
_PHYSICIAN_STATUSES = frozenset(get_args(PhysicianStatus))

#: (pattern the whole value must match, characters kept, strptime format). chrono alone is lenient
#: (``2023011`` parses as ``%Y%m%d``), so the shape is checked first.
_DATE_FORMATS = (
    # A spreadsheet date cell read as text is ``2024-03-05 00:00:00``.
    (r"^\d{4}-\d{2}-\d{2}(?:[ T]00:00:00(?:\.0+)?)?$", 10, "%Y-%m-%d"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", None, "%m/%d/%Y"),
    (r"^\d{8}$", None, "%Y%m%d"),
)
SCHEMAS: dict[RecordKind, type[msgspec.Struct]] = {
    "physician": PhysicianCreate,
    "license": LicenseCreate,
    "certification": CertificationCreate,
}


@dataclass(frozen=True, slots=True)
class Record:
    """One valid record: its spreadsheet row, its physician's NPI and its normalized field values."""

    row: int
    npi: str
    values: dict[str, Any]


def _dtype(annotation: Any) -> pl.DataType:
    """The polars type holding a schema field's values (after msgspec has checked them)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _dtype(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in get_args(annotation) if a is not type(None)]
        return _dtype(inner)
    if origin is list:
        return pl.List(_dtype(get_args(annotation)[0]))
    if origin is Literal:
        return pl.String()
    dtypes: dict[Any, pl.DataType] = {str: pl.String(), date: pl.Date(), bool: pl.Boolean(), int: pl.Int64()}
    return dtypes[annotation]


@cache
def record_schema(kind: RecordKind) -> dict[str, pl.DataType]:
    """The columns of the valid records of a kind: row, NPI, then the normalized values in schema order."""
    fields = {f.name: _dtype(f.type) for f in msgspec.structs.fields(SCHEMAS[kind])}
    if kind == "physician":
        fields["status"] = pl.String()
    return {ROW: pl.Int64(), NPI: pl.String(), **fields}


#: Joins a list's items while it crosses into polars: polars builds a list cell from Python by way of a
#: Series each (most of the cost of keeping the records), a string costs nothing. No cell holds a NUL,
#: and no item is empty (``_list`` drops them), so ``""`` can only be the empty list.
_ITEMS = "\x00"


class _Valid:
    """Valid records of one kind, gathered a chunk at a time and frozen into polars column-wise."""

    def __init__(self, kind: RecordKind) -> None:
        self.schema = record_schema(kind)
        self.fields = [name for name in self.schema if name not in (ROW, NPI)]
        self.lists = [name for name in self.fields if isinstance(self.schema[name], pl.List)]
        #: A record's values in ``fields`` order, in one C call (a Python loop per field cost a third of the check).
        self.values_of = operator.itemgetter(*self.fields)
        self.frames: list[pl.DataFrame] = []
        self.rows: list[int] = []
        self.npis: list[str] = []
        self.records: list[tuple[Any, ...]] = []

    def add(self, row: int, npi: str, values: dict[str, Any]) -> None:
        self.rows.append(row)
        self.npis.append(npi)
        self.records.append(self.values_of(values))

    def flush(self) -> None:
        if not self.rows:
            return
        columns: dict[str, list[Any]] = {ROW: self.rows, NPI: self.npis}
        lists = self.lists
        for name, values in zip(self.fields, zip(*self.records, strict=True), strict=True):
            columns[name] = [_ITEMS.join(items) for items in values] if name in lists else list(values)
        joined = {name: pl.String() if name in lists else dtype for name, dtype in self.schema.items()}
        frame = pl.DataFrame(columns, schema=joined)
        self.frames.append(
            frame.with_columns(
                pl.when(pl.col(name) == "")
                .then(pl.lit([], dtype=pl.List(pl.String)))
                .otherwise(pl.col(name).str.split(_ITEMS))
                .alias(name)
                for name in self.lists
            )
        )
        self.rows, self.npis, self.records = [], [], []

    def frame(self) -> pl.DataFrame:
        self.flush()
        if not self.frames:
            return pl.DataFrame(schema=self.schema)
        return pl.concat(self.frames) if len(self.frames) > 1 else self.frames[0]


@dataclass(slots=True)
class ValidatedRoster:
    #: Per kind, the valid records in file order, with ``record_schema(kind)``'s columns.
    frames: dict[RecordKind, pl.DataFrame] = field(
        default_factory=lambda: {kind: pl.DataFrame(schema=record_schema(kind)) for kind in KINDS}
    )
    #: Records per kind in the file, valid or not.
    counts: dict[RecordKind, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    errors: list[RowError] = field(default_factory=list)
    #: Errors found in all, listed or not.
    error_count: int = 0

    @property
    def records(self) -> dict[RecordKind, list[Record]]:
        """Every valid record as Python objects: for a few; a large file is read by :meth:`chunks`."""
        return {kind: [record for chunk in self.chunks(kind) for record in records_of(chunk)] for kind in KINDS}

    def chunks(self, kind: RecordKind, size: int = CHUNK) -> Iterator[pl.DataFrame]:
        frame = self.frames[kind]
        for start in range(0, frame.height, size):
            yield frame.slice(start, size)


def records_of(chunk: pl.DataFrame) -> list[Record]:
    out = []
    for values in chunk.iter_rows(named=True):
        row = values.pop(ROW)
        out.append(Record(row, values.pop(NPI), values))
    return out


@dataclass(frozen=True, slots=True)
class Reference:
    """What the rules look up, loaded once per import."""

    specialties: SpecialtyIndex
    states: Collection[str]
    #: NPIs already on the roster (credentials may refer to them without a physician row).
    roster_npis: Collection[str]


def _date(column: str) -> pl.Expr:
    value = pl.col(column)
    return pl.coalesce(
        [
            pl.when(value.str.contains(pattern))
            .then(value if keep is None else value.str.slice(0, keep))
            .str.to_date(fmt, strict=False)
            for pattern, keep, fmt in _DATE_FORMATS
        ]
    )


def _bool(column: str) -> pl.Expr:
    value = pl.col(column).str.to_lowercase()
    return pl.when(value.is_in(_TRUE)).then(True).when(value.is_in(_FALSE)).then(False)


def _int(column: str) -> pl.Expr:
    value = pl.col(column)
    return pl.when(value.str.contains(r"^-?\d{1,9}$")).then(value.str.to_integer(strict=False))


def _list(column: str) -> pl.Expr:
    parts = pl.col(column).str.split(LIST_SEPARATOR).list.eval(pl.element().str.strip_chars())
    return parts.list.eval(pl.element().filter(pl.element() != ""))


_PARSERS: dict[str, tuple[Callable[[str], pl.Expr], str]] = {
    **{c: (_date, f"is not a date; {DATE_HINT}") for c in DATE_COLUMNS},
    **{c: (_bool, "is not true or false") for c in BOOL_COLUMNS},
    **{c: (_int, "is not a whole number") for c in INT_COLUMNS},
}


def _parsed(frame: pl.DataFrame, kind: RecordKind, sheet: str | None) -> tuple[pl.DataFrame, list[RowError]]:
    """Typed columns (dates, booleans, integers, lists), and an error for each cell that did not parse."""
    columns = COLUMNS[kind]
    typed = [c for c in columns if c in _PARSERS]
    out = frame.with_columns(
        *[_PARSERS[c][0](c).alias(c) for c in typed],
        *[pl.col(c).is_not_null().alias(f"__raw_{c}") for c in typed],
        *[_list(c).alias(c) for c in columns if c in LIST_COLUMNS],
    )
    errors = [
        row_error(row, column, "contains a NUL character (U+0000)", sheet)
        for column in columns
        for row, _ in frame.select(ROW, column).filter(pl.col(column).str.contains("\x00", literal=True)).iter_rows()
    ]
    for column in typed:
        bad = frame.select(ROW, column).filter(out.get_column(f"__raw_{column}") & out.get_column(column).is_null())
        message = _PARSERS[column][1]
        errors += [row_error(row, column, f"{value!r} {message}", sheet) for row, value in bad.iter_rows()]
    return out.select(*columns, ROW), errors


@cache
def _field_types(schema: type[msgspec.Struct]) -> dict[str, tuple[Any, bool]]:
    return {f.name: (f.type, f.required) for f in msgspec.structs.fields(schema)}


def _message(exc: msgspec.ValidationError) -> str:
    return str(exc).split(" - at `", 1)[0]


def _convert(
    present: dict[str, Any], schema: type[msgspec.Struct], skip: Collection[str]
) -> tuple[msgspec.Struct | None, list[FieldError]]:
    """Decode ``present`` (a record's non-empty cells: an empty one is a field left out) with the API's
    schema; when that fails, check field by field to name every bad one."""
    try:
        return msgspec.convert(present, schema), []
    except msgspec.ValidationError:
        pass
    errors = []
    for name, (type_, required) in _field_types(schema).items():
        if name in skip:
            continue
        if name not in present:
            if required:
                errors.append(FieldError(name, "is required"))
            continue
        try:
            msgspec.convert(present[name], type_)
        except msgspec.ValidationError as exc:
            errors.append(FieldError(name, _message(exc)))
    return None, errors


def _column(field_name: str) -> str:
    """``specialties.1`` -> ``specialties``: errors point at the cell."""
    return field_name.split(".", 1)[0]


class _Checker:
    def __init__(self, source: RosterFile, today: date, ref: Reference) -> None:
        self.source = source
        self.today = today
        self.ref = ref
        self.result = ValidatedRoster()
        self.file_npis: set[str] = set()
        self.valid = {kind: _Valid(kind) for kind in KINDS}

    def fail(self, kind: RecordKind, row: int, errors: list[FieldError], skip: Collection[str] = ()) -> None:
        sheet = self.source.sheet(kind)
        for error in errors:
            column = _column(error.field)
            if column not in skip:
                self.result.errors.append(row_error(row, column, error.message, sheet))

    def rows(self, kind: RecordKind) -> Iterator[tuple[int, dict[str, Any], Collection[str]]]:
        """Each record as its typed non-empty values (an empty cell is no key: a field left out), with the
        columns whose cells already failed to parse.

        Cells are parsed column-wise for the whole file (polars), then turned into Python values one
        chunk at a time; the valid records of each chunk go back into polars (``_Valid``)."""
        frame, errors = _parsed(self.source.frames[kind], kind, self.source.sheet(kind))
        self.result.errors += errors
        self.result.counts[kind] = frame.height
        broken: dict[int, set[str]] = {}
        for error in errors:
            broken.setdefault(error.row or 0, set()).add(error.column or "")
        valid = self.valid[kind]
        names = [name for name in frame.columns if name != ROW]
        nothing: frozenset[str] = frozenset()
        for start in range(0, frame.height, CHUNK):
            chunk = frame.slice(start, CHUNK)
            cells = zip(*(chunk.get_column(name).to_list() for name in names), strict=True)
            for row, values in zip(chunk.get_column(ROW).to_list(), cells, strict=True):
                present = {name: value for name, value in zip(names, values, strict=True) if value is not None}
                yield row, present, broken.get(row, nothing)
            valid.flush()
        self.result.frames[kind] = valid.frame()

    def physicians(self) -> None:
        seen: dict[str, int] = {}
        for row, values, broken in self.rows("physician"):
            npi = values.get("npi")
            if npi is not None:
                self.file_npis.add(npi)
            status = values.pop("status", None)
            errors = []
            if status is not None and status not in _PHYSICIAN_STATUSES:
                errors.append(FieldError("status", f"{status!r} is not active or inactive"))
            if npi is not None and npi in seen:
                errors.append(FieldError("npi", f"duplicate: NPI {npi} is already on row {seen[npi]}"))
            elif npi is not None:
                seen[npi] = row
            data, invalid = _convert(values, PhysicianCreate, broken)
            errors += invalid
            if data is not None:
                normalized, broken_rules = check_physician(
                    msgspec.structs.asdict(data), self.today, self.ref.specialties
                )
                errors += broken_rules
                if not errors and not broken:
                    normalized["status"] = status
                    self.valid["physician"].add(row, npi, normalized)
            self.fail("physician", row, errors, broken)

    def _owner(self, npi: str | None) -> FieldError | None:
        if npi is None:
            return FieldError("npi", "is required")
        if npi not in self.file_npis and npi not in self.ref.roster_npis:
            return FieldError("npi", f"no physician with NPI {npi} in the file or on the roster")
        return None

    def licenses(self) -> None:
        seen: dict[tuple[str, str, str], int] = {}
        for row, values, broken in self.rows("license"):
            npi = values.pop("npi", None)
            errors = [e for e in (self._owner(npi),) if e is not None]
            data, invalid = _convert(values, LicenseCreate, broken)
            errors += invalid
            if data is not None:
                checked = msgspec.structs.asdict(data)
                checked["number"] = normalized_number(checked["number"])
                if checked["state"] not in self.ref.states:
                    errors.append(
                        FieldError("state", f"{checked['state']!r} is not a USPS code of a state, DC or territory")
                    )
                errors += check_license_dates(checked, self.today)
                key = (npi or "", checked["state"], checked["number"])
                if npi is not None and key in seen:
                    errors.append(
                        FieldError("number", f"duplicate: {key[1]} license {key[2]} is already on row {seen[key]}")
                    )
                seen.setdefault(key, row)
                if not errors and not broken and npi is not None:
                    self.valid["license"].add(row, npi, checked)
            self.fail("license", row, errors, broken)

    def certifications(self) -> None:
        seen: dict[tuple[str, str, str], int] = {}
        for row, values, broken in self.rows("certification"):
            npi = values.pop("npi", None)
            errors = [e for e in (self._owner(npi),) if e is not None]
            data, invalid = _convert(values, CertificationCreate, broken)
            errors += invalid
            if data is not None:
                checked, broken_rules = check_certification(
                    msgspec.structs.asdict(data), self.today, self.ref.specialties
                )
                errors += broken_rules
                key = (npi or "", checked["board"], checked["specialty"])
                if npi is not None and key in seen:
                    errors.append(
                        FieldError(
                            "specialty",
                            f"duplicate: {key[1]} certification in {key[2]} is already on row {seen[key]}",
                        )
                    )
                seen.setdefault(key, row)
                if not errors and not broken and npi is not None:
                    self.valid["certification"].add(row, npi, checked)
            self.fail("certification", row, errors, broken)


def _order(source: RosterFile) -> Callable[[RowError], tuple[int, int, int]]:
    positions = {name: i for i, name in enumerate(CSV_COLUMNS)}
    sheets = {source.sheet(kind): i for i, kind in enumerate(KINDS)}
    return lambda e: (sheets.get(e.sheet, 0) if source.workbook else 0, e.row or 0, positions.get(e.column or "", -1))


def validate(source: RosterFile, today: date, ref: Reference) -> ValidatedRoster:
    """Every record checked; ``errors`` (sorted by sheet, row and column) is empty when all are valid."""
    checker = _Checker(source, today, ref)
    checker.physicians()
    checker.licenses()
    checker.certifications()
    result = checker.result
    result.errors.sort(key=_order(source))
    result.error_count = len(result.errors)
    if result.error_count > MAX_LISTED_ERRORS:
        hidden = result.error_count - MAX_LISTED_ERRORS
        result.errors = [
            *result.errors[:MAX_LISTED_ERRORS],
            row_error(None, None, f"{hidden} more errors not listed; fix these and upload again"),
        ]
    return result
