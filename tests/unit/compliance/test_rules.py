"""Compliance rules (rules.md §1): every check on both sides of each boundary, explicit ``as_of``."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.compliance.facts import (
    CertificationFact,
    CompliancePolicy,
    LicenseFact,
    PhysicianFacts,
    ScreeningFact,
)
from roster.compliance.rules import (
    Check,
    check_board_certification,
    check_experience,
    check_irr,
    check_license,
    check_npi,
    check_policy_attestation,
    check_recredentialing,
    check_screening,
    compliance_checks,
    failing_reasons,
    recredentialing_due,
)

AS_OF = date(2026, 6, 15)
DAY = timedelta(days=1)
POLICY = CompliancePolicy()
VALID_NPI = "1234567893"
CHECK_ORDER = [
    "active",
    "license",
    "board_certification",
    "oig_exclusion",
    "sam_exclusion",
    "cms_preclusion",
    "npi_active",
    "recredentialing",
    "irr",
    "clinical_experience",
    "policy_attestation",
]


def lic(**overrides: Any) -> LicenseFact:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "state": "AZ",
        "number": "MD1",
        "status": "active",
        "restricted": False,
        "issued_on": date(2010, 1, 1),
        "expires_on": AS_OF + timedelta(days=400),
    }
    values.update(overrides)
    return LicenseFact(**values)


def cert(**overrides: Any) -> CertificationFact:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "board": "ABIM",
        "specialty": "medical_oncology",
        "status": "certified",
        "certified_on": date(2008, 9, 1),
        "expires_on": None,
        "time_unlimited": False,
        "moc_status": "meeting",
    }
    values.update(overrides)
    return CertificationFact(**values)


def screened(source: str, loaded: date | None = AS_OF - timedelta(days=3), **kw: int) -> ScreeningFact:
    return ScreeningFact(source=source, snapshot_loaded_on=loaded, **kw)


def facts(**overrides: Any) -> PhysicianFacts:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "npi": VALID_NPI,
        "status": "active",
        "npi_status": "active",
        "clinical_practice_start": date(2001, 7, 1),
        "credentialed_on": AS_OF - timedelta(days=200),
        "irr_passed_on": AS_OF - timedelta(days=100),
        "licenses": (lic(),),
        "certifications": (cert(),),
        "screening": tuple(screened(s) for s in ("oig_leie", "sam", "cms_preclusion")),
    }
    values.update(overrides)
    return PhysicianFacts(**values)


def assert_fails(result: Check, reason: str) -> None:
    assert not result.ok, result
    assert result.reason == reason, result


def assert_passes(result: Check) -> None:
    assert result.ok, result
    assert result.reason is None


# --- license -------------------------------------------------------------------------------------


def test_license_expiring_today_is_valid() -> None:
    result = check_license((lic(expires_on=AS_OF),), AS_OF)
    assert_passes(result)
    assert result.expires_on == AS_OF


def test_license_expired_yesterday_is_not_valid() -> None:
    assert_fails(check_license((lic(expires_on=AS_OF - DAY),), AS_OF), "license_expired")


def test_license_issued_today_is_valid_but_issued_tomorrow_is_not() -> None:
    assert_passes(check_license((lic(issued_on=AS_OF),), AS_OF))
    result = check_license((lic(issued_on=AS_OF + DAY),), AS_OF)
    assert not result.ok


@pytest.mark.parametrize("status", ["suspended", "revoked", "probation"])
def test_license_bad_standing_is_restricted(status: str) -> None:
    assert_fails(check_license((lic(status=status),), AS_OF), "license_restricted")


def test_license_restricted_flag_is_restricted() -> None:
    assert_fails(check_license((lic(restricted=True),), AS_OF), "license_restricted")


@pytest.mark.parametrize(
    "license_fact",
    [
        lic(status="expired"),
        lic(status="inactive"),
        lic(status="active", expires_on=AS_OF - DAY),
        lic(status="expired", expires_on=AS_OF - timedelta(days=900)),
    ],
    ids=["expired", "inactive", "active-past-expiry", "long-expired"],
)
def test_license_expired_or_inactive_is_expired(license_fact: LicenseFact) -> None:
    result = check_license((license_fact,), AS_OF)
    assert_fails(result, "license_expired")
    assert result.expires_on is None


@pytest.mark.parametrize("order", [0, 1])
def test_license_expired_beats_restricted_as_nearest_miss(order: int) -> None:
    licenses = [lic(state="AZ", status="suspended"), lic(state="CA", expires_on=AS_OF - DAY)]
    if order:
        licenses.reverse()
    assert_fails(check_license(tuple(licenses), AS_OF), "license_expired")


def test_no_license_is_no_license_in_state() -> None:
    assert_fails(check_license((), AS_OF), "no_license_in_state")


def test_license_one_valid_among_invalid_passes_and_reports_latest_expiry() -> None:
    licenses = (
        lic(state="CA", status="revoked"),
        lic(state="AZ", expires_on=AS_OF + timedelta(days=10)),
        lic(state="NY", expires_on=AS_OF + timedelta(days=500)),
        lic(state="TX", expires_on=AS_OF - DAY),
        lic(state="FL", restricted=True, expires_on=AS_OF + timedelta(days=9000)),
    )
    result = check_license(licenses, AS_OF)
    assert_passes(result)
    assert result.expires_on == AS_OF + timedelta(days=500)
    assert "AZ" in result.detail and "NY" in result.detail
    assert "CA" not in result.detail and "TX" not in result.detail and "FL" not in result.detail


# --- board certification -------------------------------------------------------------------------


@pytest.mark.parametrize("moc", ["meeting", "not_meeting", "not_required"])
def test_time_unlimited_certification_is_current_whatever_moc(moc: str) -> None:
    result = check_board_certification((cert(time_unlimited=True, moc_status=moc),), AS_OF)
    assert_passes(result)
    assert result.expires_on is None


def test_continuous_certification_meeting_moc_is_current() -> None:
    result = check_board_certification((cert(expires_on=None, moc_status="meeting"),), AS_OF)
    assert_passes(result)
    assert result.expires_on is None


@pytest.mark.parametrize("expires_on", [None, AS_OF + timedelta(days=365)])
def test_not_meeting_moc_is_lapsed(expires_on: date | None) -> None:
    result = check_board_certification((cert(moc_status="not_meeting", expires_on=expires_on),), AS_OF)
    assert_fails(result, "certification_lapsed")


def test_certification_expiring_today_is_current_and_reports_last_valid_day() -> None:
    result = check_board_certification((cert(expires_on=AS_OF),), AS_OF)
    assert_passes(result)
    assert result.expires_on == AS_OF


def test_certification_expired_yesterday_is_lapsed() -> None:
    assert_fails(check_board_certification((cert(expires_on=AS_OF - DAY),), AS_OF), "certification_lapsed")


@pytest.mark.parametrize("status", ["lapsed", "suspended", "revoked", "inactive"])
def test_certification_not_certified_by_board_is_lapsed(status: str) -> None:
    assert_fails(check_board_certification((cert(status=status),), AS_OF), "certification_lapsed")
    assert_fails(
        check_board_certification((cert(status=status, time_unlimited=True, moc_status="not_required"),), AS_OF),
        "certification_lapsed",
    )


def test_certification_certified_in_future_is_not_current() -> None:
    assert not check_board_certification((cert(certified_on=AS_OF + DAY),), AS_OF).ok
    assert_passes(check_board_certification((cert(certified_on=AS_OF),), AS_OF))


def test_no_certification_is_no_board_certification() -> None:
    assert_fails(check_board_certification((), AS_OF), "no_board_certification")


def test_certification_expires_on_is_latest_current_or_none_when_continuous() -> None:
    dated = (
        cert(expires_on=AS_OF + timedelta(days=30)),
        cert(expires_on=AS_OF + timedelta(days=90)),
        cert(expires_on=AS_OF - DAY),
    )
    assert check_board_certification(dated, AS_OF).expires_on == AS_OF + timedelta(days=90)
    assert check_board_certification((*dated, cert(expires_on=None)), AS_OF).expires_on is None


# --- recredentialing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentialed_on", "due"),
    [
        (date(2023, 6, 15), date(2026, 6, 15)),
        (date(2023, 2, 28), date(2026, 2, 28)),
        (date(2024, 2, 29), date(2027, 2, 28)),
        (date(2023, 8, 31), date(2026, 8, 31)),
        (date(2023, 5, 31), date(2026, 5, 31)),
        (date(2021, 12, 31), date(2024, 12, 31)),
    ],
)
def test_recredentialing_due_is_first_overdue_day(credentialed_on: date, due: date) -> None:
    assert recredentialing_due(credentialed_on) == due
    before = check_recredentialing(credentialed_on, due - DAY)
    assert_passes(before)
    assert before.expires_on == due - DAY
    on_due = check_recredentialing(credentialed_on, due)
    assert_fails(on_due, "recredentialing_overdue")
    assert on_due.expires_on == due - DAY
    assert_fails(check_recredentialing(credentialed_on, due + timedelta(days=400)), "recredentialing_overdue")


def test_never_credentialed_is_overdue() -> None:
    assert_fails(check_recredentialing(None, AS_OF), "recredentialing_overdue")


# --- IRR -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("passed_on", [date(2025, 6, 15), date(2024, 2, 29), date(2023, 3, 1)])
def test_irr_365_days_is_last_ok_day(passed_on: date) -> None:
    last = passed_on + timedelta(days=365)
    result = check_irr(passed_on, last)
    assert_passes(result)
    assert result.expires_on == last
    assert_passes(check_irr(passed_on, passed_on))
    assert_fails(check_irr(passed_on, passed_on + timedelta(days=366)), "irr_overdue")


def test_no_irr_is_overdue() -> None:
    assert_fails(check_irr(None, AS_OF), "irr_overdue")


# --- clinical experience -------------------------------------------------------------------------


def test_experience_exactly_five_years_is_enough() -> None:
    start = date(2021, 6, 15)
    assert_passes(check_experience(start, date(2026, 6, 15)))
    assert_fails(check_experience(start, date(2026, 6, 14)), "insufficient_experience")


def test_experience_from_feb_29_clamps_to_feb_28() -> None:
    start = date(2020, 2, 29)
    assert_passes(check_experience(start, date(2025, 2, 28)))
    assert_fails(check_experience(start, date(2025, 2, 27)), "insufficient_experience")


def test_experience_ending_near_a_leap_day() -> None:
    assert_passes(check_experience(date(2019, 2, 28), date(2024, 2, 28)))
    assert_fails(check_experience(date(2019, 3, 1), date(2024, 2, 29)), "insufficient_experience")
    assert_passes(check_experience(date(2019, 3, 1), date(2024, 3, 1)))


# --- screening -----------------------------------------------------------------------------------

SOURCES = [
    ("oig_leie", "oig_exclusion", "excluded_oig"),
    ("sam", "sam_exclusion", "excluded_sam"),
    ("cms_preclusion", "cms_preclusion", "precluded_cms"),
]


@pytest.mark.parametrize(("source", "check", "excluded"), SOURCES)
def test_required_source_never_screened_is_stale(source: str, check: str, excluded: str) -> None:
    result = check_screening(source, None, AS_OF, POLICY)
    assert result.check == check
    assert_fails(result, "screening_stale")
    assert source in result.detail
    assert_fails(check_screening(source, screened(source, loaded=None), AS_OF, POLICY), "screening_stale")


@pytest.mark.parametrize(("source", "check", "excluded"), SOURCES)
def test_screening_35_days_fresh_36_stale(source: str, check: str, excluded: str) -> None:
    fresh = check_screening(source, screened(source, AS_OF - timedelta(days=35)), AS_OF, POLICY)
    assert_passes(fresh)
    assert fresh.expires_on == AS_OF
    assert_passes(check_screening(source, screened(source, AS_OF), AS_OF, POLICY))
    stale = check_screening(source, screened(source, AS_OF - timedelta(days=36)), AS_OF, POLICY)
    assert_fails(stale, "screening_stale")


@pytest.mark.parametrize(("source", "check", "excluded"), SOURCES)
def test_screening_pending_hit(source: str, check: str, excluded: str) -> None:
    assert_fails(check_screening(source, screened(source, pending_hits=2), AS_OF, POLICY), "screening_pending")
    # A pending hit is reported even when the snapshot is also stale or missing.
    assert_fails(
        check_screening(source, screened(source, loaded=None, pending_hits=1), AS_OF, POLICY),
        "screening_pending",
    )


@pytest.mark.parametrize(("source", "check", "excluded"), SOURCES)
def test_screening_confirmed_hit_is_excluded(source: str, check: str, excluded: str) -> None:
    result = check_screening(source, screened(source, confirmed_hits=1, pending_hits=3), AS_OF, POLICY)
    assert result.check == check
    assert_fails(result, excluded)
    old = screened(source, AS_OF - timedelta(days=400), confirmed_hits=1)
    assert_fails(check_screening(source, old, AS_OF, POLICY), excluded)


@pytest.mark.parametrize(("source", "check", "excluded"), SOURCES)
def test_source_not_required_by_policy_is_ok(source: str, check: str, excluded: str) -> None:
    others = tuple(s for s, _, _ in SOURCES if s != source)
    policy = CompliancePolicy(required_sources=others)
    result = check_screening(source, None, AS_OF, policy)
    assert result.check == check
    assert_passes(result)
    assert_passes(check_screening(source, screened(source, AS_OF - timedelta(days=900)), AS_OF, policy))


def test_screening_max_age_is_configurable() -> None:
    policy = CompliancePolicy(screening_max_age_days=7)
    assert_passes(check_screening("sam", screened("sam", AS_OF - timedelta(days=7)), AS_OF, policy))
    assert_fails(check_screening("sam", screened("sam", AS_OF - timedelta(days=8)), AS_OF, policy), "screening_stale")


# --- NPI -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["active", "unknown"])
def test_valid_npi_not_deactivated_passes(status: str) -> None:
    assert_passes(check_npi(VALID_NPI, status))


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "12345678930", "abcdefghij", ""])
def test_invalid_npi_check_digit_is_deactivated(npi: str) -> None:
    result = check_npi(npi, "active")
    assert result.check == "npi_active"
    assert_fails(result, "npi_deactivated")


def test_npi_reported_deactivated() -> None:
    assert_fails(check_npi(VALID_NPI, "deactivated"), "npi_deactivated")


# --- the whole report ----------------------------------------------------------------------------


def test_compliant_physician_passes_every_check_in_order() -> None:
    checks = compliance_checks(facts(), AS_OF, POLICY)
    assert [c.check for c in checks] == CHECK_ORDER
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert failing_reasons(checks) == []


def test_failing_reasons_lists_every_failure_in_check_order() -> None:
    bad = facts(
        status="inactive",
        licenses=(),
        certifications=(),
        screening=(
            screened("oig_leie", confirmed_hits=1),
            screened("sam", pending_hits=1),
        ),
        npi="1234567890",
        credentialed_on=None,
        irr_passed_on=None,
        clinical_practice_start=AS_OF - timedelta(days=30),
        unattested_attest_by=(AS_OF - timedelta(days=3),),
    )
    checks = compliance_checks(bad, AS_OF, POLICY)
    assert [c.check for c in checks] == CHECK_ORDER
    assert not any(c.ok for c in checks)
    assert failing_reasons(checks) == [
        "inactive",
        "no_license_in_state",
        "no_board_certification",
        "excluded_oig",
        "screening_pending",
        "screening_stale",
        "npi_deactivated",
        "recredentialing_overdue",
        "irr_overdue",
        "insufficient_experience",
        "policy_attestation_overdue",
    ]


def test_failing_reasons_with_some_failures() -> None:
    checks = compliance_checks(
        facts(irr_passed_on=AS_OF - timedelta(days=366), npi_status="deactivated"), AS_OF, POLICY
    )
    assert failing_reasons(checks) == ["npi_deactivated", "irr_overdue"]
    assert [c.check for c in checks if not c.ok] == ["npi_active", "irr"]


def test_compliance_uses_policy_sources() -> None:
    checks = compliance_checks(facts(screening=()), AS_OF, CompliancePolicy(required_sources=("sam",)))
    assert failing_reasons(checks) == ["screening_stale"]
    assert [c.check for c in checks if not c.ok] == ["sam_exclusion"]


# --- properties ----------------------------------------------------------------------------------

days_around = st.integers(min_value=-800, max_value=800).map(lambda n: AS_OF + timedelta(days=n))

licenses_st = st.builds(
    lambda state, status, restricted, issued, expires: lic(
        state=state, status=status, restricted=restricted, issued_on=issued, expires_on=expires
    ),
    st.sampled_from(["AZ", "AR", "CA", "NY"]),
    st.sampled_from(["active", "inactive", "expired", "suspended", "revoked", "probation"]),
    st.booleans(),
    days_around,
    days_around,
)

certs_st = st.builds(
    lambda status, certified_on, expires, unlimited, moc, board: cert(
        status=status,
        certified_on=certified_on,
        expires_on=None if unlimited else expires,
        time_unlimited=unlimited,
        moc_status=moc,
        board=board,
    ),
    st.sampled_from(["certified", "certified", "lapsed", "suspended", "revoked", "inactive"]),
    days_around,
    st.none() | days_around,
    st.booleans(),
    st.sampled_from(["meeting", "not_meeting", "not_required"]),
    st.sampled_from(["ABIM", "AOBIM"]),
)


@given(st.lists(licenses_st, max_size=6), st.randoms(use_true_random=False), days_around)
def test_license_result_independent_of_order(licenses: list[LicenseFact], rnd: Any, as_of: date) -> None:
    shuffled = list(licenses)
    rnd.shuffle(shuffled)
    assert check_license(tuple(licenses), as_of) == check_license(tuple(shuffled), as_of)
    assert check_license(tuple(licenses), as_of) == check_license(tuple(reversed(licenses)), as_of)


@given(st.lists(certs_st, max_size=6), st.randoms(use_true_random=False), days_around)
def test_certification_result_independent_of_order(certs: list[CertificationFact], rnd: Any, as_of: date) -> None:
    shuffled = list(certs)
    rnd.shuffle(shuffled)
    assert check_board_certification(tuple(certs), as_of) == check_board_certification(tuple(shuffled), as_of)
    assert check_board_certification(tuple(certs), as_of) == check_board_certification(tuple(reversed(certs)), as_of)


@given(
    st.lists(licenses_st, max_size=6),
    st.lists(certs_st, max_size=4),
    st.randoms(use_true_random=False),
    days_around,
)
def test_compliance_report_independent_of_order(
    licenses: list[LicenseFact], certs: list[CertificationFact], rnd: Any, as_of: date
) -> None:
    shuffled_l, shuffled_c = list(licenses), list(certs)
    rnd.shuffle(shuffled_l)
    rnd.shuffle(shuffled_c)
    a = compliance_checks(facts(licenses=tuple(licenses), certifications=tuple(certs)), as_of, POLICY)
    b = compliance_checks(facts(licenses=tuple(shuffled_l), certifications=tuple(shuffled_c)), as_of, POLICY)
    assert [(c.check, c.ok, c.reason, c.expires_on, c.detail) for c in a] == [
        (c.check, c.ok, c.reason, c.expires_on, c.detail) for c in b
    ]


@given(st.lists(licenses_st, max_size=6), licenses_st, days_around)
def test_license_check_is_monotone(licenses: list[LicenseFact], extra: LicenseFact, as_of: date) -> None:
    before = check_license(tuple(licenses), as_of)
    after = check_license((*licenses, extra), as_of)
    if before.ok:
        assert after.ok
        assert after.expires_on is not None and before.expires_on is not None
        assert after.expires_on >= before.expires_on


@given(st.lists(licenses_st, max_size=6), days_around, st.integers(min_value=0, max_value=3000))
def test_adding_a_valid_license_makes_license_check_pass(
    licenses: list[LicenseFact], as_of: date, days_left: int
) -> None:
    valid = lic(issued_on=as_of - timedelta(days=10), expires_on=as_of + timedelta(days=days_left))
    result = check_license((*licenses, valid), as_of)
    assert_passes(result)
    assert result.expires_on is not None and result.expires_on >= as_of


@given(st.lists(licenses_st, max_size=6), days_around)
def test_license_reason_is_one_of_the_documented_codes(licenses: list[LicenseFact], as_of: date) -> None:
    result = check_license(tuple(licenses), as_of)
    if result.ok:
        assert result.expires_on is not None and result.expires_on >= as_of
    else:
        assert result.reason in {"license_expired", "license_restricted", "no_license_in_state"}
        assert (result.reason == "no_license_in_state") == (not licenses)


# --- coverage-policy attestations (rules.md §6) ---------------------------------------------------


def test_an_update_unattested_past_its_attest_by_date_fails_from_the_day_after() -> None:
    due = AS_OF - timedelta(days=1)
    assert_fails(check_policy_attestation((due,), AS_OF, POLICY), "policy_attestation_overdue")
    on_the_day = check_policy_attestation((AS_OF,), AS_OF, POLICY)
    assert on_the_day.ok and on_the_day.expires_on == AS_OF
    assert check_policy_attestation((), AS_OF, POLICY).ok


def test_attestation_is_informational_when_the_organization_does_not_require_it() -> None:
    relaxed = msgspec.structs.replace(POLICY, require_policy_attestation=False)
    result = check_policy_attestation((AS_OF - timedelta(days=30),), AS_OF, relaxed)
    assert result.ok and "not required" in result.detail
    checks = compliance_checks(facts(unattested_attest_by=(AS_OF - timedelta(days=30),)), AS_OF, POLICY)
    assert failing_reasons(checks) == ["policy_attestation_overdue"]
