"""Which credential alerts are due (rules.md §3), as pure functions of facts and a date.

No I/O and no clock, like ``roster.compliance.rules``: the sweep loads the facts and ``today`` and
asks these functions what to raise. Thresholds are data (:data:`THRESHOLDS`), not branches.

An alert is unique per (kind, subject, threshold). A renewed license keeps its id, so the
threshold label carries the date it counts down to (``90d@20270131``): the next cycle's 90-day
alert is a new alert, while the same cycle's is raised once however often the sweep runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from roster.compliance.rules import irr_last_day, recredentialing_due

#: Days before the due date at which each countdown kind is raised (rules.md §3).
THRESHOLDS: dict[str, tuple[int, ...]] = {
    "license_expiring": (90, 60, 30, 7),
    "certification_expiring": (90, 60, 30, 7),
    "recredentialing_due": (90, 30),
    "irr_due": (30,),
}
#: Every kind these rules raise; exclusion, preclusion and NPI alerts are raised where they are found.
SWEPT_KINDS = (
    "license_expiring",
    "license_expired",
    "certification_expiring",
    "certification_lapsed",
    "recredentialing_due",
    "irr_due",
)
#: The label of the once-only alert raised when the date has passed.
EXPIRED = "expired"
OVERDUE = "overdue"
NOT_MEETING = "not_meeting"


@dataclass(frozen=True, slots=True)
class LicenseFacts:
    id: UUID
    physician_id: UUID
    state: str
    number: str
    status: str
    expires_on: date


@dataclass(frozen=True, slots=True)
class CertificationFacts:
    id: UUID
    physician_id: UUID
    board: str
    specialty: str
    status: str
    expires_on: date | None
    time_unlimited: bool
    moc_status: str


@dataclass(frozen=True, slots=True)
class PhysicianFacts:
    id: UUID
    credentialed_on: date | None
    irr_passed_on: date | None


@dataclass(frozen=True, slots=True)
class DueAlert:
    """One alert the sweep should make sure exists."""

    kind: str
    physician_id: UUID
    subject_type: str
    subject_id: UUID
    threshold: str
    due_on: date | None
    detail: dict[str, Any]


def threshold_label(label: str, due_on: date | None) -> str:
    """``90d`` + 2027-01-31 -> ``90d@20270131`` (fits the 16-character column for every label)."""
    return label if due_on is None else f"{label}@{due_on.year:04d}{due_on.month:02d}{due_on.day:02d}"


def crossed_threshold(kind: str, days_left: int) -> int | None:
    """The tightest threshold of ``kind`` that ``days_left`` has reached, or None while outside them all.

    Only the tightest is raised: a license first seen 50 days out gets the 60-day alert, not a
    stale 90-day one as well.
    """
    reached = [days for days in THRESHOLDS[kind] if days_left <= days]
    return min(reached) if reached and days_left >= 0 else None


def _countdown(
    kind: str, *, days_left: int, due_on: date, physician_id: UUID, subject_type: str, subject_id: UUID, detail: dict
) -> DueAlert | None:
    threshold = crossed_threshold(kind, days_left)
    if threshold is None:
        return None
    return DueAlert(
        kind=kind,
        physician_id=physician_id,
        subject_type=subject_type,
        subject_id=subject_id,
        threshold=threshold_label(f"{threshold}d", due_on),
        due_on=due_on,
        detail={**detail, "days_left": days_left},
    )


def license_alerts(lic: LicenseFacts, today: date) -> list[DueAlert]:
    """Expiring (active licenses only: an inactive one is not about to lapse) or expired (any license on file)."""
    detail = {"state": lic.state, "number": lic.number, "expires_on": lic.expires_on.isoformat()}
    days_left = (lic.expires_on - today).days
    if days_left < 0:
        return [
            DueAlert(
                kind="license_expired",
                physician_id=lic.physician_id,
                subject_type="license",
                subject_id=lic.id,
                threshold=threshold_label(EXPIRED, lic.expires_on),
                due_on=lic.expires_on,
                detail=detail,
            )
        ]
    if lic.status != "active":
        return []
    alert = _countdown(
        "license_expiring",
        days_left=days_left,
        due_on=lic.expires_on,
        physician_id=lic.physician_id,
        subject_type="license",
        subject_id=lic.id,
        detail=detail,
    )
    return [alert] if alert else []


def certification_alerts(cert: CertificationFacts, today: date) -> list[DueAlert]:
    """Time-limited certificates count down to ``expires_on``; MOC ``not_meeting`` is a lapse at once.

    A time-unlimited certificate never lapses by date or MOC (rules.md §1), so it raises nothing.
    """
    if cert.time_unlimited:
        return []
    detail: dict[str, Any] = {"board": cert.board, "specialty": cert.specialty, "moc_status": cert.moc_status}
    alerts: list[DueAlert] = []
    if cert.moc_status == NOT_MEETING:
        alerts.append(
            DueAlert(
                kind="certification_lapsed",
                physician_id=cert.physician_id,
                subject_type="certification",
                subject_id=cert.id,
                threshold=NOT_MEETING,
                due_on=None,
                detail=detail,
            )
        )
    if cert.expires_on is None:
        return alerts
    detail["expires_on"] = cert.expires_on.isoformat()
    days_left = (cert.expires_on - today).days
    if days_left < 0:
        alerts.append(
            DueAlert(
                kind="certification_lapsed",
                physician_id=cert.physician_id,
                subject_type="certification",
                subject_id=cert.id,
                threshold=threshold_label(EXPIRED, cert.expires_on),
                due_on=cert.expires_on,
                detail=detail,
            )
        )
    elif cert.status == "certified" and cert.moc_status != NOT_MEETING:
        alert = _countdown(
            "certification_expiring",
            days_left=days_left,
            due_on=cert.expires_on,
            physician_id=cert.physician_id,
            subject_type="certification",
            subject_id=cert.id,
            detail=detail,
        )
        alerts.extend([alert] if alert else [])
    return alerts


def physician_alerts(doc: PhysicianFacts, today: date) -> list[DueAlert]:
    """Recredentialing (due on ``credentialed_on + 36 months``) and IRR (last day ``irr_passed_on + 365``).

    A physician never credentialed or never IRR-tested has nothing counting down; the compliance
    report already fails them.
    """
    alerts: list[DueAlert] = []
    if doc.credentialed_on is not None:
        due = recredentialing_due(doc.credentialed_on)
        # Compliant while today < due (no grace): the due date itself is already overdue.
        alerts.extend(_physician_clock("recredentialing_due", doc.id, due, (due - today).days, today >= due))
    if doc.irr_passed_on is not None:
        last_day = irr_last_day(doc.irr_passed_on)
        alerts.extend(_physician_clock("irr_due", doc.id, last_day, (last_day - today).days, today > last_day))
    return alerts


def _physician_clock(kind: str, physician_id: UUID, due_on: date, days_left: int, overdue: bool) -> list[DueAlert]:
    """``days_left`` counts down to ``due_on``; once ``overdue`` the countdown gives way to one overdue alert."""
    detail = {"due_on": due_on.isoformat()}
    if overdue:
        return [
            DueAlert(
                kind=kind,
                physician_id=physician_id,
                subject_type="physician",
                subject_id=physician_id,
                threshold=threshold_label(OVERDUE, due_on),
                due_on=due_on,
                detail=detail,
            )
        ]
    alert = _countdown(
        kind,
        days_left=days_left,
        due_on=due_on,
        physician_id=physician_id,
        subject_type="physician",
        subject_id=physician_id,
        detail=detail,
    )
    return [alert] if alert else []
