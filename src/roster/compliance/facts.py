"""What the rules need to know about a physician: plain data, assembled at the edges."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import msgspec


class LicenseFact(msgspec.Struct, frozen=True):
    id: UUID
    state: str
    number: str
    status: str
    restricted: bool
    issued_on: date
    expires_on: date


class CertificationFact(msgspec.Struct, frozen=True):
    id: UUID
    board: str
    specialty: str
    status: str
    certified_on: date
    expires_on: date | None
    time_unlimited: bool
    moc_status: str


class ScreeningFact(msgspec.Struct, frozen=True):
    """The physician's standing on one list: the snapshot last screened against, and open hits."""

    source: str
    snapshot_loaded_on: date | None = None
    pending_hits: int = 0
    confirmed_hits: int = 0


class PhysicianFacts(msgspec.Struct, frozen=True):
    id: UUID
    npi: str
    status: str
    npi_status: str
    clinical_practice_start: date
    credentialed_on: date | None
    irr_passed_on: date | None
    licenses: tuple[LicenseFact, ...] = ()
    certifications: tuple[CertificationFact, ...] = ()
    screening: tuple[ScreeningFact, ...] = ()
    #: The attest-by dates of the coverage-policy updates the physician had not attested (as recorded).
    unattested_attest_by: tuple[date, ...] = ()


class CompliancePolicy(msgspec.Struct, frozen=True):
    required_sources: tuple[str, ...] = ("oig_leie", "sam", "cms_preclusion")
    screening_max_age_days: int = 35
    #: ``ROSTER_REQUIRE_POLICY_ATTESTATION``: an update unattested past its attest-by date makes a
    #: reviewer ineligible (``policy_attestation_overdue``).
    require_policy_attestation: bool = True
