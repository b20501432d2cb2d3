"""Which credentials lapse by a date: pure functions of roster records and ``today`` (no I/O, no clock).

Due dates come from the compliance rules themselves (``recredentialing_due``, ``irr_last_day``,
``certification_is_current``), so the report and ``/compliance`` can never disagree about a date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from uuid import UUID

import msgspec

from roster.compliance.dates import add_months
from roster.compliance.facts import CertificationFact, LicenseFact
from roster.compliance.rules import (
    IRR_DAYS,
    RECREDENTIALING_MONTHS,
    certification_is_current,
    irr_last_day,
    recredentialing_due,
)
from roster.reports.schemas import ExpirationRow, ExpirationWeek, ItemKind

#: Licenses and certifications in these states are not going to be renewed, so they are not expirations to chase.
NOT_RENEWED = frozenset({"revoked", "inactive"})
#: Rows of the same date are ordered by kind, then by the item (or physician) id.
KIND_ORDER: dict[ItemKind, int] = {"license": 0, "certification": 1, "recredentialing": 2, "irr": 3}
#: Sorts rows without a date (never done) first: they are the most overdue of all.
NEVER = date.min


class Holder(msgspec.Struct, frozen=True):
    """The physician an item belongs to, as the report names them."""

    id: UUID
    npi: str
    name: str

    @classmethod
    def of(
        cls, id: UUID, npi: str, first_name: str, last_name: str, middle_name: str | None, suffix: str | None
    ) -> Holder:
        return cls(id=id, npi=npi, name=" ".join(p for p in (first_name, middle_name, last_name, suffix) if p))


class CycleDates(msgspec.Struct, frozen=True):
    credentialed_on: date | None
    irr_passed_on: date | None


def window_bounds(through: date) -> tuple[date, date]:
    """Loose upper bounds on ``credentialed_on`` and ``irr_passed_on`` for a database pre-filter.

    Month arithmetic clamps to the month's end, so the credentialing bound gets a few days of
    slack; the exact decision is always made by the compliance functions afterwards.
    """
    credentialed_by = add_months(through + timedelta(days=1), -RECREDENTIALING_MONTHS) + timedelta(days=4)
    return credentialed_by, through - timedelta(days=IRR_DAYS)


def _row(
    holder: Holder,
    kind: ItemKind,
    item_id: UUID | None,
    detail: str,
    expires_on: date | None,
    today: date,
    *,
    lapsed: bool,
) -> ExpirationRow:
    return ExpirationRow(
        physician_id=holder.id,
        npi=holder.npi,
        name=holder.name,
        kind=kind,
        item_id=item_id,
        detail=detail,
        expires_on=expires_on,
        days_left=None if expires_on is None else (expires_on - today).days,
        status="overdue" if lapsed else "upcoming",
    )


def license_rows(licenses: Iterable[tuple[Holder, LicenseFact]], today: date, through: date) -> list[ExpirationRow]:
    """A license is in force through its ``expires_on`` day; the day after, it is overdue."""
    rows = []
    for holder, lic in licenses:
        if lic.status in NOT_RENEWED or lic.expires_on > through:
            continue
        detail = f"{lic.state} {lic.number}"
        if lic.status != "active" or lic.restricted:
            detail += f" ({lic.status}{', restricted' if lic.restricted else ''})"
        rows.append(_row(holder, "license", lic.id, detail, lic.expires_on, today, lapsed=lic.expires_on < today))
    return rows


def certification_rows(
    certifications: Iterable[tuple[Holder, CertificationFact]], today: date, through: date
) -> list[ExpirationRow]:
    """Time-limited certificates ending by ``through``; one that is not current today is overdue.

    Time-unlimited certificates and continuous certification without an end date never appear:
    they have no date to lapse on (an MOC failure shows in ``/compliance`` instead).
    """
    rows = []
    for holder, cert in certifications:
        if cert.time_unlimited or cert.expires_on is None or cert.status in NOT_RENEWED or cert.expires_on > through:
            continue
        detail = f"{cert.board} {cert.specialty}"
        if cert.moc_status == "not_meeting":
            detail += " (MOC not meeting)"
        elif cert.status != "certified":
            detail += f" ({cert.status})"
        lapsed = not certification_is_current(cert, today)
        rows.append(_row(holder, "certification", cert.id, detail, cert.expires_on, today, lapsed=lapsed))
    return rows


def cycle_rows(physicians: Iterable[tuple[Holder, CycleDates]], today: date, through: date) -> list[ExpirationRow]:
    """Recredentialing (36 months, no grace) and IRR (365 days) by their last compliant day."""
    rows = []
    for holder, dates in physicians:
        if dates.credentialed_on is None:
            rows.append(_row(holder, "recredentialing", None, "never credentialed", None, today, lapsed=True))
        else:
            last_day = recredentialing_due(dates.credentialed_on) - timedelta(days=1)
            if last_day <= through:
                detail = f"credentialed {dates.credentialed_on.isoformat()}"
                rows.append(_row(holder, "recredentialing", None, detail, last_day, today, lapsed=last_day < today))
        if dates.irr_passed_on is None:
            rows.append(_row(holder, "irr", None, "no IRR test passed", None, today, lapsed=True))
        else:
            last_day = irr_last_day(dates.irr_passed_on)
            if last_day <= through:
                detail = f"IRR passed {dates.irr_passed_on.isoformat()}"
                rows.append(_row(holder, "irr", None, detail, last_day, today, lapsed=last_day < today))
    return rows


SortKey = tuple[date, int, UUID]


def sort_key(row: ExpirationRow) -> SortKey:
    """Soonest (or never-done) first; a total order, so it doubles as the pagination cursor."""
    key_id = row.item_id if row.item_id is not None else row.physician_id
    return (row.expires_on or NEVER, KIND_ORDER[row.kind], key_id)


def by_week(
    rows: Iterable[ExpirationRow], today: date, within_days: int
) -> tuple[dict[str, int], list[ExpirationWeek]]:
    """The report's rows counted by kind: those already overdue (lapsed or never done), then the upcoming
    ones week by week from ``today`` (week 1 is today and the six days after it) through ``today + within_days``."""
    kinds = list(KIND_ORDER)
    overdue = dict.fromkeys(kinds, 0)
    weeks = within_days // 7 + 1
    counts = [dict.fromkeys(kinds, 0) for _ in range(weeks)]
    for row in rows:
        if row.status == "overdue" or row.expires_on is None:
            overdue[row.kind] += 1
        else:
            counts[min((row.expires_on - today).days // 7, weeks - 1)][row.kind] += 1
    through = today + timedelta(days=within_days)
    return overdue, [
        ExpirationWeek(
            starts_on=today + timedelta(days=7 * i),
            ends_on=min(today + timedelta(days=7 * i + 6), through),
            counts=week,
            total=sum(week.values()),
        )
        for i, week in enumerate(counts)
    ]
