"""In-memory reviewers and cases for the pure matching tests."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec

from roster.compliance.facts import CertificationFact, CompliancePolicy, LicenseFact, PhysicianFacts, ScreeningFact
from roster.config import SOURCES
from roster.matching.facts import Case, MatchRules, ReviewerFacts
from roster.matching.index import RosterIndex
from roster.matching.rules import evaluate
from tests.factories import npi

AS_OF = date(2026, 6, 15)
RULES = MatchRules(
    specialty_groups={
        "medical_oncology": "oncology_hematology",
        "hematology": "oncology_hematology",
        "cardiology": "cardiology",
        "psychiatry": "psychiatry",
    },
    in_state_rules={"AZ": ("initial",), "AR": ("initial",)},
    default_in_state_license=True,
    policy=CompliancePolicy(),
)


def lic(state: str = "AZ", **overrides: Any) -> LicenseFact:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "state": state,
        "number": f"{state}1",
        "status": "active",
        "restricted": False,
        "issued_on": date(2010, 1, 1),
        "expires_on": date(2027, 12, 31),
    }
    return LicenseFact(**{**values, **overrides})


def cert(specialty: str = "medical_oncology", **overrides: Any) -> CertificationFact:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "board": "ABIM",
        "specialty": specialty,
        "status": "certified",
        "certified_on": date(2008, 9, 1),
        "expires_on": None,
        "time_unlimited": False,
        "moc_status": "meeting",
    }
    return CertificationFact(**{**values, **overrides})


def clear(loaded_on: date = date(2026, 6, 1)) -> tuple[ScreeningFact, ...]:
    return tuple(ScreeningFact(source=s, snapshot_loaded_on=loaded_on) for s in SOURCES)


def reviewer(n: int = 1, **overrides: Any) -> ReviewerFacts:
    """Eligible for ``case()`` on ``AS_OF``; overrides go to the compliance facts or the reviewer."""
    compliance_fields = set(PhysicianFacts.__struct_fields__)
    physician: dict[str, Any] = {
        "id": uuid.uuid4(),
        "npi": npi(n),
        "status": "active",
        "npi_status": "active",
        "clinical_practice_start": date(2001, 7, 1),
        "credentialed_on": date(2025, 1, 1),
        "irr_passed_on": date(2026, 1, 1),
        "licenses": (lic(),),
        "certifications": (cert(),),
        "screening": clear(),
    }
    physician.update({k: v for k, v in overrides.items() if k in compliance_fields})
    rest: dict[str, Any] = {
        "name": f"Ada Reviewer{n:04d}",
        "lines_of_business": ("commercial", "medicare_advantage"),
        "specialties": (),
        "languages": ("en",),
        "max_open_cases": 20,
    }
    rest.update({k: v for k, v in overrides.items() if k not in compliance_fields})
    return ReviewerFacts(compliance=PhysicianFacts(**physician), **rest)


def case(**overrides: Any) -> Case:
    values: dict[str, Any] = {
        "state": "AZ",
        "line_of_business": "commercial",
        "specialty": "medical_oncology",
        "review_type": "initial",
    }
    return Case(**{**values, **overrides})


def index_reasons(reviewers: list[ReviewerFacts], c: Case, as_of: date, rules: MatchRules = RULES) -> list[list[str]]:
    index = RosterIndex(reviewers, rules)
    view = index.evaluate(c, as_of, {r.id: r.open_cases for r in reviewers})
    return [view.reasons_of(i) for i in range(len(reviewers))]


def reasons(r: ReviewerFacts, c: Case | None = None, as_of: date = AS_OF, rules: MatchRules = RULES) -> list[str]:
    """The plain rules' reasons, asserted equal to the index's for the same input."""
    c = c or case()
    plain = list(evaluate(r, c, as_of, rules).reasons)
    assert index_reasons([r], c, as_of, rules) == [plain], "the fast path disagrees with the rules"
    return plain


def with_screening(r: ReviewerFacts, source: str, **values: Any) -> ReviewerFacts:
    screening = tuple(msgspec.structs.replace(s, **values) if s.source == source else s for s in r.compliance.screening)
    return msgspec.structs.replace(r, compliance=msgspec.structs.replace(r.compliance, screening=screening))
