"""Roster files for import tests, built in the template layout from ``tests.factories`` bodies."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import xlsxwriter

from roster.imports.layout import COLUMNS, CSV_COLUMNS, SHEETS
from tests import factories

Row = dict[str, Any]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def _row(record: str, body: Mapping[str, Any], **overrides: Any) -> Row:
    row = {"record": record, **{k: _cell(v) for k, v in body.items()}}
    row.update({k: _cell(v) for k, v in overrides.items()})
    return row


def physician(n: int, **overrides: Any) -> Row:
    return _row("physician", factories.physician(n), **{"status": "active", **overrides})


def license(n: int, state: str = "AZ", number: str | None = None, **overrides: Any) -> Row:
    body = factories.license(state, number or f"MD{n:05d}")
    return _row("license", {"npi": factories.npi(n), **body}, **overrides)


def certification(n: int, **overrides: Any) -> Row:
    return _row(
        "certification", {"npi": factories.npi(n), "status": "certified", **factories.certification()}, **overrides
    )


def roster_rows(count: int, start: int = 1) -> list[Row]:
    """``count`` physicians, each followed by one license and one certification (3 rows each)."""
    rows: list[Row] = []
    for n in range(start, start + count):
        rows += [physician(n), license(n), certification(n)]
    return rows


def csv_bytes(
    rows: Iterable[Row], columns: Sequence[str] = CSV_COLUMNS, *, delimiter: str = ",", bom: bool = False
) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(columns), delimiter=delimiter, lineterminator="\r\n", extrasaction="ignore"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def xlsx_bytes(rows: Iterable[Row], *, extra_sheets: Sequence[str] = (), drop_sheets: Sequence[str] = ()) -> bytes:
    """The workbook layout: one sheet per record kind, each with its own columns, all cells text."""
    by_kind: dict[str, list[Row]] = {kind: [] for kind in SHEETS}
    for row in rows:
        by_kind[row["record"]].append(row)
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"strings_to_numbers": False}) as workbook:
        for kind, sheet_name in SHEETS.items():
            if sheet_name in drop_sheets:
                continue
            sheet = workbook.add_worksheet(sheet_name)
            sheet.write_row(0, 0, COLUMNS[kind])
            for r, row in enumerate(by_kind[kind], start=1):
                sheet.write_row(r, 0, [row.get(c, "") for c in COLUMNS[kind]])
        for name in extra_sheets:
            workbook.add_worksheet(name).write(0, 0, "notes")
    return buffer.getvalue()
