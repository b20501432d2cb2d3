"""What matching knows: a reviewer's facts, a case, and the reference rules, all plain data."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from roster.compliance.facts import CertificationFact, CompliancePolicy, LicenseFact, PhysicianFacts, ScreeningFact
from roster.compliance.rules import COMPLIANCE_REASONS, EXPERIENCE_YEARS, RECREDENTIALING_MONTHS

#: The reasons only a case can give (the rest are compliance's, ``COMPLIANCE_REASONS``).
MATCH_REASONS = ("line_of_business", "specialty_mismatch", "prior_reviewer", "at_capacity")
#: The reasons a case's time gives (rules.md §5: ``at``, the reviewer's schedule and the case's ``due_at``).
TIME_REASONS = ("off_shift", "on_leave", "cannot_meet_due")
#: Compliance reasons the contract lists after the dated checks for a match (api.md's order).
_LISTED_LATER = ("npi_deactivated",)
#: Every reason a physician can be ineligible for a case, in the contract's order (api.md): compliance's
#: reasons, then the case's own.
REASONS = (
    *(reason for reason in COMPLIANCE_REASONS if reason not in _LISTED_LATER),
    *_LISTED_LATER,
    *MATCH_REASONS,
    *TIME_REASONS,
)

#: Each reason in plain words, for people (the workspace shows these; the codes stay the API's).
REASON_WORDS: dict[str, str] = {
    "inactive": "Marked inactive on the roster.",
    "no_license_in_state": "Holds no license where this case requires one.",
    "license_expired": "The license where this case requires one has expired or is not in force.",
    "license_restricted": "The license where this case requires one is restricted, on probation, suspended or revoked.",
    "no_board_certification": "Has no board certification on file.",
    "certification_lapsed": "No board certification is current (expired, not meeting MOC, or not certified).",
    "excluded_oig": "Confirmed on the OIG exclusion list (LEIE).",
    "excluded_sam": "Confirmed on the SAM.gov exclusion list.",
    "precluded_cms": "Confirmed on the CMS preclusion list.",
    "screening_pending": "A possible match on an exclusion list is waiting for a decision.",
    "screening_stale": "Not screened against a current exclusion list.",
    "recredentialing_overdue": (
        f"Recredentialing is overdue (more than {RECREDENTIALING_MONTHS} months since the last credentialing)."
    ),
    "irr_overdue": "The annual inter-rater reliability test is overdue.",
    "insufficient_experience": f"Has fewer than {EXPERIENCE_YEARS} years of clinical practice.",
    "npi_deactivated": "The NPI is deactivated in NPPES or invalid.",
    "policy_attestation_overdue": "Has not attested a coverage-policy update past its attest-by date.",
    "line_of_business": "Does not review for this line of business.",
    "specialty_mismatch": "Neither the same nor a similar specialty as the case.",
    "prior_reviewer": "Already reviewed this case, and an appeal needs a new reviewer.",
    "at_capacity": "Already has as many open cases as allowed.",
    "off_shift": "Neither working nor on call at this time.",
    "on_leave": "On time off (PTO, leave or training) at this time.",
    "cannot_meet_due": "Has too little working or on-call time left before the case is due.",
}


def reason_words(code: str) -> str:
    """``code`` in plain words (the code itself for one newer than this table)."""
    return REASON_WORDS.get(code, code.replace("_", " "))


class SnapshotRef(msgspec.Struct, frozen=True):
    """The list snapshot a physician was last screened against: the evidence an assignment keeps."""

    source: str
    snapshot_id: UUID
    sha256: str
    loaded_at: datetime
    run_id: UUID


#: A physician's screening as matching keeps it: the facts the rules read (one per list screened against,
#: or never screened) and the snapshots they were screened against (an assignment's evidence).
ScreeningStanding = tuple[tuple[ScreeningFact, ...], tuple[SnapshotRef, ...]]


class ReviewerFacts(msgspec.Struct, frozen=True):
    """A physician as matching sees them: compliance facts plus what routing needs."""

    compliance: PhysicianFacts
    name: str
    lines_of_business: tuple[str, ...]
    #: Specialties attested by credentialing staff (slugs).
    specialties: tuple[str, ...]
    languages: tuple[str, ...]
    max_open_cases: int
    open_cases: int = 0
    snapshots: tuple[SnapshotRef, ...] = ()

    @property
    def id(self) -> UUID:
        return self.compliance.id

    @property
    def npi(self) -> str:
        return self.compliance.npi


class Case(msgspec.Struct, frozen=True):
    state: str
    line_of_business: str
    #: A resolved specialty slug.
    specialty: str
    review_type: str
    prior_reviewer_ids: frozenset[UUID] = frozenset()
    language: str | None = None


class MatchRules(msgspec.Struct, frozen=True):
    """Reference data and configuration the rules read: specialty groups, state rules, policy."""

    #: slug -> similarity group, for physician specialties only (non-physicians are never same-or-similar).
    specialty_groups: dict[str, str]
    #: state -> review types for which that state requires an in-state license (empty: every type).
    in_state_rules: dict[str, tuple[str, ...]]
    default_in_state_license: bool = True
    policy: CompliancePolicy = CompliancePolicy()

    def required_license_state(self, case: Case) -> str | None:
        """The state a license must be in for this case, or None when any US license will do.

        Medicare Advantage accepts any US license (42 CFR 422.566(d)); a state that requires its own
        license for the review type gets it; elsewhere the organization default decides.
        """
        if case.line_of_business == "medicare_advantage":
            return None
        review_types = self.in_state_rules.get(case.state)
        if review_types is not None and (not review_types or case.review_type in review_types):
            return case.state
        return case.state if self.default_in_state_license else None


class Decision(msgspec.Struct, frozen=True):
    """Whether one physician may decide one case on a date, with every failing reason and the evidence."""

    physician_id: UUID
    reasons: tuple[str, ...]
    specialty_match: str | None = None
    #: ``certification`` or ``attestation``: what made the specialty match.
    specialty_source: str | None = None
    license: LicenseFact | None = None
    certifications: tuple[CertificationFact, ...] = ()
    prior_reviewer_first: bool = False
    speaks_language: bool = False
    open_cases: int = 0
    max_open_cases: int = 0

    @property
    def eligible(self) -> bool:
        return not self.reasons
