"""The jobs that raise the clock's alerts (issues 14 and 15), with the rules of :mod:`roster.alerts.clock_rules`.

``assignment_clock`` (every 15 minutes): ``assignment_due_soon``, ``assignment_overdue`` and
``assignment_at_risk`` for every open assignment with a due time, and ``oncall_gap`` for the next
7 days of every rotation. ``education_sweep`` (daily): ``policy_attestation_due`` and ``cme_short`` for
every active physician.

Both load facts in bulk (schedules and on-call gaps through ``roster.schedules.service``, the CME table
through ``roster.credentialing.service``) and insert new alerts exactly as the expiration sweep does
(``sweep.raise_due``): existing keys skipped, the unique (kind, subject_id, threshold) key deciding races,
batches in key order, one short transaction each. An acknowledged alert keeps its key, so it is never
raised again.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from roster import clock
from roster.alerts import repository
from roster.alerts.clock_rules import (
    ASSIGNMENT_KINDS,
    CLOCK_KINDS,
    EDUCATION_KINDS,
    ONCALL_GAP_DAYS,
    AssignmentFacts,
    GapFacts,
    PolicyUpdateFacts,
    attestation_alerts,
    cme_alert,
    deadline_alerts,
    known_gap,
    oncall_gap_alerts,
    risk_alert,
)
from roster.alerts.rules import DueAlert
from roster.alerts.sweep import raise_due
from roster.availability.rules import HORIZON, Schedule
from roster.config import Settings


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


# -- assignment_clock ------------------------------------------------------------------------------


async def assignment_alerts(
    now: datetime, settings: Settings, physician_id: UUID | None = None
) -> tuple[list[DueAlert], dict[str, int]]:
    """Due-soon, overdue and at-risk alerts of every open assignment with a due time (of ``physician_id``
    alone, when given), at ``now``."""
    from roster.schedules.repository import holiday_days
    from roster.schedules.service import roster_schedules

    assignments = [
        AssignmentFacts(**{**row, "id": _uuid(row["id"]), "physician_id": _uuid(row["physician_id"])})
        for row in await repository.open_assignments_with_due(physician_id)
    ]
    due: list[DueAlert] = []
    pending = []
    for assignment in assignments:
        due.extend(deadline_alerts(assignment, now))
        if assignment.due_at > now:
            pending.append(assignment)
    if pending:
        reviewers = {a.physician_id for a in pending}
        end = max(max(a.due_at for a in pending), now + HORIZON)
        schedules = {s.physician_id: s for s in await roster_schedules(now, end, reviewers)}
        holidays = await holiday_days()
        for assignment in pending:
            schedule = schedules.get(assignment.physician_id) or Schedule(physician_id=assignment.physician_id)
            alert = risk_alert(assignment, schedule, now, settings.min_review(assignment.review_type), holidays)
            if alert is not None:
                due.append(alert)
    return due, {"assignments": len(assignments)}


async def gap_alerts(now: datetime) -> tuple[list[DueAlert], dict[str, int]]:
    """``oncall_gap`` for each gap in the next :data:`ONCALL_GAP_DAYS` of every rotation not yet alerted."""
    from roster.schedules.service import on_call_gaps

    report = await on_call_gaps(None, ONCALL_GAP_DAYS)
    gaps = [
        GapFacts(row.rotation_id, row.rotation, row.starts_at, row.ends_at, row.reason, row.physician_id)
        for row in report.gaps
    ]
    # An alert's gap ends within its own look-ahead, so only those raised within the last look-ahead
    # (and a day's slack) can still reach ``now``.
    since = now - timedelta(days=ONCALL_GAP_DAYS + 1)
    known = [
        found
        for row in await repository.alerts_raised_since("oncall_gap", since)
        if (found := known_gap(row["subject_id"], row["physician_id"], row["detail"] or {})) is not None
    ]
    return oncall_gap_alerts(gaps, known, report.until), {"gaps": len(gaps)}


async def assignment_clock(now: datetime, settings: Settings) -> dict[str, int]:
    """Raise the assignment and on-call alerts due at ``now``; counts (``due``: alerts that should exist,
    ``raised``: new ones, ``assignments`` and ``gaps`` examined)."""
    due, counts = await assignment_alerts(now, settings)
    gaps, gap_counts = await gap_alerts(now)
    due += gaps
    raised = await raise_due(due, CLOCK_KINDS)
    return {**counts, **gap_counts, "due": len(due), "raised": raised}


async def reviewer_assignment_clock(physician_id: UUID, settings: Settings) -> int:
    """One reviewer's assignment alerts now, raised when their schedule changes (time off added over open
    assignments) rather than at the next ``assignment_clock``; how many were new."""
    due, _ = await assignment_alerts(clock.now(), settings, physician_id)
    return await raise_due(due, ASSIGNMENT_KINDS)


async def run_assignment_clock(settings: Settings, http: httpx.AsyncClient) -> dict[str, int]:
    """The ``assignment_clock`` job body (the job registry's signature)."""
    return await assignment_clock(clock.now(), settings)


# -- education_sweep -------------------------------------------------------------------------------


async def education_alerts(today: date, settings: Settings) -> tuple[list[DueAlert], dict[str, int]]:
    """Policy attestations due soon and CME cycles projecting short, for every active physician, on ``today``."""
    from roster.alerts.clock_rules import ATTESTATION_DUE_DAYS
    from roster.credentialing import rules as credentialing_rules
    from roster.credentialing.service import CME_LICENSE_STATUSES, cme_requirements

    physicians = [_uuid(pid) for pid in await repository.active_physician_ids()]
    updates = [
        PolicyUpdateFacts(**{**row, "id": _uuid(row["id"])})
        for row in await repository.policy_updates_due(today, today + timedelta(days=ATTESTATION_DUE_DAYS))
    ]
    attested: dict[UUID, set[UUID]] = defaultdict(set)
    for row in await repository.attestations_of([u.id for u in updates]):
        attested[_uuid(row["physician_id"])].add(_uuid(row["update_id"]))

    requirements = cme_requirements(settings)
    states: dict[UUID, set[str]] = defaultdict(set)
    for row in await repository.held_license_states(today, CME_LICENSE_STATUSES):
        states[_uuid(row["physician_id"])].add(row["state"])
    # Every cycle that can apply starts on or after the earliest of them: one read covers them all.
    first = min((credentialing_rules.cme_cycle(r, today)[0] for r in requirements), default=today)
    credits: dict[UUID, list[tuple[date, float]]] = defaultdict(list)
    for row in await repository.cme_credits_between(first, today):
        # A REAL column hands back 2.3 as 2.299999952316284 on PostgreSQL: hours are kept to two decimals.
        credits[_uuid(row["physician_id"])].append((row["completed_on"], round(row["hours"], 2)))

    due: list[DueAlert] = []
    for physician_id in physicians:
        if updates:
            due += attestation_alerts(physician_id, updates, frozenset(attested[physician_id]), today)
        requirement = credentialing_rules.cme_requirement_for(requirements, states[physician_id])
        alert = cme_alert(physician_id, requirement, credits[physician_id], today)
        if alert is not None:
            due.append(alert)
    return due, {"physicians": len(physicians), "policy_updates": len(updates)}


async def education_sweep(today: date, settings: Settings) -> dict[str, int]:
    """Raise the education alerts due on ``today``; counts like the expiration sweep's."""
    due, counts = await education_alerts(today, settings)
    raised = await raise_due(due, EDUCATION_KINDS)
    return {**counts, "due": len(due), "raised": raised}


async def run_education_sweep(settings: Settings, http: httpx.AsyncClient) -> dict[str, int]:
    """The ``education_sweep`` job body (the job registry's signature)."""
    return await education_sweep(clock.today(), settings)
