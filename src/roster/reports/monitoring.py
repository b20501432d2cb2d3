"""``GET /reports/monitoring``: proof of ongoing monitoring (rules.md §6, NCQA CR 5).

For each physician and each required list, every calendar month of the period (in the organization's
zone) must have a screening run against a snapshot of that list loaded in the same month. The rule is
``roster.credentialing.rules.monitoring_gaps``; this module only gathers its facts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from roster.compliance.dates import add_months
from roster.config import SOURCES
from roster.credentialing.rules import (
    Monitored,
    MonitoringGap,
    MonitoringRun,
    monitoring_gaps,
    month_label,
    months_between,
)
from roster.errors import InvalidInput
from roster.reports import repository
from roster.reports.schemas import MonitoringGapRow, MonitoringMonth, MonitoringReport

#: A period longer than this is refused (three years: one recredentialing cycle).
MAX_PERIOD_MONTHS = 36
#: JSON lists this many gaps at most; the CSV lists every one.
MONITORING_GAPS_SHOWN = 10_000


def _local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def checked_period(period_start: date, period_end: date) -> None:
    if period_end < period_start:
        raise InvalidInput.on("period_end", "must be on or after period_start")
    if len(months_between(period_start, period_end)) > MAX_PERIOD_MONTHS:
        raise InvalidInput.on("period_end", f"the period may span at most {MAX_PERIOD_MONTHS} calendar months")


async def _roster(zone: ZoneInfo) -> list[Monitored]:
    """Each physician from the day it was added until the day it last went inactive (if inactive now)."""
    people = await repository.physicians_on_roster()
    inactive = [p["id"] for p in people if p["status"] != "active"]
    left: dict[UUID, datetime] = {}
    previous: dict[UUID, str] = {}
    for row in await repository.physician_statuses(inactive):
        data = row["data"]
        status = (json.loads(data) if isinstance(data, str) else data or {}).get("status")
        pid = row["physician_id"]
        if status != "active" and previous.get(pid) in (None, "active"):
            left[pid] = row["recorded_from"]
        previous[pid] = status
    return [
        Monitored(
            p["id"],
            _local_day(p["created_at"], zone),
            None if p["id"] not in left else _local_day(left[p["id"]], zone),
        )
        for p in people
    ]


async def _runs(period_start: date, period_end: date, zone: ZoneInfo) -> list[MonitoringRun]:
    start = datetime.combine(period_start, time(), zone)
    end = datetime.combine(period_end + timedelta(days=1), time(), zone)
    runs = await repository.succeeded_runs_between(start, end)
    snapshots: list[dict[str, Any]] = [
        json.loads(r["snapshots"]) if isinstance(r["snapshots"], str) else r["snapshots"] or {} for r in runs
    ]
    loaded = await repository.snapshot_loaded_at(sorted({sid for used in snapshots for sid in used.values()}))
    out = []
    for run, used in zip(runs, snapshots, strict=True):
        for source, snapshot_id in used.items():
            if snapshot_id in loaded:
                out.append(
                    MonitoringRun(source, _local_day(run["started_at"], zone), _local_day(loaded[snapshot_id], zone))
                )
    return out


async def monitoring_gaps_in(
    period_start: date, period_end: date, zone: ZoneInfo, sources: Sequence[str] = SOURCES
) -> tuple[list[str], list[MonitoringGap]]:
    checked_period(period_start, period_end)
    physicians = await _roster(zone)
    runs = await _runs(period_start, period_end, zone)
    months = [month_label(m) for m in months_between(period_start, period_end)]
    return months, monitoring_gaps(period_start, period_end, physicians, runs, sources)


async def monitoring_report(period_start: date, period_end: date, zone: ZoneInfo) -> MonitoringReport:
    months, gaps = await monitoring_gaps_in(period_start, period_end, zone)
    per_month = Counter((g.source, g.month) for g in gaps)
    return MonitoringReport(
        period_start=period_start,
        period_end=period_end,
        months=months,
        sources=list(SOURCES),
        gaps=[MonitoringGapRow(g.physician_id, g.source, g.month) for g in gaps[:MONITORING_GAPS_SHOWN]],
        gap_count=len(gaps),
        truncated=len(gaps) > MONITORING_GAPS_SHOWN,
        by_month=[
            MonitoringMonth(source, month, count)
            for (source, month), count in sorted(per_month.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        ],
    )


def default_period(today: date) -> tuple[date, date]:
    """The last twelve whole months before ``today``'s month."""
    first_of_month = today.replace(day=1)
    return add_months(first_of_month, -12), first_of_month - timedelta(days=1)
