"""Assemble a physician's facts (now, or as recorded at a past date) and apply the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.certifications import repository as certifications
from roster.compliance.facts import CertificationFact, CompliancePolicy, LicenseFact, PhysicianFacts
from roster.compliance.rules import compliance_checks, failing_reasons
from roster.errors import InvalidInput, NotFound
from roster.history import service as history
from roster.licenses import repository as licenses
from roster.physicians import repository as physicians
from roster.physicians.schemas import ComplianceReport
from roster.screening.facts import screening_facts

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
    facts = await physician_facts(physician_id, as_of)
    checks = compliance_checks(facts, as_of, policy)
    reasons = failing_reasons(checks)
    return ComplianceReport(physician_id=facts.id, as_of=as_of, compliant=not reasons, checks=checks, reasons=reasons)
