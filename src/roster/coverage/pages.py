"""The coverage page: eligible reviewers per state x specialty now and at the horizon, as two heat maps.

The counts are ``service.report``'s, exactly as ``GET /api/v1/reports/coverage`` gives them; each cell
links to the reviewers it counts (``service.eligible_reviewers``, the same index and rules).
"""

from __future__ import annotations

from datetime import date
from typing import Any, get_type_hints

import msgspec
from litestar import get
from litestar.exceptions import ValidationException
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from roster.coverage import service
from roster.coverage.routes import READ_COVERAGE, CoverageController
from roster.errors import RosterError
from roster.matching.service import roster_cache
from roster.reference.service import specialty_index
from roster.reports.pages import int_query
from roster.vocabulary import LineOfBusiness
from roster.web.page import PageRequest, decode_form, query_errors, render

#: The API's own ``horizon_days`` parameter (its bounds hold on the page too).
HORIZON_DAYS = get_type_hints(CoverageController.coverage_report.fn, include_extras=True)["horizon_days"]
LINES_OF_BUSINESS: tuple[str, ...] = LineOfBusiness.__args__  # type: ignore[attr-defined]
#: Heat-map colours by eligible reviewers (the number is always printed in the cell too).
SCALE = (
    (0, "#fecaca", "none"),
    (1, "#fde68a", "1"),
    (2, "#d9f99d", "2"),
    (3, "#86efac", "3 to 4"),
    (5, "#4ade80", "5+"),
)


class CoverageQuery(msgspec.Struct, forbid_unknown_fields=False):
    #: The API requires it; the page opens on the first one so it always shows a map.
    line_of_business: LineOfBusiness = LINES_OF_BUSINESS[0]
    as_of: date | None = None


class CellQuery(CoverageQuery):
    state: str = ""
    specialty: str = ""
    at: str = "now"


def colour(count: int) -> str:
    return next(c for floor, c, _ in reversed(SCALE) if count >= floor)


def _params(request: PageRequest) -> dict[str, Any]:
    return {k: v for k, v in request.query_params.items() if isinstance(v, str) and v.strip()}


@get("/reports/coverage", opt=READ_COVERAGE)
async def coverage_page(
    request: PageRequest,
) -> Template:
    params = _params(request)
    try:
        query = decode_form({k: v for k, v in params.items() if k in ("line_of_business", "as_of")}, CoverageQuery)
        horizon_days = int_query(request.query_params.get("horizon_days"), "horizon_days", HORIZON_DAYS, 90)
        report = await service.report(
            roster_cache(request.app.state),
            line_of_business=query.line_of_business,
            as_of=query.as_of,
            horizon_days=horizon_days,
        )
    except (ValidationException, RosterError) as exc:
        return render(
            request,
            "coverage/coverage.html",
            status=422,
            errors=query_errors(exc),
            params=params,
            report=None,
            lines=LINES_OF_BUSINESS,
        )
    names = (await specialty_index()).by_slug
    states = sorted({r.state for r in report.rows})
    specialties = sorted({r.specialty for r in report.rows}, key=lambda s: names[s].name if s in names else s)
    grid = {(r.state, r.specialty): r for r in report.rows}
    shown = {"line_of_business": report.line_of_business, "horizon_days": report.horizon_days}
    if query.as_of is not None:
        shown["as_of"] = report.as_of.isoformat()
    return render(
        request,
        "coverage/coverage.html",
        errors={},
        params=shown,
        report=report,
        states=states,
        specialties=[(s, names[s].name if s in names else s) for s in specialties],
        specialty_names={s: names[s].name if s in names else s for s in specialties},
        grid=grid,
        losing=[r for r in report.rows if r.loses_coverage],
        colour=colour,
        scale=SCALE,
        lines=LINES_OF_BUSINESS,
    )


@get("/reports/coverage/reviewers", opt=READ_COVERAGE)
async def coverage_cell(
    request: PageRequest,
) -> Template:
    """The reviewers one heat-map cell counts."""
    params = _params(request)
    try:
        query = decode_form(
            {k: v for k, v in params.items() if k in ("line_of_business", "as_of", "state", "specialty", "at")},
            CellQuery,
        )
        horizon_days = int_query(request.query_params.get("horizon_days"), "horizon_days", HORIZON_DAYS, 90)
        day, reviewers = await service.eligible_reviewers(
            roster_cache(request.app.state),
            line_of_business=query.line_of_business,
            state=query.state,
            specialty=query.specialty,
            as_of=query.as_of,
            horizon_days=horizon_days,
            at_horizon=query.at == "horizon",
        )
    except (ValidationException, RosterError) as exc:
        errors = query_errors(exc)
        return render(request, "error.html", status=422, status_code=422, detail="; ".join(errors.values()))
    names = (await specialty_index()).by_slug
    specialty = names.get(query.specialty)
    back = {k: params.get(k) for k in ("line_of_business", "as_of", "horizon_days")}
    return render(
        request,
        "coverage/reviewers.html",
        cell=query,
        day=day,
        reviewers=reviewers,
        specialty_name=specialty.name if specialty else query.specialty,
        back=back,
    )


HANDLERS: list[ControllerRouterHandler] = [coverage_page, coverage_cell]
