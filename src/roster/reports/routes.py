"""``GET /api/v1/reports/expirations`` and ``/reports/monitoring``: JSON by default, every row as CSV with
``Accept: text/csv``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
import polars as pl
from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter

from roster import clock
from roster.api.auth import allow
from roster.api.pagination import Cursor, Limit
from roster.api.problems import problems
from roster.api.tabular import TabularOperation, csv_stream_response, wants_csv
from roster.availability.zones import zone
from roster.keys.schemas import Role
from roster.matching.service import roster_cache
from roster.reports import monitoring, service, turnaround, um_decisions
from roster.reports.schemas import (
    ExpirationReport,
    ExpirationRow,
    MonitoringReport,
    TurnaroundReport,
    UmDecisionReport,
)
from roster.schedules import service as schedules
from roster.schedules.schemas import OnCallGapReport
from roster.vocabulary import LineOfBusiness

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


ONCALL_GAPS_CSV = {
    "rotation_id": pl.String,
    "rotation": pl.String,
    "starts_at": pl.String,
    "ends_at": pl.String,
    "hours": pl.Float64,
    "reason": pl.String,
    "physician_id": pl.String,
    "name": pl.String,
}
GapDays = Annotated[int, QueryParameter(ge=1, le=366, description="How many days ahead to look (1-366).")]
RotationId = Annotated[UUID | None, QueryParameter(description="One rotation (default: every rotation).")]

TURNAROUND_CSV = {
    "assignment_id": pl.String,
    "case_id": pl.String,
    "physician_id": pl.String,
    "line_of_business": pl.String,
    "review_type": pl.String,
    "urgency": pl.String,
    "due_at": pl.String,
    "decided_at": pl.String,
    "hours_late": pl.Float64,
    "outcome": pl.String,
}
PeriodFrom = Annotated[date | None, QueryParameter(name="from", description="First day (default: 30 days ago).")]
PeriodTo = Annotated[date | None, QueryParameter(description="Last day (default: today).")]
OneLine = Annotated[LineOfBusiness | None, QueryParameter(description="One line of business (default: all).")]

MONITORING_CSV = {"physician_id": pl.String, "source": pl.String, "month": pl.String}

UM_DECISIONS_CSV = {
    "assignment_id": pl.String,
    "case_id": pl.String,
    "physician_id": pl.String,
    "assigned_at": pl.String,
    "reasons": pl.String,
}

PeriodStart = Annotated[
    date | None, QueryParameter(description="First day of the period (default: the first day of 12 months ago).")
]
PeriodEnd = Annotated[
    date | None, QueryParameter(description="Last day of the period (default: the last day of last month).")
]


def um_decision_csv_rows(report: UmDecisionReport) -> Iterator[dict[str, Any]]:
    """The UM decision audit's exceptions as CSV rows (reasons ``;``-joined): the API's CSV and the page's."""
    return ({**msgspec.to_builtins(e), "reasons": ";".join(e.reasons)} for e in report.exceptions)


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

    @get(
        "/monitoring",
        opt=READ_REPORTS,
        responses=problems(401, 403, 422),
        operation_class=TabularOperation,
        summary="Proof of monthly exclusion monitoring: months without a run against that month's list",
        description=(
            "For each physician on the roster and each list (LEIE, SAM, CMS preclusion), every calendar month "
            "of the period (organization time zone, at most 36 months) needs a screening run against a "
            "snapshot of that list loaded in the same month (NCQA CR 5). `gaps` lists the first 10,000 "
            "missing (physician, list, month); `gap_count` and `by_month` count all. With `Accept: text/csv` "
            "every gap is streamed."
        ),
    )
    async def monitoring_report(
        self, request: Request[Any, Any, Any], period_start: PeriodStart = None, period_end: PeriodEnd = None
    ) -> Response[MonitoringReport]:
        start, end = monitoring.default_period(clock.today())
        start, end = period_start or start, period_end or end
        organization = zone(request.app.state["settings"].default_time_zone)
        if wants_csv(request):
            _, gaps = await monitoring.monitoring_gaps_in(start, end, organization)
            rows = ({"physician_id": str(g.physician_id), "source": g.source, "month": g.month} for g in gaps)
            filename = f"monitoring-{start.isoformat()}-{end.isoformat()}.csv"
            return csv_stream_response(rows, MONITORING_CSV, filename=filename)
        return Response(await monitoring.monitoring_report(start, end, organization))

    @get(
        "/oncall-gaps",
        opt=READ_REPORTS,
        responses=problems(401, 403, 404, 422),
        operation_class=TabularOperation,
        summary="Stretches of the next days without a reviewer on call who can take the rotation's cases",
        description=(
            "`nobody`: no layer has started or it has no member; `on_leave`: the reviewer on call has time off "
            "then (an override closes the gap). With `Accept: text/csv` the same rows as one CSV."
        ),
    )
    async def oncall_gaps(
        self, request: Request[Any, Any, Any], rotation: RotationId = None, days: GapDays = 30
    ) -> Response[OnCallGapReport]:
        report = await schedules.on_call_gaps(rotation, days)
        if wants_csv(request):
            rows = (msgspec.to_builtins(g) for g in report.gaps)
            return csv_stream_response(rows, ONCALL_GAPS_CSV, filename=f"oncall-gaps-{days}d.csv")
        return Response(report)

    @get(
        "/turnaround",
        opt=READ_REPORTS,
        responses=problems(401, 403, 422),
        operation_class=TabularOperation,
        summary="Share of cases decided within their regulatory clock, with the late ones",
        description=(
            "Assignments received in the period (organization time zone), by line of business, review type and "
            "urgency: decided on time, decided late, open past due (`overdue`, counted against the share) and "
            "open before due (`pending`). `late` lists every late or overdue case. With `Accept: text/csv` the "
            "late cases as one CSV."
        ),
    )
    async def turnaround_report(
        self,
        request: Request[Any, Any, Any],
        from_: PeriodFrom = None,
        to: PeriodTo = None,
        line_of_business: OneLine = None,
    ) -> Response[TurnaroundReport]:
        today = clock.today()
        start, end = from_ or today - timedelta(days=30), to or today
        organization = zone(request.app.state["settings"].default_time_zone)
        report = await turnaround.turnaround_report(start, end, line_of_business, organization)
        if wants_csv(request):
            rows = (msgspec.to_builtins(c) for c in report.late)
            return csv_stream_response(rows, TURNAROUND_CSV, filename=f"turnaround-{start}-{end}.csv")
        return Response(report)

    @get(
        "/um-decisions",
        opt=READ_REPORTS,
        responses=problems(401, 403, 422),
        operation_class=TabularOperation,
        summary="UM decision audit: completed cases whose recorded evidence shows an eligible reviewer",
        description=(
            "Assignments completed in the period (organization time zone, at most 366 days; default the last "
            "twelve whole months): the share whose evidence recorded at assignment (the license, certifications "
            "and list snapshots relied on, and the reviewer's screening hits as they stood then) shows an "
            "eligible reviewer. `exceptions` lists the others with compliance reason codes. With "
            "`Accept: text/csv` the exceptions as one CSV (reasons separated by `;`)."
        ),
    )
    async def um_decisions_report(
        self, request: Request[Any, Any, Any], period_start: PeriodStart = None, period_end: PeriodEnd = None
    ) -> Response[UmDecisionReport]:
        start, end = monitoring.default_period(clock.today())
        start, end = period_start or start, period_end or end
        organization = zone(request.app.state["settings"].default_time_zone)
        rules = (await roster_cache(request.app.state).current()).rules
        report = await um_decisions.um_decision_report(start, end, organization, rules)
        if wants_csv(request):
            rows = um_decision_csv_rows(report)
            return csv_stream_response(rows, UM_DECISIONS_CSV, filename=f"um-decisions-{start}-{end}.csv")
        return Response(report)
