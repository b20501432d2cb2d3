"""Coverage forecast: eligible reviewers per state x specialty on ``as_of`` and on ``as_of + horizon``.

Answers "which states lose their last eligible oncologist next quarter?". What is projected to the
horizon are the checks with known end dates: licenses, board certifications, recredentialing (36
months), IRR (365 days) and clinical experience (which can also be gained). What is *not* projected:
screening (lists are reloaded monthly, so the standing on ``as_of`` is carried forward: a pending or
confirmed hit still blocks, a fresh screen stays fresh), NPI status, physician status and lines of
business (no known end date), and capacity (coverage is about who may decide, not who is free today).
Jurisdiction is applied for initial determinations, where in-state rules (AZ, AR) are strictest.
"""

from __future__ import annotations

from datetime import date, timedelta

from roster.compliance.service import checked_as_of, end_of_day
from roster.coverage.schemas import CoverageReport, CoverageRow
from roster.matching.facts import ReviewerFacts
from roster.matching.facts_loader import reviewers_as_recorded
from roster.matching.index import RosterIndex
from roster.matching.service import RosterCache, RosterState, case_of, is_past

FORECAST_CHECKS = ["license", "board_certification", "recredentialing", "irr", "clinical_experience"]
REVIEW_TYPE = "initial"


async def _days(
    cache: RosterCache, as_of: date | None, horizon_days: int
) -> tuple[RosterState, RosterIndex, date, date]:
    """The roster, the index to count on (the recorded past for a past ``as_of``), ``as_of`` and the horizon."""
    roster = await cache.current()
    as_of = checked_as_of(as_of)
    horizon = as_of + timedelta(days=horizon_days)
    index = roster.index
    if is_past(as_of):
        index = RosterIndex(await reviewers_as_recorded(end_of_day(as_of)), roster.rules, day_cache=2)
    return roster, index, as_of, horizon


async def report(cache: RosterCache, *, line_of_business: str, as_of: date | None, horizon_days: int) -> CoverageReport:
    roster, index, as_of, horizon = await _days(cache, as_of, horizon_days)
    now = index.coverage(index.day(as_of), line_of_business, REVIEW_TYPE, roster.states)
    later = index.coverage(index.day(horizon, screening_as_of=as_of), line_of_business, REVIEW_TYPE, roster.states)
    rows = [
        CoverageRow(
            state=state,
            specialty=specialty,
            eligible_now=count,
            eligible_at_horizon=later[state][specialty],
            change=later[state][specialty] - count,
            loses_coverage=count > 0 and later[state][specialty] == 0,
        )
        for state in sorted(now)
        for specialty, count in sorted(now[state].items())
    ]
    return CoverageReport(
        line_of_business=line_of_business,
        as_of=as_of,
        horizon_days=horizon_days,
        horizon_on=horizon,
        review_type=REVIEW_TYPE,
        forecast_checks=FORECAST_CHECKS,
        rows=rows,
    )


async def eligible_reviewers(
    cache: RosterCache,
    *,
    line_of_business: str,
    state: str,
    specialty: str,
    as_of: date | None,
    horizon_days: int,
    at_horizon: bool,
) -> tuple[date, list[ReviewerFacts]]:
    """The reviewers one cell of :func:`report` counts (on ``as_of``, or at the horizon), and that day.

    An unknown state or specialty is a 422 naming it, as in ``/match``.
    """
    roster, index, as_of, horizon = await _days(cache, as_of, horizon_days)
    case = case_of(
        roster,
        state=state,
        line_of_business=line_of_business,
        specialty=specialty,
        review_type=REVIEW_TYPE,
        prior_reviewer_ids=[],
    )
    day = index.day(horizon, screening_as_of=as_of) if at_horizon else index.day(as_of)
    return (horizon if at_horizon else as_of), index.covering(day, line_of_business, REVIEW_TYPE, state, case.specialty)
