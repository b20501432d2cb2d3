"""The report pages: expirations (a week-by-week chart of what lapses, the table, and its CSV), turnaround
compliance, on-call coverage gaps, ongoing monitoring proof and the UM decision audit.

The chart's counts come from ``service.expirations_by_week`` and the table from ``service.report_page``,
both over the same rows as ``GET /api/v1/reports/expirations``; the turnaround page is
``turnaround.turnaround_report`` and the gaps page ``schedules.service.on_call_gaps``, the functions behind
``/api/v1/reports/turnaround`` and ``/oncall-gaps``; monitoring is ``monitoring.monitoring_report`` and the UM
decisions page ``um_decisions.um_decision_report``, behind ``/monitoring`` and ``/um-decisions``. Each CSV is
its endpoint's CSV, served to people (who have no API key) under the page's own path.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, get_args
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from litestar import get
from litestar.exceptions import ValidationException
from litestar.response import Stream, Template
from litestar.types import ControllerRouterHandler

from roster import clock
from roster.api.pagination import cursor_key, encode_cursor
from roster.api.tabular import csv_stream_response
from roster.availability.zones import zone
from roster.errors import InvalidInput, RosterError
from roster.matching.facts import reason_words
from roster.matching.service import roster_cache
from roster.reports import monitoring, service, turnaround, um_decisions
from roster.reports.expirations import KIND_ORDER
from roster.reports.routes import (
    EXPIRATION_CSV,
    MONITORING_CSV,
    ONCALL_GAPS_CSV,
    READ_REPORTS,
    TURNAROUND_CSV,
    UM_DECISIONS_CSV,
    GapDays,
    WithinDays,
    um_decision_csv_rows,
)
from roster.reports.routes import _csv_row as csv_row
from roster.reports.schemas import ExpirationWeek, TurnaroundReport, UmDecisionReport
from roster.schedules import service as schedules
from roster.schedules.pages import in_zone
from roster.screening.service import LIST_NAMES
from roster.vocabulary import LineOfBusiness
from roster.web.page import PageRequest, decode_form, form_values, query_errors, render

PAGE_ROWS = 50
#: The chart's drawing box (SVG user units); it scales with the page.
CHART_HEIGHT = 180
BAR_WIDTH = 26
KIND_LABELS = {
    "license": "License",
    "certification": "Certification",
    "recredentialing": "Recredentialing",
    "irr": "IRR",
}
KIND_COLOURS = {"license": "#1d4ed8", "certification": "#047857", "recredentialing": "#b45309", "irr": "#7c3aed"}


def int_query(raw: str | None, name: str, annotation: Any, default: int) -> int:
    """A whole-number filter from a page's URL, held to the bounds of the API's own parameter
    (``annotation``, e.g. ``Annotated[int, QueryParameter(ge=0, le=3650)]``): a bad one is a field message."""
    if raw is None or raw.strip() == "":
        return default
    bounds = get_args(annotation)[1]
    try:
        value = int(raw)
    except ValueError:
        raise ValidationException(extra=[{"key": name, "message": "must be a whole number"}]) from None
    if (bounds.ge is not None and value < bounds.ge) or (bounds.le is not None and value > bounds.le):
        raise ValidationException(extra=[{"key": name, "message": f"must be between {bounds.ge} and {bounds.le}"}])
    return value


def chart(overdue: dict[str, int], weeks: list[ExpirationWeek]) -> dict[str, Any]:
    """Bars (stacked by kind) in SVG user units: the overdue bar first, then one per week."""
    columns: list[tuple[str, str, dict[str, int]]] = [("Overdue", "overdue now", overdue)]
    columns += [(f"W{i + 1}", f"{w.starts_on:%b %d} to {w.ends_on:%b %d}", w.counts) for i, w in enumerate(weeks)]
    top = max([sum(c.values()) for _, _, c in columns] + [1])
    bars = []
    for i, (label, span, counts) in enumerate(columns):
        x = 40 + i * (BAR_WIDTH + 8)
        y = CHART_HEIGHT
        parts = []
        for kind in KIND_ORDER:
            h = counts.get(kind, 0) / top * (CHART_HEIGHT - 20)
            if h:
                y -= h
                parts.append({"kind": kind, "y": round(y, 1), "h": round(h, 1), "colour": KIND_COLOURS[kind]})
        total = sum(counts.values())
        bars.append({"x": x, "label": label, "span": span, "total": total, "parts": parts, "top": round(y, 1)})
    return {"bars": bars, "width": 40 + len(columns) * (BAR_WIDTH + 8) + 10, "height": CHART_HEIGHT + 40, "max": top}


@get("/reports/expirations", opt=READ_REPORTS)
async def expirations_page(request: PageRequest) -> Template:
    within_days_ = request.query_params.get("within_days")
    cursor = request.query_params.get("cursor") or None
    try:
        within_days = int_query(within_days_, "within_days", WithinDays, 90)
        report = await service.report_page(within_days, cursor=cursor, limit=PAGE_ROWS)
    except (ValidationException, RosterError) as exc:
        errors = query_errors(exc)
        unshown = [f"{key}: {message}" for key, message in errors.items() if key not in ("within_days", "_")]
        if unshown:
            errors["_"] = "; ".join(unshown)
        return render(
            request,
            "reports/expirations.html",
            status=422,
            errors=errors,
            params={"within_days": within_days_},
            report=None,
        )
    today, overdue, weeks = await service.expirations_by_week(within_days)
    return render(
        request,
        "reports/expirations.html",
        errors={},
        params={"within_days": within_days},
        report=report,
        today=today,
        overdue=overdue,
        weeks=weeks,
        chart=chart(overdue, weeks),
        kinds=KIND_LABELS,
        colours=KIND_COLOURS,
        first=cursor is not None,
    )


@get("/reports/expirations.csv", opt=READ_REPORTS)
async def expirations_csv(request: PageRequest) -> Stream:
    """Every row, as ``GET /api/v1/reports/expirations`` with ``Accept: text/csv`` gives it."""
    within_days = int_query(request.query_params.get("within_days"), "within_days", WithinDays, 90)
    today = clock.today()
    rows = await service.expiration_rows(today, within_days)
    filename = f"expirations-{today.isoformat()}-{within_days}d.csv"
    return csv_stream_response((csv_row(r) for r in rows), EXPIRATION_CSV, filename=filename)


# ----------------------------------------------------------------------------------- turnaround

LINES_OF_BUSINESS: tuple[str, ...] = LineOfBusiness.__args__  # type: ignore[attr-defined]
#: The API's default period: the last 30 days through today.
DEFAULT_PERIOD_DAYS = 30


class TurnaroundQuery(msgspec.Struct, forbid_unknown_fields=False, rename={"from_": "from"}):
    """The page's URL query: ``GET /api/v1/reports/turnaround``'s parameters (and a page of late cases)."""

    from_: date | None = None
    to: date | None = None
    line_of_business: LineOfBusiness | None = None
    cursor: str | None = None


def offset_of(cursor: str | None) -> int:
    """Where a page of a listed report starts (a cursor of an earlier page; 0 without one)."""
    key = cursor_key(cursor or None, int)
    if key is None:
        return 0
    if key[0] < 0:
        raise InvalidInput.on("cursor", "not a cursor returned by this API")
    return key[0]


def _filters(request: PageRequest, names: tuple[str, ...]) -> dict[str, Any]:
    return form_values({k: v for k, v in request.query_params.items() if k in names})


async def _turnaround(request: PageRequest, query: TurnaroundQuery) -> tuple[TurnaroundReport, str]:
    today = clock.today()
    start, end = query.from_ or today - timedelta(days=DEFAULT_PERIOD_DAYS), query.to or today
    zone_name = request.app.state["settings"].default_time_zone
    return await turnaround.turnaround_report(start, end, query.line_of_business, zone(zone_name)), zone_name


@get("/reports/turnaround", opt=READ_REPORTS)
async def turnaround_page(request: PageRequest) -> Template:
    params = _filters(request, ("from", "to", "line_of_business", "cursor"))
    filters = {k: v for k, v in params.items() if k != "cursor"}
    common = {"params": filters, "lines": LINES_OF_BUSINESS, "local": in_zone}
    try:
        query = decode_form(params, TurnaroundQuery)
        start = offset_of(query.cursor)
        report, zone_name = await _turnaround(request, query)
    except RosterError as exc:
        return render(
            request, "reports/turnaround.html", status=exc.status, errors=query_errors(exc), report=None, **common
        )
    late = report.late[start : start + PAGE_ROWS]
    following = start + PAGE_ROWS
    return render(
        request,
        "reports/turnaround.html",
        errors={},
        report=report,
        zone_name=zone_name,
        late=late,
        late_first=start + 1,
        names=await schedules.physician_names({c.physician_id for c in late}),
        next_cursor=encode_cursor(following) if following < len(report.late) else None,
        first=start > 0,
        csv_params={"from": report.from_.isoformat(), "to": report.to.isoformat(), **filters},
        **common,
    )


@get("/reports/turnaround.csv", opt=READ_REPORTS)
async def turnaround_csv(request: PageRequest) -> Stream:
    """The late cases, as ``GET /api/v1/reports/turnaround`` with ``Accept: text/csv`` gives them."""
    query = decode_form(_filters(request, ("from", "to", "line_of_business")), TurnaroundQuery)
    report, _ = await _turnaround(request, query)
    rows = (msgspec.to_builtins(c) for c in report.late)
    return csv_stream_response(rows, TURNAROUND_CSV, filename=f"turnaround-{report.from_}-{report.to}.csv")


# ---------------------------------------------------------------------------------- on-call gaps


def _rotation_of(raw: str | None) -> UUID | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return UUID(raw.strip())
    except ValueError:
        raise InvalidInput.on("rotation", "not a rotation id") from None


@get("/reports/oncall-gaps", opt=READ_REPORTS)
async def oncall_gaps_page(request: PageRequest) -> Template:
    params = _filters(request, ("rotation", "days", "cursor"))
    filters = {k: v for k, v in params.items() if k != "cursor"}
    rotations = (await schedules.list_rotations(cursor=None, limit=500)).items
    common = {"params": filters, "rotations": [(str(r.id), r.name) for r in rotations], "local": in_zone}
    try:
        days = int_query(params.get("days"), "days", GapDays, 30)
        rotation = _rotation_of(params.get("rotation"))
        start = offset_of(params.get("cursor"))
        report = await schedules.on_call_gaps(rotation, days)
    except (ValidationException, RosterError) as exc:
        errors = query_errors(exc)
        if isinstance(exc, RosterError) and exc.status == 404:
            errors = {"rotation": exc.detail}
        status = exc.status if isinstance(exc, RosterError) else 422
        return render(request, "reports/oncall_gaps.html", status=status, errors=errors, report=None, **common)
    following = start + PAGE_ROWS
    return render(
        request,
        "reports/oncall_gaps.html",
        errors={},
        report=report,
        gaps=report.gaps[start:following],
        gaps_first=start + 1,
        zones={r.id: r.time_zone for r in rotations},
        organization=request.app.state["settings"].default_time_zone,
        next_cursor=encode_cursor(following) if following < len(report.gaps) else None,
        first=start > 0,
        **common,
    )


@get("/reports/oncall-gaps.csv", opt=READ_REPORTS)
async def oncall_gaps_csv(request: PageRequest) -> Stream:
    """The gaps, as ``GET /api/v1/reports/oncall-gaps`` with ``Accept: text/csv`` gives them."""
    days = int_query(request.query_params.get("days"), "days", GapDays, 30)
    report = await schedules.on_call_gaps(_rotation_of(request.query_params.get("rotation")), days)
    rows = (msgspec.to_builtins(g) for g in report.gaps)
    return csv_stream_response(rows, ONCALL_GAPS_CSV, filename=f"oncall-gaps-{days}d.csv")


# ------------------------------------------------------------------------------------ monitoring


class PeriodQuery(msgspec.Struct, forbid_unknown_fields=False):
    """The URL query of the monitoring and UM decision pages: their API's ``period_start``/``period_end``."""

    period_start: date | None = None
    period_end: date | None = None
    cursor: str | None = None


def _period(query: PeriodQuery) -> tuple[date, date]:
    """The API's default: the last twelve whole months."""
    start, end = monitoring.default_period(clock.today())
    return query.period_start or start, query.period_end or end


def _period_shown(start: date, end: date) -> dict[str, str]:
    """The period a report covers, for its form's fields (the defaults filled in) and its CSV link."""
    return {"period_start": start.isoformat(), "period_end": end.isoformat()}


def _organization(request: PageRequest) -> ZoneInfo:
    return zone(request.app.state["settings"].default_time_zone)


@get("/reports/monitoring", opt=READ_REPORTS)
async def monitoring_page(request: PageRequest) -> Template:
    params = _filters(request, ("period_start", "period_end", "cursor"))
    filters = {k: v for k, v in params.items() if k != "cursor"}
    try:
        query = decode_form(params, PeriodQuery)
        start = offset_of(query.cursor)
        report = await monitoring.monitoring_report(*_period(query), _organization(request))
    except RosterError as exc:
        return render(
            request,
            "reports/monitoring.html",
            status=exc.status,
            errors=query_errors(exc),
            params=filters,
            report=None,
            csv_params=None,
        )
    gaps = report.gaps[start : start + PAGE_ROWS]
    following = start + PAGE_ROWS
    return render(
        request,
        "reports/monitoring.html",
        errors={},
        params=filters,
        report=report,
        counts={(m.source, m.month): m.physicians for m in report.by_month},
        labels=LIST_NAMES,
        gaps=gaps,
        gaps_first=start + 1,
        names=await schedules.physician_names({g.physician_id for g in gaps}),
        next_cursor=encode_cursor(following) if following < len(report.gaps) else None,
        first=start > 0,
        csv_params=_period_shown(report.period_start, report.period_end),
    )


@get("/reports/monitoring.csv", opt=READ_REPORTS)
async def monitoring_csv(request: PageRequest) -> Stream:
    """Every gap, as ``GET /api/v1/reports/monitoring`` with ``Accept: text/csv`` gives them."""
    start, end = _period(decode_form(_filters(request, ("period_start", "period_end")), PeriodQuery))
    _, gaps = await monitoring.monitoring_gaps_in(start, end, _organization(request))
    rows = (msgspec.to_builtins(g) for g in gaps)
    return csv_stream_response(rows, MONITORING_CSV, filename=f"monitoring-{start.isoformat()}-{end.isoformat()}.csv")


# ---------------------------------------------------------------------------------- UM decisions


async def _um_decisions(request: PageRequest, query: PeriodQuery) -> UmDecisionReport:
    rules = (await roster_cache(request.app.state).current()).rules
    return await um_decisions.um_decision_report(*_period(query), _organization(request), rules)


@get("/reports/um-decisions", opt=READ_REPORTS)
async def um_decisions_page(request: PageRequest) -> Template:
    params = _filters(request, ("period_start", "period_end", "cursor"))
    filters = {k: v for k, v in params.items() if k != "cursor"}
    try:
        query = decode_form(params, PeriodQuery)
        start = offset_of(query.cursor)
        report = await _um_decisions(request, query)
    except RosterError as exc:
        return render(
            request,
            "reports/um_decisions.html",
            status=exc.status,
            errors=query_errors(exc),
            params=filters,
            report=None,
            csv_params=None,
        )
    exceptions = report.exceptions[start : start + PAGE_ROWS]
    following = start + PAGE_ROWS
    return render(
        request,
        "reports/um_decisions.html",
        errors={},
        params=filters,
        report=report,
        exceptions=exceptions,
        exceptions_first=start + 1,
        names=await schedules.physician_names({e.physician_id for e in exceptions}),
        zone_name=request.app.state["settings"].default_time_zone,
        local=in_zone,
        reason_words=reason_words,
        next_cursor=encode_cursor(following) if following < len(report.exceptions) else None,
        first=start > 0,
        csv_params=_period_shown(report.period_start, report.period_end),
    )


@get("/reports/um-decisions.csv", opt=READ_REPORTS)
async def um_decisions_csv(request: PageRequest) -> Stream:
    """The exceptions, as ``GET /api/v1/reports/um-decisions`` with ``Accept: text/csv`` gives them."""
    report = await _um_decisions(request, decode_form(_filters(request, ("period_start", "period_end")), PeriodQuery))
    name = f"um-decisions-{report.period_start}-{report.period_end}.csv"
    return csv_stream_response(um_decision_csv_rows(report), UM_DECISIONS_CSV, filename=name)


HANDLERS: list[ControllerRouterHandler] = [
    expirations_page,
    expirations_csv,
    turnaround_page,
    turnaround_csv,
    oncall_gaps_page,
    oncall_gaps_csv,
    monitoring_page,
    monitoring_csv,
    um_decisions_page,
    um_decisions_csv,
]
