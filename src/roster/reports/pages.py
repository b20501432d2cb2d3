"""The expirations report page: a week-by-week chart of what lapses, the table, and its CSV.

The chart's counts come from ``service.expirations_by_week`` and the table from ``service.report_page``,
both over the same rows as ``GET /api/v1/reports/expirations``; the CSV is that endpoint's CSV, served
to people (who have no API key) under the page's own path.
"""

from __future__ import annotations

from typing import Any, get_args

from litestar import get
from litestar.exceptions import ValidationException
from litestar.response import Stream, Template
from litestar.types import ControllerRouterHandler

from roster import clock
from roster.api.tabular import csv_stream_response
from roster.errors import RosterError
from roster.reports import service
from roster.reports.expirations import KIND_ORDER
from roster.reports.routes import EXPIRATION_CSV, READ_REPORTS, WithinDays
from roster.reports.routes import _csv_row as csv_row
from roster.reports.schemas import ExpirationWeek
from roster.web.page import PageRequest, query_errors, render

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


HANDLERS: list[ControllerRouterHandler] = [expirations_page, expirations_csv]
