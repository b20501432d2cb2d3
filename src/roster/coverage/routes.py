"""``GET /api/v1/reports/coverage``: JSON by default, the rows as CSV with ``Accept: text/csv``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
import polars as pl
from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter

from roster.api.auth import allow
from roster.api.problems import problems
from roster.api.tabular import TabularOperation, tabular_response
from roster.coverage import service
from roster.coverage.schemas import CoverageReport
from roster.errors import InvalidInput
from roster.keys.schemas import Role
from roster.matching.service import roster_cache
from roster.vocabulary import LineOfBusiness

#: Managers plan staffing from it; auditors may read it.
READ_COVERAGE = allow(Role.manager, Role.auditor)

COVERAGE_CSV = {
    "state": pl.String,
    "specialty": pl.String,
    "eligible_now": pl.Int64,
    "eligible_at_horizon": pl.Int64,
    "change": pl.Int64,
    "loses_coverage": pl.Boolean,
}


class CoverageController(Controller):
    path = "/reports/coverage"
    tags = ["reports"]

    @get(
        "/",
        opt=READ_COVERAGE,
        responses=problems(401, 403, 422),
        operation_class=TabularOperation,
        summary="Eligible reviewers per state and specialty now and at a horizon (coverage-gap forecast)",
        description=service.__doc__,
    )
    async def coverage_report(
        self,
        request: Request[Any, Any, Any],
        line_of_business: Annotated[
            LineOfBusiness | None, QueryParameter(description="required: the line of business to staff")
        ] = None,
        as_of: Annotated[date | None, QueryParameter(description="default today; a past date replays history")] = None,
        horizon_days: Annotated[int, QueryParameter(ge=0, le=1095, description="days ahead to forecast")] = 90,
    ) -> Response[CoverageReport]:
        if line_of_business is None:
            raise InvalidInput.on("line_of_business", "is required")
        body = await service.report(
            roster_cache(request.app.state), line_of_business=line_of_business, as_of=as_of, horizon_days=horizon_days
        )
        rows = [msgspec.structs.asdict(row) for row in body.rows]
        name = f"coverage-{body.line_of_business}-{body.as_of.isoformat()}-{body.horizon_days}d.csv"
        return tabular_response(request, body, rows, COVERAGE_CSV, filename=name)
