"""Alerts the clock raises (rules.md §3, §5, §6), as pure functions of facts and an instant or a date.

No I/O and no clock, like :mod:`roster.alerts.rules`: :mod:`roster.alerts.clock_sweep` loads the facts and
``now`` and asks these functions what to raise. Thresholds and horizons are data, not branches.

An alert is unique per (kind, subject, threshold) and the threshold column holds 16 characters, so each
label says what makes the alert one of its kind for its subject:

===========================  ===========  ======================  =========================================
kind                         subject      threshold               raised
===========================  ===========  ======================  =========================================
``assignment_due_soon``      assignment   ``in24h@20270105``      due within 24 h, then again within 4 h
``assignment_overdue``       assignment   ``overdue``             open past ``due_at``
``assignment_at_risk``       assignment   ``risk@20270105``       the reviewer's working and on-call time
                                                                  before ``due_at`` is under the minimum
                                                                  review time (rules.md §5), though the
                                                                  clock alone leaves enough
``oncall_gap``               rotation     ``g@202701051400``      a gap of the next 7 days, by its start
``policy_attestation_due``   physician    ``u`` + 15 hex of id    attest-by within 14 days, unattested
``cme_short``                physician    ``short@20271231``      the cycle ending then projects short
===========================  ===========  ======================  =========================================

No label starts with a digit: the digest reads a leading number as days left (``30d@...``), and these
are hours, a gap or an update, not days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from roster.alerts.rules import OVERDUE, DueAlert, threshold_label
from roster.availability.rules import Schedule, availability
from roster.credentialing.rules import CmeRequirement, PolicyUpdate, attestations_due, cme_standing

#: Hours before ``due_at`` at which ``assignment_due_soon`` is raised; only the tightest reached is.
DUE_SOON_HOURS: tuple[int, ...] = (24, 4)
#: How far ahead ``oncall_gap`` looks.
ONCALL_GAP_DAYS = 7
#: Days before an update's attest-by date at which ``policy_attestation_due`` is raised.
ATTESTATION_DUE_DAYS = 14
#: A CME cycle is not judged in its first days: with nothing earned yet every reviewer would project short.
CME_JUDGED_AFTER_DAYS = 90

ASSIGNMENT_KINDS = ("assignment_due_soon", "assignment_overdue", "assignment_at_risk")
CLOCK_KINDS = (*ASSIGNMENT_KINDS, "oncall_gap")
EDUCATION_KINDS = ("policy_attestation_due", "cme_short")
_ZERO = timedelta(0)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got a naive {at.isoformat()}")
    return at.astimezone(UTC)


def _iso(at: datetime) -> str:
    return _aware(at).isoformat().replace("+00:00", "Z")


def minute_label(prefix: str, at: datetime) -> str:
    """``g`` + 2027-01-05T14:00:59Z -> ``g@202701051400`` (UTC, to the minute)."""
    return f"{prefix}@{_aware(at).strftime('%Y%m%d%H%M')}"


# -- assignments ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssignmentFacts:
    """An open assignment with a due time."""

    id: UUID
    physician_id: UUID
    case_id: str
    review_type: str
    urgency: str
    due_at: datetime


def _assignment_detail(assignment: AssignmentFacts) -> dict[str, str]:
    return {"case_id": assignment.case_id, "urgency": assignment.urgency, "due_at": _iso(assignment.due_at)}


def due_soon_threshold(left: timedelta) -> int | None:
    """The tightest of :data:`DUE_SOON_HOURS` that ``left`` (time until due) has reached, or None while
    outside them all or once due (like :func:`roster.alerts.rules.crossed_threshold`; exactly 24 h left
    reaches 24, and the due instant itself is still "soon")."""
    reached = [hours for hours in DUE_SOON_HOURS if left <= timedelta(hours=hours)]
    return min(reached) if reached and left >= _ZERO else None


def _assignment_alert(kind: str, assignment: AssignmentFacts, threshold: str, **detail: object) -> DueAlert:
    return DueAlert(
        kind=kind,
        physician_id=assignment.physician_id,
        subject_type="assignment",
        subject_id=assignment.id,
        threshold=threshold,
        due_on=_aware(assignment.due_at).date(),
        detail={**_assignment_detail(assignment), **detail},
    )


def deadline_alerts(assignment: AssignmentFacts, now: datetime) -> list[DueAlert]:
    """``assignment_due_soon`` within :data:`DUE_SOON_HOURS` of ``due_at`` (due at ``now`` included), then
    ``assignment_overdue`` once ``now`` is past it."""
    left = _aware(assignment.due_at) - _aware(now)
    if left < _ZERO:
        return [_assignment_alert("assignment_overdue", assignment, OVERDUE)]
    hours = due_soon_threshold(left)
    if hours is None:
        return []
    label = threshold_label(f"in{hours}h", _aware(assignment.due_at).date())
    return [_assignment_alert("assignment_due_soon", assignment, label, hours_left=round(left / timedelta(hours=1), 2))]


def risk_alert(
    assignment: AssignmentFacts,
    schedule: Schedule,
    now: datetime,
    min_review: timedelta,
    holidays: frozenset[date] = frozenset(),
) -> DueAlert | None:
    """``assignment_at_risk`` when the reviewer cannot meet the due time from ``now`` (rules.md §5: their
    working and on-call time, less time off, before ``due_at`` is under ``min_review``) while the clock
    alone leaves at least ``min_review``.

    The last condition keeps the alert about the reviewer's schedule: in its final ``min_review`` every
    case is short of time, which ``assignment_due_soon`` already says. Time off covering ``now`` alone is
    not a risk when the reviewer still has the time before ``due_at``; it is noted (``on_leave``) when
    it is one. Not raised once due (``assignment_overdue`` takes over)."""
    now, due_at = _aware(now), _aware(assignment.due_at)
    if due_at - now < min_review:
        return None
    found = availability(schedule, now, due_at, min_review, holidays)
    if not found.cannot_meet_due:
        return None
    return _assignment_alert(
        "assignment_at_risk",
        assignment,
        threshold_label("risk", due_at.date()),
        on_leave=found.on_leave,
        available_minutes=round(found.available_seconds / 60, 1),
        minimum_review_minutes=round(min_review / timedelta(minutes=1), 1),
    )


# -- on-call gaps ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GapFacts:
    """A stretch ``[starts_at, ends_at)`` of a rotation with nobody to take its cases (the on-call gaps
    report's row): ``nobody`` on call, or the reviewer on call (``physician_id``) ``on_leave``."""

    rotation_id: UUID
    rotation: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    physician_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class KnownGap:
    """A gap an ``oncall_gap`` alert was already raised for (from its detail)."""

    rotation_id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: str
    physician_id: UUID | None = None

    def continues(self, gap: GapFacts) -> bool:
        """``gap`` is this one seen again: same rotation, reason and reviewer, overlapping or touching. A gap
        under way is seen from ``now`` on, so its start moves with every run; this keeps it one alert."""
        return (
            self.rotation_id == gap.rotation_id
            and self.reason == gap.reason
            and self.physician_id == gap.physician_id
            and self.starts_at <= gap.ends_at
            and gap.starts_at <= self.ends_at
        )


def oncall_gap_alerts(gaps: Iterable[GapFacts], known: Sequence[KnownGap], window_end: datetime) -> list[DueAlert]:
    """One ``oncall_gap`` per gap not already alerted (see :meth:`KnownGap.continues`), labelled by its start.

    ``window_end``: the end of the look-ahead; a gap reaching it is ``open_ended`` (it may run on). A gap
    that outlasts the alert's own look-ahead is raised again, once, when seen past it."""
    window_end = _aware(window_end)
    seen = list(known)
    alerts: list[DueAlert] = []
    for gap in sorted(gaps, key=lambda g: (str(g.rotation_id), g.starts_at)):
        if gap.ends_at <= gap.starts_at or any(k.continues(gap) for k in seen):
            continue
        seen.append(KnownGap(gap.rotation_id, gap.starts_at, gap.ends_at, gap.reason, gap.physician_id))
        alerts.append(
            DueAlert(
                kind="oncall_gap",
                physician_id=gap.physician_id,
                subject_type="rotation",
                subject_id=gap.rotation_id,
                threshold=minute_label("g", gap.starts_at),
                due_on=_aware(gap.starts_at).date(),
                detail={
                    "rotation": gap.rotation,
                    "reason": gap.reason,
                    "starts_at": _iso(gap.starts_at),
                    "ends_at": _iso(gap.ends_at),
                    "hours": round((gap.ends_at - gap.starts_at) / timedelta(hours=1), 2),
                    "open_ended": _aware(gap.ends_at) >= window_end,
                },
            )
        )
    return alerts


def known_gap(rotation_id: UUID | str, physician_id: UUID | str | None, detail: dict) -> KnownGap | None:
    """The gap an existing ``oncall_gap`` alert was raised for, from its ``detail``; None if unreadable."""
    try:
        return KnownGap(
            rotation_id=rotation_id if isinstance(rotation_id, UUID) else UUID(str(rotation_id)),
            starts_at=_aware(datetime.fromisoformat(detail["starts_at"])),
            ends_at=_aware(datetime.fromisoformat(detail["ends_at"])),
            reason=detail["reason"],
            physician_id=None if physician_id is None else UUID(str(physician_id)),
        )
    except (KeyError, TypeError, ValueError):
        return None


# -- reviewer education (issue 15) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyUpdateFacts:
    id: UUID
    title: str
    effective_on: date
    attest_by: date


def update_label(update_id: UUID) -> str:
    """``u`` + the first 15 hex digits of the update's id: 16 characters, one per (physician, update)."""
    return f"u{update_id.hex[:15]}"


def attestation_alerts(
    physician_id: UUID, updates: Sequence[PolicyUpdateFacts], attested: frozenset[UUID], today: date
) -> list[DueAlert]:
    """``policy_attestation_due`` for each update the physician has not attested whose attest-by date is
    within :data:`ATTESTATION_DUE_DAYS` (today and the last day included; once past it the reviewer is
    ``policy_attestation_overdue`` in matching instead)."""
    by_id = {u.id: u for u in updates}
    facts = [PolicyUpdate(u.id, u.effective_on, u.attest_by) for u in updates]
    alerts = []
    for update_id in attestations_due(facts, attested, today, ATTESTATION_DUE_DAYS):
        update = by_id[update_id]
        alerts.append(
            DueAlert(
                kind="policy_attestation_due",
                physician_id=physician_id,
                subject_type="physician",
                subject_id=physician_id,
                threshold=update_label(update.id),
                due_on=update.attest_by,
                detail={
                    "policy_update_id": str(update.id),
                    "title": update.title,
                    "attest_by": update.attest_by.isoformat(),
                    "days_left": (update.attest_by - today).days,
                },
            )
        )
    return alerts


def cme_alert(
    physician_id: UUID, requirement: CmeRequirement | None, credits: Iterable[tuple[date, float]], today: date
) -> DueAlert | None:
    """``cme_short`` when the physician's current cycle, at the rate so far, will end short of the
    requirement (``credentialing.rules.cme_standing``); once per cycle, labelled by its last day. Not judged
    in the first :data:`CME_JUDGED_AFTER_DAYS` of a cycle."""
    if requirement is None:
        return None
    standing = cme_standing(requirement, credits, today)
    if (today - standing.cycle_start).days < CME_JUDGED_AFTER_DAYS or not standing.short:
        return None
    last_day = standing.cycle_end - timedelta(days=1)
    return DueAlert(
        kind="cme_short",
        physician_id=physician_id,
        subject_type="physician",
        subject_id=physician_id,
        threshold=threshold_label("short", last_day),
        due_on=last_day,
        detail={
            "cycle_start": standing.cycle_start.isoformat(),
            "cycle_end": last_day.isoformat(),
            "required_hours": standing.required_hours,
            "earned_hours": round(standing.earned_hours, 2),
            "projected_hours": round(standing.projected_hours, 2),
        },
    )
