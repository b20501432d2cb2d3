"""Reports answer JSON by default and CSV when the client asks for ``Accept: text/csv``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import polars as pl
from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.response import Stream

from roster import spreadsheet

CSV = "text/csv"


def wants_csv(request: Request[Any, Any, Any]) -> bool:
    return request.accept.best_match(["application/json", CSV], default="application/json") == CSV


def csv_of(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, pl.DataType | type[pl.DataType]]) -> bytes:
    """One CSV, written by polars with a fixed column order even when there are no rows."""
    return _frame(rows, schema).write_csv().encode()


def _frame(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, pl.DataType | type[pl.DataType]]) -> pl.DataFrame:
    """The rows as a frame, text a spreadsheet would run as a formula escaped (``roster.spreadsheet``)."""
    frame = (
        pl.DataFrame([dict(r) for r in rows], schema=dict(schema), orient="row")
        if rows
        else pl.DataFrame(schema=dict(schema))
    )
    return spreadsheet.escape_text(frame)


def csv_chunks(
    rows: Iterable[Mapping[str, Any]],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    *,
    chunk_rows: int = 5000,
) -> Iterator[bytes]:
    """The header, then the rows a chunk at a time: a big report is never one CSV string in memory."""
    yield pl.DataFrame(schema=dict(schema)).write_csv().encode()
    chunk: list[Mapping[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == chunk_rows:
            yield _frame(chunk, schema).write_csv(include_header=False).encode()
            chunk = []
    if chunk:
        yield _frame(chunk, schema).write_csv(include_header=False).encode()


def csv_stream_response(
    rows: Iterable[Mapping[str, Any]], schema: Mapping[str, pl.DataType | type[pl.DataType]], *, filename: str
) -> Stream:
    """Every row as a streamed CSV attachment (``rows`` may be a generator)."""
    return Stream(
        csv_chunks(rows, schema),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def tabular_response(
    request: Request[Any, Any, Any],
    body: msgspec.Struct,
    rows: Sequence[Mapping[str, Any]],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    *,
    filename: str,
) -> Response[Any]:
    """``body`` as JSON, or ``rows`` (flat, one per line) as a CSV attachment."""
    if wants_csv(request):
        return Response(
            csv_of(rows, schema),
            media_type=CSV,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return Response(body)


def csv_response_spec(description: str) -> ResponseSpec:
    """The OpenAPI note that the same endpoint also answers ``text/csv``."""
    return ResponseSpec(data_container=str, media_type=CSV, description=description, generate_examples=False)


@dataclass
class TabularOperation(Operation):
    """``operation_class`` for a JSON route that also answers ``text/csv``: documents both bodies of its 200.

    (A ``responses={200: csv_response_spec(...)}`` entry would replace the JSON body in the schema.)
    """

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
