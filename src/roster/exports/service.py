"""Export the roster in the import layout: ``fixtures/templates/README.md`` describes it.

CSV and XLSX cells are text exactly as the importer reads them (dates ``YYYY-MM-DD``, lists
``;``-separated, booleans ``true``/``false``), so exporting, then importing the file into an empty
database, gives the same roster. A cell that would be a formula in a spreadsheet (``=``, ``+``,
``-``, ``@``, tab, carriage return first) gets a leading quote (``roster.spreadsheet``), which the
import takes off again. Parquet keeps the CSV's long layout (a ``record`` column) with
typed columns (dates, booleans, integers, lists) for analysis tools.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import polars as pl
import xlsxwriter

from roster import clock, spreadsheet
from roster.exports import repository
from roster.imports.layout import (
    BOOL_COLUMNS,
    COLUMNS,
    CSV_COLUMNS,
    DATE_COLUMNS,
    INT_COLUMNS,
    KINDS,
    LIST_COLUMNS,
    LIST_SEPARATOR,
    RECORD,
    SHEETS,
    RecordKind,
)

ExportFormat = Literal["csv", "xlsx", "parquet"]

MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}


def _dtype(column: str) -> pl.DataType:
    if column in DATE_COLUMNS:
        return pl.Date()
    if column in BOOL_COLUMNS:
        return pl.Boolean()
    if column in INT_COLUMNS:
        return pl.Int64()
    if column in LIST_COLUMNS:
        return pl.List(pl.String())
    return pl.String()


def _typed(kind: RecordKind, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {column: _dtype(column) for column in COLUMNS[kind]}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every cell as the importer reads it."""
    out = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.Date:
            out.append(column.dt.to_string("%Y-%m-%d"))
        elif dtype == pl.Boolean:
            out.append(pl.when(column).then(pl.lit("true")).when(~column).then(pl.lit("false")))
        elif isinstance(dtype, pl.List):
            out.append(pl.when(column.list.len() > 0).then(column.list.join(LIST_SEPARATOR)))
        else:
            out.append(column.cast(pl.String))
    return frame.select([expr.alias(name) for expr, name in zip(out, frame.columns, strict=True)])


def _cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Every cell as text, escaped so that no spreadsheet runs it as a formula (the import undoes it)."""
    return spreadsheet.escape_text(_as_text(frame))


def _long(frames: dict[RecordKind, pl.DataFrame]) -> pl.DataFrame:
    """One table, one record per row, the CSV columns; grouped by physician, physician first, the
    physicians in the physician sheet's order (NPI for the whole roster, the page's for a filter)."""
    place = frames["physician"].select("npi").with_row_index("__place__")
    parts = [
        frame.with_columns(pl.lit(kind).alias(RECORD), pl.lit(rank).alias("__rank__")).with_row_index("__order__")
        for rank, (kind, frame) in enumerate(frames.items())
    ]
    merged = pl.concat(parts, how="diagonal_relaxed").join(place, on="npi", how="left", maintain_order="left")
    return merged.sort("__place__", "__rank__", "__order__", maintain_order=True).select(CSV_COLUMNS)


@dataclass(frozen=True, slots=True)
class RosterExport:
    content: bytes
    media_type: str
    file_name: str


#: A filtered export reads its physicians this many at a time (bounded ``IN`` lists).
_ID_CHUNK = 1000


async def roster_frames(physician_ids: Sequence[UUID] | None = None) -> dict[RecordKind, pl.DataFrame]:
    """The whole roster by NPI, or only ``physician_ids`` (the workspace's roster filter) in their order:
    every sheet's rows grouped by physician in that order, each physician's own rows as the database
    orders them."""
    if physician_ids is None:
        rows = {
            "physician": await repository.physicians(),
            "license": await repository.licenses(),
            "certification": await repository.certifications(),
        }
    else:
        rows = {kind: [] for kind in KINDS}
        for start in range(0, len(physician_ids), _ID_CHUNK):
            chunk = physician_ids[start : start + _ID_CHUNK]
            rows["physician"] += await repository.physicians(chunk)
            rows["license"] += await repository.licenses(chunk)
            rows["certification"] += await repository.certifications(chunk)
        position = {pid: i for i, pid in enumerate(physician_ids)}
        place = {row["npi"]: position[row.pop("id")] for row in rows["physician"]}
        for kind in KINDS:
            rows[kind].sort(key=lambda row: place[row["npi"]])  # stable: keeps each physician's own order
    return {kind: _typed(kind, rows[kind]) for kind in KINDS}


def _xlsx(frames: dict[RecordKind, pl.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"strings_to_numbers": False, "strings_to_formulas": False}) as workbook:
        for kind, frame in frames.items():
            _cells(frame).write_excel(workbook, worksheet=SHEETS[kind], autofit=False, table_style=None)
    return buffer.getvalue()


def render(frames: dict[RecordKind, pl.DataFrame], fmt: ExportFormat) -> bytes:
    if fmt == "xlsx":
        return _xlsx(frames)
    if fmt == "parquet":
        buffer = io.BytesIO()
        _long(frames).write_parquet(buffer)
        return buffer.getvalue()
    return _long({kind: _cells(frame) for kind, frame in frames.items()}).write_csv().encode()


async def export_roster(fmt: ExportFormat, physician_ids: Sequence[UUID] | None = None) -> RosterExport:
    """The roster (or only ``physician_ids``) as one file; the same writer, escaping included, either way."""
    frames = await roster_frames(physician_ids)
    content = await asyncio.to_thread(render, frames, fmt)  # CPU-bound: keep the event loop free
    return RosterExport(content, MEDIA_TYPES[fmt], f"roster-{clock.today().isoformat()}.{fmt}")
