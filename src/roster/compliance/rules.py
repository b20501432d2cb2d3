"""Compliance rules (rules.md §1) as pure functions of facts and a date.

No I/O and no clock: the same facts and ``as_of`` always give the same answer, so any past
decision can be replayed. Each check returns every detail a person needs to act on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import msgspec

from roster.compliance.dates import add_months, add_years
from roster.compliance.facts import (
    CertificationFact,
    CompliancePolicy,
    LicenseFact,
    PhysicianFacts,
    ScreeningFact,
)
from roster.physicians.npi import is_valid_npi

RECREDENTIALING_MONTHS = 36
IRR_DAYS = 365
EXPERIENCE_YEARS = 5

#: Compliance check name -> reason code of the list it covers (rules.md §1).
SOURCE_CHECKS = {
    "oig_leie": ("oig_exclusion", "excluded_oig"),
    "sam": ("sam_exclusion", "excluded_sam"),
    "cms_preclusion": ("cms_preclusion", "precluded_cms"),
}


#: Every reason code a compliance check can fail with (rules.md §1), in check order.
COMPLIANCE_REASONS = (
    "inactive",
    "no_license_in_state",
    "license_expired",
    "license_restricted",
    "no_board_certification",
    "certification_lapsed",
    "excluded_oig",
    "excluded_sam",
    "precluded_cms",
    "screening_pending",
    "screening_stale",
    "npi_deactivated",
    "recredentialing_overdue",
    "irr_overdue",
    "insufficient_experience",
    "policy_attestation_overdue",
)


class Check(msgspec.Struct, frozen=True, omit_defaults=True):
    check: str
    ok: bool
    detail: str
    expires_on: date | None = None
    #: The reason code when the check fails (api.md reason codes).
    reason: str | None = None


def _pass(check: str, detail: str, expires_on: date | None = None) -> Check:
    return Check(check=check, ok=True, detail=detail, expires_on=expires_on)


def _fail(check: str, reason: str, detail: str, expires_on: date | None = None) -> Check:
    return Check(check=check, ok=False, detail=detail, expires_on=expires_on, reason=reason)


def license_is_valid(lic: LicenseFact, as_of: date) -> bool:
    """Active, unrestricted and not expired: a license expiring today is still valid today."""
    return lic.status == "active" and not lic.restricted and lic.expires_on >= as_of and lic.issued_on <= as_of


def license_miss(licenses: Iterable[LicenseFact], as_of: date) -> str:
    """The nearest miss among licenses none of which is valid: expired beats restricted beats none."""
    reason = "no_license_in_state"
    for lic in licenses:
        if lic.status in {"suspended", "revoked", "probation"} or lic.restricted:
            if reason == "no_license_in_state":
                reason = "license_restricted"
        else:
            return "license_expired"
    return reason


def check_license(licenses: tuple[LicenseFact, ...], as_of: date) -> Check:
    valid = [lic for lic in licenses if license_is_valid(lic, as_of)]
    if valid:
        best = max(valid, key=lambda lic: lic.expires_on)
        states = ", ".join(sorted({lic.state for lic in valid}))
        return _pass("license", f"active unrestricted license in {states}", best.expires_on)
    reason = license_miss(licenses, as_of)
    detail = {
        "no_license_in_state": "no license on file",
        "license_expired": "no current license: every unrestricted license has expired or is inactive",
        "license_restricted": (
            "no unrestricted license: licenses on file are restricted, on probation, suspended or revoked"
        ),
    }[reason]
    return _fail("license", reason, detail)


def certification_is_current(cert: CertificationFact, as_of: date) -> bool:
    if cert.status != "certified" or cert.certified_on > as_of:
        return False
    if cert.time_unlimited:
        return True
    return cert.moc_status == "meeting" and (cert.expires_on is None or cert.expires_on >= as_of)


def check_board_certification(certs: tuple[CertificationFact, ...], as_of: date) -> Check:
    current = [c for c in certs if certification_is_current(c, as_of)]
    if current:
        ends = [c.expires_on for c in current]
        expires = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
        boards = ", ".join(sorted({f"{c.board} {c.specialty}" for c in current}))
        return _pass("board_certification", f"current certification: {boards}", expires)
    if not certs:
        return _fail("board_certification", "no_board_certification", "no board certification on file")
    return _fail(
        "board_certification",
        "certification_lapsed",
        "no current certification: expired, not meeting MOC, or not certified by the board",
    )


def check_screening(source: str, fact: ScreeningFact | None, as_of: date, policy: CompliancePolicy) -> Check:
    check, excluded = SOURCE_CHECKS[source]
    if source not in policy.required_sources:
        return _pass(check, f"{source} screening not required by configuration")
    if fact is not None and fact.confirmed_hits:
        return _fail(check, excluded, f"confirmed match on {source}")
    if fact is not None and fact.pending_hits:
        return _fail(check, "screening_pending", f"{fact.pending_hits} undecided match(es) on {source}")
    if fact is None or fact.snapshot_loaded_on is None:
        return _fail(check, "screening_stale", f"never screened against {source}")
    fresh_until = fact.snapshot_loaded_on + timedelta(days=policy.screening_max_age_days)
    if as_of > fresh_until:
        return _fail(
            check,
            "screening_stale",
            f"last screened against a {source} list loaded {fact.snapshot_loaded_on.isoformat()}, "
            f"older than {policy.screening_max_age_days} days",
        )
    return _pass(check, f"clear on the {source} list loaded {fact.snapshot_loaded_on.isoformat()}", fresh_until)


def check_npi(npi: str, npi_status: str) -> Check:
    if not is_valid_npi(npi):
        return _fail("npi_active", "npi_deactivated", "NPI check digit is invalid")
    if npi_status == "deactivated":
        return _fail("npi_active", "npi_deactivated", "NPPES reports this NPI deactivated or unknown")
    return _pass("npi_active", "NPI valid" + (" and active in NPPES" if npi_status == "active" else ""))


def recredentialing_due(credentialed_on: date) -> date:
    """First day the physician is overdue: exactly 36 months after the decision, no grace."""
    return add_months(credentialed_on, RECREDENTIALING_MONTHS)


def check_recredentialing(credentialed_on: date | None, as_of: date) -> Check:
    if credentialed_on is None:
        return _fail("recredentialing", "recredentialing_overdue", "never credentialed")
    due = recredentialing_due(credentialed_on)
    last_day = due - timedelta(days=1)
    if as_of < due:
        return _pass("recredentialing", f"credentialed {credentialed_on.isoformat()}", last_day)
    return _fail("recredentialing", "recredentialing_overdue", f"recredentialing was due {due.isoformat()}", last_day)


def irr_last_day(irr_passed_on: date) -> date:
    return irr_passed_on + timedelta(days=IRR_DAYS)


def check_irr(irr_passed_on: date | None, as_of: date) -> Check:
    if irr_passed_on is None:
        return _fail("irr", "irr_overdue", "no inter-rater reliability test passed")
    last_day = irr_last_day(irr_passed_on)
    if as_of <= last_day:
        return _pass("irr", f"IRR passed {irr_passed_on.isoformat()}", last_day)
    return _fail("irr", "irr_overdue", f"IRR lapsed after {last_day.isoformat()}", last_day)


def check_experience(clinical_practice_start: date, as_of: date) -> Check:
    qualified_on = add_years(clinical_practice_start, EXPERIENCE_YEARS)
    if qualified_on <= as_of:
        return _pass("clinical_experience", f"in practice since {clinical_practice_start.isoformat()}")
    return _fail(
        "clinical_experience",
        "insufficient_experience",
        f"five years of clinical practice reached on {qualified_on.isoformat()}",
    )


def check_policy_attestation(unattested: Iterable[date], as_of: date, policy: CompliancePolicy) -> Check:
    """Every coverage-policy update past its attest-by date is attested (rules.md §6); informational when the
    organization does not require it. Passing, it is in force through the next unattested attest-by date."""
    dates = sorted(unattested)
    overdue = [d for d in dates if d < as_of]
    if overdue and policy.require_policy_attestation:
        return _fail(
            "policy_attestation",
            "policy_attestation_overdue",
            f"{len(overdue)} coverage-policy update(s) not attested; the first was due {overdue[0].isoformat()}",
        )
    if overdue:
        return _pass("policy_attestation", f"{len(overdue)} update(s) not attested (attestation not required)")
    upcoming = dates[0] if dates else None
    return _pass("policy_attestation", "every coverage-policy update due is attested", upcoming)


def check_active(status: str) -> Check:
    if status == "active":
        return _pass("active", "physician is active")
    return _fail("active", "inactive", f"physician status is {status}")


def compliance_checks(facts: PhysicianFacts, as_of: date, policy: CompliancePolicy) -> list[Check]:
    screening = {s.source: s for s in facts.screening}
    return [
        check_active(facts.status),
        check_license(facts.licenses, as_of),
        check_board_certification(facts.certifications, as_of),
        *(check_screening(source, screening.get(source), as_of, policy) for source in SOURCE_CHECKS),
        check_npi(facts.npi, facts.npi_status),
        check_recredentialing(facts.credentialed_on, as_of),
        check_irr(facts.irr_passed_on, as_of),
        check_experience(facts.clinical_practice_start, as_of),
        check_policy_attestation(facts.unattested_attest_by, as_of, policy),
    ]


def failing_reasons(checks: Iterable[Check]) -> list[str]:
    return [c.reason for c in checks if not c.ok and c.reason is not None]
