from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import msgspec

#: What lapses: a state license, a board certification, the 36-month recredentialing cycle, the annual IRR test.
ItemKind = Literal["license", "certification", "recredentialing", "irr"]
#: ``overdue``: lapsed as of today (or never done); ``upcoming``: still in force, lapses within the window.
ExpirationStatus = Literal["upcoming", "overdue"]


class ExpirationRow(msgspec.Struct, frozen=True):
    physician_id: UUID
    npi: str
    name: str
    kind: ItemKind
    #: The license or certification; null for recredentialing and IRR (they belong to the physician).
    item_id: UUID | None
    #: ``AZ MD12345``, ``ABIM medical_oncology``, ``credentialed 2023-05-01``...
    detail: str
    #: Last day the item is in force; null when it was never done (never credentialed, no IRR test).
    expires_on: date | None
    #: ``expires_on - today``: negative once lapsed; null with ``expires_on``.
    days_left: int | None
    status: ExpirationStatus


class ExpirationReport(msgspec.Struct):
    as_of: date
    within_days: int
    #: ``as_of + within_days``: the report holds everything lapsing on or before this day.
    through: date
    items: list[ExpirationRow]
    next_cursor: str | None


class ExpirationWeek(msgspec.Struct, frozen=True):
    """What lapses in one week of the report's window, by kind (the expirations chart)."""

    #: First and last day of the week; the last week of the window may be shorter.
    starts_on: date
    ends_on: date
    #: Rows per :data:`ItemKind` (every kind present, zero when none).
    counts: dict[str, int]
    total: int


class MonitoringGapRow(msgspec.Struct, frozen=True):
    physician_id: UUID
    source: str
    #: ``YYYY-MM``
    month: str


class MonitoringMonth(msgspec.Struct, frozen=True):
    """One required list in one month: how many physicians on the roster then lack proof of monitoring."""

    source: str
    month: str
    physicians: int


class MonitoringReport(msgspec.Struct):
    period_start: date
    period_end: date
    #: Every calendar month of the period (``YYYY-MM``), in the organization's time zone.
    months: list[str]
    sources: list[str]
    #: Each (physician, list, month) without a screening run that month against that month's list.
    gaps: list[MonitoringGapRow]
    gap_count: int
    #: ``gaps`` holds the first ``MONITORING_GAPS_SHOWN`` when there are more (``Accept: text/csv`` has all).
    truncated: bool
    by_month: list[MonitoringMonth]


class TurnaroundGroup(msgspec.Struct, frozen=True):
    line_of_business: str
    review_type: str
    urgency: str
    #: Decided (completed) cases, and those of them decided by ``due_at``.
    decided: int
    on_time: int
    #: ``on_time / (decided + overdue)``: an open case past its clock counts against the share; null with none.
    share_on_time: float | None
    overdue: int
    pending: int


class LateCase(msgspec.Struct, frozen=True):
    assignment_id: UUID
    case_id: str
    physician_id: UUID
    line_of_business: str
    review_type: str
    urgency: str
    due_at: datetime
    #: When it was decided; null while still open (``overdue``).
    decided_at: datetime | None
    hours_late: float
    outcome: str


class TurnaroundReport(msgspec.Struct, rename={"from_": "from"}):
    from_: date
    to: date
    groups: list[TurnaroundGroup]
    late: list[LateCase]


class UmDecisionException(msgspec.Struct, frozen=True):
    """A completed assignment whose recorded evidence does not show an eligible reviewer."""

    assignment_id: UUID
    case_id: str
    physician_id: UUID
    assigned_at: datetime
    #: Compliance reason codes (api.md), e.g. ``license_expired``, ``certification_lapsed``, ``screening_stale``.
    reasons: list[str]


class UmDecisionReport(msgspec.Struct):
    period_start: date
    period_end: date
    #: Assignments completed in the period (organization time zone), and those whose evidence shows an
    #: eligible reviewer when assigned.
    completed: int
    eligible: int
    #: ``eligible / completed`` (four decimals); null when nothing was completed.
    share: float | None
    exceptions: list[UmDecisionException]
