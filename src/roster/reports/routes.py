"""``GET /api/v1/reports/expirations``: JSON pages by default, every row as CSV with ``Accept: text/csv``."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import polars as pl
from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter

from roster import clock
from roster.api.auth import allow
from roster.api.pagination import Cursor, Limit
from roster.api.problems import problems
from roster.api.tabular import TabularOperation, csv_stream_response, wants_csv
from roster.keys.schemas import Role
from roster.reports import service
from roster.reports.schemas import ExpirationReport, ExpirationRow

#: Credentialing staff act on expirations, managers and auditors watch them; case routers have no use for them.
READ_REPORTS = allow(Role.credentialing, Role.manager, Role.auditor)

WithinDays = Annotated[
    int, QueryParameter(ge=0, le=3650, description="Report what lapses on or before today + this many days (0-3650).")
]

EXPIRATION_CSV = {
    "physician_id": pl.String,
    "npi": pl.String,
    "name": pl.String,
    "kind": pl.String,
    "item_id": pl.String,
    "detail": pl.String,
    "expires_on": pl.Date,
    "days_left": pl.Int64,
    "status": pl.String,
}


def _csv_row(row: ExpirationRow) -> dict[str, Any]:
    values = msgspec.structs.asdict(row)
    values["physician_id"] = str(row.physician_id)
    values["item_id"] = None if row.item_id is None else str(row.item_id)
    return values


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]

    @get(
        "/expirations",
        opt=READ_REPORTS,
        responses=problems(401, 403, 422),
        operation_class=TabularOperation,
        summary="Licenses, certifications, recredentialing and IRR lapsing soon or already overdue",
        description=(
            "Rows sorted by date (never-done items first). JSON is paginated with `limit`/`cursor`; "
            "with `Accept: text/csv` the whole report is streamed as one CSV and `limit`/`cursor` are ignored."
        ),
    )
    async def expirations_report(
        self,
        request: Request[Any, Any, Any],
        within_days: WithinDays = 90,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[ExpirationReport]:
        if wants_csv(request):
            service.cursor_after(cursor)  # ignored by CSV, but a bad one is still a client error
            today = clock.today()
            rows = await service.expiration_rows(today, within_days)
            filename = f"expirations-{today.isoformat()}-{within_days}d.csv"
            return csv_stream_response((_csv_row(r) for r in rows), EXPIRATION_CSV, filename=filename)
        return Response(await service.report_page(within_days, cursor=cursor, limit=limit))
