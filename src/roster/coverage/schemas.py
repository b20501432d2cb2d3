from __future__ import annotations

from datetime import date

import msgspec


class CoverageRow(msgspec.Struct):
    state: str
    specialty: str
    #: Reviewers eligible (same or similar specialty) on ``as_of``.
    eligible_now: int
    #: Reviewers still eligible on ``as_of + horizon_days`` given the expirations already known.
    eligible_at_horizon: int
    change: int
    #: The state had eligible reviewers for this specialty and will have none at the horizon.
    loses_coverage: bool


class CoverageReport(msgspec.Struct):
    line_of_business: str
    as_of: date
    horizon_days: int
    horizon_on: date
    #: Review type the jurisdiction rules were applied for (the strictest: initial determinations).
    review_type: str
    #: Checks whose dates are projected to the horizon; the rest are taken as they stand on ``as_of``.
    forecast_checks: list[str]
    rows: list[CoverageRow]
