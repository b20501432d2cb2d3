"""Assemble a physician's facts (now, or as recorded at a past date) and apply the rules."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
import numpy as np

from roster import clock
from roster.certifications import repository as certifications
from roster.compliance.facts import CertificationFact, CompliancePolicy, LicenseFact, PhysicianFacts
from roster.compliance.rules import COMPLIANCE_REASONS, compliance_checks, failing_reasons
from roster.errors import InvalidInput, NotFound
from roster.history import service as history
from roster.licenses import repository as licenses
from roster.matching.index import BIT, DayView
from roster.physicians import repository as physicians
from roster.physicians.schemas import ComplianceReport
from roster.physicians.service import Membership
from roster.screening.facts import screening_facts

if TYPE_CHECKING:
    from roster.matching.service import RosterCache

#: The dates a decision or forecast can be asked about (keeps date arithmetic away from ``date.max``).
EARLIEST_AS_OF = date(1900, 1, 1)
LATEST_AS_OF = date(2999, 12, 31)


def checked_as_of(as_of: date | None, field: str = "as_of") -> date:
    """``as_of`` or today; a date outside 1900-2999 is a 422 naming the field."""
    if as_of is None:
        return clock.today()
    if not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        raise InvalidInput.on(field, f"must be between {EARLIEST_AS_OF} and {LATEST_AS_OF}")
    return as_of


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` (UTC): a past as-of date sees everything recorded that day."""
    return datetime.combine(day + timedelta(days=1), time.min, UTC) - timedelta(microseconds=1)


def _facts(
    physician: dict[str, Any], lic_rows: list[dict[str, Any]], cert_rows: list[dict[str, Any]], screening: Any
) -> PhysicianFacts:
    return PhysicianFacts(
        id=UUID(str(physician["id"])),
        npi=physician["npi"],
        status=physician["status"],
        npi_status=physician["npi_status"],
        clinical_practice_start=physician["clinical_practice_start"],
        credentialed_on=physician["credentialed_on"],
        irr_passed_on=physician["irr_passed_on"],
        licenses=tuple(msgspec.convert(r, LicenseFact, strict=False) for r in lic_rows),
        certifications=tuple(msgspec.convert(r, CertificationFact, strict=False) for r in cert_rows),
        screening=screening,
    )


async def physician_facts(physician_id: UUID, as_of: date) -> PhysicianFacts:
    """Current records for today or a future date; the recorded history for a past date."""
    now = clock.now()
    at = end_of_day(as_of)
    if at >= now:
        physician = await physicians.get(physician_id)
        if physician is None:
            raise NotFound(f"no physician {physician_id}")
        lic_rows = await licenses.for_physician(physician_id)
        cert_rows = await certifications.for_physician(physician_id)
        at = now
    else:
        file = await history.physician_file_as_of(physician_id, at)
        if not file.get("physician"):
            if await physicians.get(physician_id) is None:
                raise NotFound(f"no physician {physician_id}")
            raise NotFound(f"physician {physician_id} was not on the roster on {as_of.isoformat()}")
        physician = msgspec.convert(file["physician"][0], dict[str, Any])
        for key in ("clinical_practice_start", "credentialed_on", "irr_passed_on"):
            physician[key] = date.fromisoformat(physician[key]) if physician[key] else None
        physician["created_at"] = datetime.fromisoformat(physician["created_at"])
        lic_rows = file.get("license", [])
        cert_rows = file.get("certification", [])
    screening = await screening_facts(physician_id, physician["created_at"], at)
    return _facts(physician, lic_rows, cert_rows, screening)


async def report(physician_id: UUID, as_of: date | None, policy: CompliancePolicy) -> ComplianceReport:
    as_of = checked_as_of(as_of)
    return _report_of(await physician_facts(physician_id, as_of), as_of, policy)


def _report_of(facts: PhysicianFacts, as_of: date, policy: CompliancePolicy) -> ComplianceReport:
    checks = compliance_checks(facts, as_of, policy)
    reasons = failing_reasons(checks)
    return ComplianceReport(physician_id=facts.id, as_of=as_of, compliant=not reasons, checks=checks, reasons=reasons)


async def current_standing(
    cache: RosterCache, physician_ids: Collection[UUID]
) -> dict[UUID, tuple[PhysicianFacts, ComplianceReport]]:
    """Today's facts and report of many physicians at once (a roster page), from the facts the roster
    index already holds (refreshed to the latest roster version): no query per physician. A physician
    the index has not seen yet is read with the index's own bulk loader."""
    from roster.matching.facts_loader import current_reviewers

    index = (await cache.current()).index
    facts: list[PhysicianFacts] = []
    missing: list[UUID] = []
    for physician_id in physician_ids:
        row = index.row_of.get(physician_id)
        if row is None:
            missing.append(physician_id)
        else:
            facts.append(index.reviewers[row].compliance)
    if missing:
        facts += [r.compliance for r in await current_reviewers(clock.now(), physician_ids=missing)]
    today = clock.today()
    return {f.id: (f, _report_of(f, today, cache.policy)) for f in facts}


def require_reason(reason: str, field: str = "reason") -> str:
    if reason not in COMPLIANCE_REASONS:
        raise InvalidInput.on(field, f"unknown reason {reason!r}: one of {', '.join(COMPLIANCE_REASONS)}")
    return reason


async def failing_today(cache: RosterCache, reason: str) -> Membership:
    """The physicians whose compliance fails today with ``reason``, over the whole roster (to filter a
    roster before it is paginated), from the roster index's reason bits (:func:`compliance_bits`)."""
    require_reason(reason)
    index = (await cache.current()).index
    failing = (compliance_bits(index.day(clock.today())) & BIT[reason]) != 0
    count = int(np.count_nonzero(failing))
    share = count / index.size if index.size else 0.0
    if count <= index.size - count:
        rows, excluded = np.flatnonzero(failing), False
    else:
        rows, excluded = np.flatnonzero(~failing), True
    ids = frozenset(index.reviewers[int(i)].id for i in rows)
    return Membership(ids=ids, excluded=excluded, share=share)


# -- the whole roster at once (the workspace's home) ---------------------------------------------


class RosterCompliance(msgspec.Struct):
    """How the whole roster stands: what ``report`` would say of each physician, counted.

    ``at_risk`` are compliant on ``as_of`` but not on ``horizon_on``, forecast as the coverage report
    forecasts (the checks with known end dates projected; screening standing carried forward, since
    lists are reloaded monthly).
    """

    as_of: date
    horizon_on: date
    total: int
    compliant: int
    at_risk: int
    non_compliant: int
    #: Per reason code (api.md order), the physicians failing it on ``as_of``; one may fail several.
    reasons: dict[str, int]


def compliance_bits(day: DayView) -> np.ndarray:
    """Every physician's failing compliance reasons on ``day`` (a ``RosterIndex.day`` view) as ``BIT``
    masks: the date's checks plus the license check, for which a valid license in any state will do."""
    return day.bits | day.licenses_for(None)[1]


async def roster_compliance(cache: RosterCache, *, horizon_days: int = 90) -> RosterCompliance:
    """Counts over the matcher's cached roster index (``roster.matching.service.RosterCache``): one
    vectorised pass for the whole roster, kept fresh by the shared roster version."""
    index = (await cache.current()).index
    as_of = clock.today()
    horizon = as_of + timedelta(days=horizon_days)
    now = compliance_bits(index.day(as_of))
    later = compliance_bits(index.day(horizon, screening_as_of=as_of))
    ok_now = now == 0
    compliant = int(np.count_nonzero(ok_now))
    reasons = {reason: int(np.count_nonzero(now & bit)) for reason, bit in BIT.items()}
    return RosterCompliance(
        as_of=as_of,
        horizon_on=horizon,
        total=index.size,
        compliant=compliant,
        at_risk=int(np.count_nonzero(ok_now & (later != 0))),
        non_compliant=index.size - compliant,
        reasons={reason: n for reason, n in reasons.items() if n},
    )
