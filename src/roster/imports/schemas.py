from __future__ import annotations

import msgspec


class RowError(msgspec.Struct, frozen=True):
    """One problem in an uploaded roster file, where a person would look for it.

    ``row`` is the spreadsheet row (the header is row 1); ``sheet`` names the XLSX sheet and is
    null for a CSV; ``row`` and ``column`` are null when the problem is the file or a sheet as a whole.
    ``field`` is the same place in one string (``licenses row 37: npi``), as in every other 422.
    """

    message: str
    row: int | None = None
    column: str | None = None
    sheet: str | None = None
    field: str = ""


def row_error(row: int | None, column: str | None, message: str, sheet: str | None = None) -> RowError:
    where = " ".join(part for part in (sheet, f"row {row}" if row is not None else None) if part)
    field = f"{where}: {column}" if where and column else (where or column or "file")
    return RowError(row=row, column=column, message=message, sheet=sheet, field=field)


class RecordCounts(msgspec.Struct, frozen=True):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportResult(msgspec.Struct, frozen=True):
    """Records in the file by kind; ``changes`` says what the import did (or, dry run, would do)."""

    physicians: int
    licenses: int
    certifications: int
    dry_run: bool
    changes: dict[str, RecordCounts]
    errors: list[RowError] = []


class ImportProblem(msgspec.Struct):
    """The RFC 9457 problem for a rejected import: every error by row and column, nothing written."""

    type: str
    title: str
    status: int
    detail: str = ""
    errors: list[RowError] = []
    physicians: int = 0
    licenses: int = 0
    certifications: int = 0
