"""Every reason code of rules.md §1-2, at its boundary dates, through both the rules and the index."""

from __future__ import annotations

from datetime import date, timedelta

import msgspec
import pytest

from roster.compliance.facts import CompliancePolicy
from roster.matching.facts import REASONS
from roster.matching.rules import evaluate, rank, score
from tests.unit.matching.roster import AS_OF, RULES, case, cert, lic, reasons, reviewer, with_screening

DAY = timedelta(days=1)


def test_the_default_reviewer_is_eligible_with_its_evidence() -> None:
    r = reviewer()
    decision = evaluate(r, case(), AS_OF, RULES)
    assert decision.eligible and reasons(r) == []
    assert decision.specialty_match == "same" and decision.specialty_source == "certification"
    assert decision.license == r.compliance.licenses[0]
    assert decision.certifications == r.compliance.certifications


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"status": "inactive"}, "inactive"),
        ({"licenses": (lic("CA"),)}, "no_license_in_state"),
        ({"licenses": ()}, "no_license_in_state"),
        ({"licenses": (lic(expires_on=AS_OF - DAY),)}, "license_expired"),
        ({"licenses": (lic(status="expired"),)}, "license_expired"),
        ({"licenses": (lic(issued_on=AS_OF + DAY),)}, "license_expired"),
        ({"licenses": (lic(restricted=True),)}, "license_restricted"),
        ({"licenses": (lic(status="probation"),)}, "license_restricted"),
        ({"licenses": (lic(status="revoked"), lic(expires_on=AS_OF - DAY))}, "license_expired"),
        ({"certifications": (), "specialties": ("medical_oncology",)}, "no_board_certification"),
        (
            {"certifications": (cert(expires_on=AS_OF - DAY),), "specialties": ("medical_oncology",)},
            "certification_lapsed",
        ),
        (
            {"certifications": (cert(moc_status="not_meeting"),), "specialties": ("medical_oncology",)},
            "certification_lapsed",
        ),
        (
            {"certifications": (cert(status="revoked", time_unlimited=True),), "specialties": ("medical_oncology",)},
            "certification_lapsed",
        ),
        ({"npi_status": "deactivated"}, "npi_deactivated"),
        ({"npi": "1234567890"}, "npi_deactivated"),
        ({"credentialed_on": None}, "recredentialing_overdue"),
        ({"credentialed_on": date(2023, 6, 15)}, "recredentialing_overdue"),
        ({"irr_passed_on": None}, "irr_overdue"),
        ({"irr_passed_on": AS_OF - timedelta(days=366)}, "irr_overdue"),
        ({"clinical_practice_start": date(2021, 6, 16)}, "insufficient_experience"),
        ({"lines_of_business": ("medicaid",)}, "line_of_business"),
        ({"certifications": (cert("cardiology"),)}, "specialty_mismatch"),
        ({"certifications": (cert("cardiology"),), "specialties": ("clinical_pharmacy",)}, "specialty_mismatch"),
        ({"max_open_cases": 3, "open_cases": 3}, "at_capacity"),
        ({"max_open_cases": 0}, "at_capacity"),
    ],
)
def test_each_reason(overrides: dict, expected: str) -> None:
    assert reasons(reviewer(**overrides)) == [expected]


@pytest.mark.parametrize(
    ("overrides", "still_ok"),
    [
        ({"licenses": (lic(expires_on=AS_OF),)}, "a license expiring today is valid today"),
        ({"licenses": (lic(issued_on=AS_OF),)}, "a license issued today is valid today"),
        ({"certifications": (cert(expires_on=AS_OF),)}, "a certificate expiring today is current today"),
        ({"certifications": (cert(time_unlimited=True, moc_status="not_required"),)}, "time-unlimited"),
        ({"credentialed_on": date(2023, 6, 16)}, "last day before 36 months"),
        ({"irr_passed_on": AS_OF - timedelta(days=365)}, "IRR's 365th day"),
        ({"clinical_practice_start": date(2021, 6, 15)}, "five years to the day"),
        ({"max_open_cases": 3, "open_cases": 2}, "one slot left"),
    ],
)
def test_boundaries_that_still_pass(overrides: dict, still_ok: str) -> None:
    assert reasons(reviewer(**overrides)) == [], still_ok


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("oig_leie", {"confirmed_hits": 1}, "excluded_oig"),
        ("sam", {"confirmed_hits": 2, "pending_hits": 1}, "excluded_sam"),
        ("cms_preclusion", {"confirmed_hits": 1}, "precluded_cms"),
        ("sam", {"pending_hits": 1}, "screening_pending"),
        ("oig_leie", {"snapshot_loaded_on": AS_OF - timedelta(days=36)}, "screening_stale"),
        ("cms_preclusion", {"snapshot_loaded_on": None}, "screening_stale"),
    ],
)
def test_screening_reasons(source: str, values: dict, expected: str) -> None:
    assert reasons(with_screening(reviewer(), source, **values)) == [expected]


def test_screening_fresh_for_35_days_and_only_required_lists_count() -> None:
    r = with_screening(reviewer(), "oig_leie", snapshot_loaded_on=AS_OF - timedelta(days=35))
    assert reasons(r) == []
    stale = with_screening(reviewer(), "sam", snapshot_loaded_on=None, confirmed_hits=1)
    only_oig = msgspec.structs.replace(RULES, policy=CompliancePolicy(required_sources=("oig_leie",)))
    assert reasons(stale, rules=only_oig) == []
    never = msgspec.structs.replace(reviewer(), compliance=msgspec.structs.replace(reviewer().compliance, screening=()))
    assert reasons(never) == ["screening_stale"], "a list never checked is never clear"


def test_all_reasons_at_once_in_contract_order() -> None:
    r = reviewer(
        status="inactive",
        licenses=(lic(restricted=True),),
        certifications=(cert("cardiology", moc_status="not_meeting"),),
        npi_status="deactivated",
        credentialed_on=None,
        irr_passed_on=None,
        clinical_practice_start=date(2024, 1, 1),
        lines_of_business=("medicaid",),
        max_open_cases=1,
        open_cases=1,
    )
    r = with_screening(with_screening(r, "oig_leie", confirmed_hits=1), "sam", pending_hits=1)
    c = case(review_type="appeal", prior_reviewer_ids=frozenset({r.id}))
    got = reasons(r, c)
    assert got == [
        "inactive",
        "license_restricted",
        "certification_lapsed",
        "excluded_oig",
        "screening_pending",
        "recredentialing_overdue",
        "irr_overdue",
        "insufficient_experience",
        "npi_deactivated",
        "line_of_business",
        "specialty_mismatch",
        "prior_reviewer",
        "at_capacity",
    ]
    assert got == [x for x in REASONS if x in got]


def test_jurisdiction() -> None:
    ca_only = reviewer(licenses=(lic("CA"),))
    assert reasons(ca_only, case(line_of_business="medicare_advantage")) == [], "MA: any US license"
    assert reasons(ca_only, case(state="AR")) == ["no_license_in_state"], "AR initial needs AR"
    assert reasons(ca_only, case(review_type="appeal")) == ["no_license_in_state"], "default: in-state"
    permissive = msgspec.structs.replace(RULES, default_in_state_license=False)
    assert reasons(ca_only, case(review_type="appeal"), rules=permissive) == []
    assert reasons(ca_only, case(state="TX"), rules=permissive) == []
    assert reasons(ca_only, case(), rules=permissive) == ["no_license_in_state"], "AZ's own rule still applies"
    expired_az = reviewer(licenses=(lic("CA"), lic("AZ", expires_on=AS_OF - DAY)))
    assert reasons(expired_az) == ["license_expired"], "the nearest miss in the required state"
    assert reasons(expired_az, case(line_of_business="medicare_advantage")) == []


def test_specialty_sources_and_similarity() -> None:
    similar = reviewer(certifications=(cert("hematology"),))
    d = evaluate(similar, case(), AS_OF, RULES)
    assert (d.specialty_match, d.specialty_source) == ("similar", "certification")
    attested = reviewer(certifications=(cert("cardiology"),), specialties=("medical_oncology",))
    d = evaluate(attested, case(), AS_OF, RULES)
    assert (d.specialty_match, d.specialty_source) == ("same", "attestation")
    lapsed_same = reviewer(certifications=(cert("cardiology"), cert("medical_oncology", expires_on=AS_OF - DAY)))
    assert reasons(lapsed_same) == ["specialty_mismatch"], "only current certifications prove a specialty"
    assert reasons(reviewer(), case(specialty="clinical_pharmacy")) == ["specialty_mismatch"]


def test_prior_reviewer_rules() -> None:
    r = reviewer()
    assert reasons(r, case(review_type="appeal", prior_reviewer_ids=frozenset({r.id}))) == ["prior_reviewer"]
    assert reasons(r, case(review_type="initial", prior_reviewer_ids=frozenset({r.id}))) == []
    d = evaluate(r, case(review_type="peer_to_peer", prior_reviewer_ids=frozenset({r.id})), AS_OF, RULES)
    assert d.eligible and d.prior_reviewer_first


def test_ranking_order_and_score() -> None:
    prior = reviewer(5, certifications=(cert("hematology"),), open_cases=10)
    same_busy = reviewer(4, open_cases=15, languages=("en", "es"))
    same_idle_a = reviewer(3, open_cases=1)
    same_idle_b = reviewer(2, open_cases=1)
    similar_speaker = reviewer(1, certifications=(cert("hematology"),), languages=("es",))
    c = case(review_type="peer_to_peer", prior_reviewer_ids=frozenset({prior.id}), language="es")
    pairs = [
        (evaluate(r, c, AS_OF, RULES), r.npi) for r in (similar_speaker, same_idle_b, same_idle_a, same_busy, prior)
    ]
    ranked = rank(pairs)
    assert [d.physician_id for d in ranked] == [
        prior.id,
        same_busy.id,
        same_idle_b.id,
        same_idle_a.id,
        similar_speaker.id,
    ]
    scores = [score(d) for d in ranked]
    assert scores == sorted(scores, reverse=True) and 0 <= min(scores) and max(scores) <= 1
