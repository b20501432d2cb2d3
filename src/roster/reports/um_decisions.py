"""``GET /reports/um-decisions``: the UM decision audit (issue 15). For the assignments completed in a period,
the share whose recorded evidence shows a reviewer eligible when assigned, with every exception listed.

The judgement is :func:`roster.credentialing.rules.um_decision_reasons`, on the evidence the assignment kept
(the license, certifications and list snapshots relied on) and the reviewer's hits as they stood then;
this module gathers those facts. Whether the case needed an in-state license is read from today's state
rules: the evidence does not record which state was required.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from roster.credentialing.rules import HitAt, um_decision_reasons
from roster.errors import InvalidInput
from roster.matching.facts import Case, MatchRules
from roster.reports import repository
from roster.reports.schemas import UmDecisionException, UmDecisionReport

#: The longest period one audit covers.
MAX_PERIOD_DAYS = 366


def _instant(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def checked_period(period_start: date, period_end: date) -> None:
    if period_end < period_start:
        raise InvalidInput.on("period_end", "must be on or after period_start")
    if (period_end - period_start).days >= MAX_PERIOD_DAYS:
        raise InvalidInput.on("period_end", f"the period may span at most {MAX_PERIOD_DAYS} days")


async def um_decision_report(
    period_start: date, period_end: date, zone: ZoneInfo, rules: MatchRules
) -> UmDecisionReport:
    """Assignments completed from the start of ``period_start`` to the end of ``period_end`` in ``zone``."""
    checked_period(period_start, period_end)
    start = datetime.combine(period_start, time(), zone)
    end = datetime.combine(period_end + timedelta(days=1), time(), zone)
    rows = await repository.completed_between(start, end)
    hits: dict[str, list[HitAt]] = defaultdict(list)
    if rows:
        for hit in await repository.hits_raised_before(end):
            decided = None if hit["decided_at"] is None else _instant(hit["decided_at"])
            hits[str(hit["physician_id"])].append(
                HitAt(hit["source"], _instant(hit["created_at"]), decided, hit["status"])
            )
    exceptions = []
    for row in rows:
        assigned_at = _instant(row["created_at"])
        evidence: Any = row["evidence"]
        case = Case(
            state=row["state"],
            line_of_business=row["line_of_business"],
            specialty=row["specialty"],
            review_type=row["review_type"],
        )
        reasons = um_decision_reasons(
            evidence if isinstance(evidence, dict) else {},
            assigned_at=assigned_at,
            required_license_state=rules.required_license_state(case),
            hits=hits.get(str(row["physician_id"]), ()),
            policy=rules.policy,
        )
        if reasons:
            exceptions.append(
                UmDecisionException(
                    assignment_id=UUID(str(row["id"])),
                    case_id=row["case_id"],
                    physician_id=UUID(str(row["physician_id"])),
                    assigned_at=assigned_at,
                    reasons=reasons,
                )
            )
    completed = len(rows)
    eligible = completed - len(exceptions)
    return UmDecisionReport(
        period_start=period_start,
        period_end=period_end,
        completed=completed,
        eligible=eligible,
        share=round(eligible / completed, 4) if completed else None,
        exceptions=exceptions,
    )
