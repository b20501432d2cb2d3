"""``GET /reports/turnaround``: the share of cases decided within their regulatory clock (rules.md §5), by
line of business, review type and urgency, with every late or overdue case listed.

Which clock applied is the assignment's own ``due_at`` (from the turnaround table when it was assigned);
``roster.availability.clocks.turnaround_outcome`` says how each case fared.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from roster import clock
from roster.assignments import repository
from roster.availability.clocks import turnaround_outcome
from roster.errors import InvalidInput
from roster.reports.schemas import LateCase, TurnaroundGroup, TurnaroundReport

#: The longest period one report covers.
MAX_PERIOD_DAYS = 366


def _instant(value: Any) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def turnaround_report(
    period_from: date, period_to: date, line_of_business: str | None, zone: ZoneInfo
) -> TurnaroundReport:
    if period_to < period_from:
        raise InvalidInput.on("to", "must be on or after from")
    if (period_to - period_from).days >= MAX_PERIOD_DAYS:
        raise InvalidInput.on("to", f"the period may span at most {MAX_PERIOD_DAYS} days")
    start = datetime.combine(period_from, time(), zone)
    end = datetime.combine(period_to + timedelta(days=1), time(), zone)
    now = clock.now()
    outcomes: Counter[tuple[str, str, str, str]] = Counter()
    late: list[LateCase] = []
    for row in await repository.decided_or_due_between(start, end, line_of_business):
        due = _instant(row["due_at"])
        closed = None if row["closed_at"] is None else _instant(row["closed_at"])
        outcome = turnaround_outcome(row["status"], due, closed, now)
        if outcome is None:
            continue
        key = (row["line_of_business"], row["review_type"], row["urgency"] or "standard")
        outcomes[(*key, outcome)] += 1
        if outcome in ("late", "overdue"):
            decided = closed if outcome == "late" else None
            late.append(
                LateCase(
                    assignment_id=row["id"],
                    case_id=row["case_id"],
                    physician_id=row["physician_id"],
                    line_of_business=key[0],
                    review_type=key[1],
                    urgency=key[2],
                    due_at=due,
                    decided_at=decided,
                    hours_late=round(((decided or now) - due).total_seconds() / 3600, 2),
                    outcome=outcome,
                )
            )
    groups = []
    for key in sorted({k[:3] for k in outcomes}):
        on_time, late_count, overdue, pending = (outcomes[(*key, o)] for o in ("on_time", "late", "overdue", "pending"))
        judged = on_time + late_count + overdue
        groups.append(
            TurnaroundGroup(
                line_of_business=key[0],
                review_type=key[1],
                urgency=key[2],
                decided=on_time + late_count,
                on_time=on_time,
                share_on_time=round(on_time / judged, 4) if judged else None,
                overdue=overdue,
                pending=pending,
            )
        )
    late.sort(key=lambda c: (c.due_at, str(c.assignment_id)))
    return TurnaroundReport(from_=period_from, to=period_to, groups=groups, late=late)
