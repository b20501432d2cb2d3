"""Alert thresholds (rules.md §3) at each boundary, as pure functions of facts and a date."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.alerts.rules import (
    SWEPT_KINDS,
    THRESHOLDS,
    CertificationFacts,
    LicenseFacts,
    PhysicianFacts,
    certification_alerts,
    crossed_threshold,
    license_alerts,
    physician_alerts,
    threshold_label,
)
from roster.compliance.dates import add_months

TODAY = date(2026, 3, 15)
DOC = uuid.uuid4()


def lic(days_left: int, status: str = "active") -> LicenseFacts:
    return LicenseFacts(
        id=uuid.uuid4(),
        physician_id=DOC,
        state="AZ",
        number="MD1",
        status=status,
        expires_on=TODAY + timedelta(days=days_left),
    )


def cert(days_left: int | None, *, moc: str = "meeting", unlimited: bool = False, status: str = "certified"):
    return CertificationFacts(
        id=uuid.uuid4(),
        physician_id=DOC,
        board="ABIM",
        specialty="cardiology",
        status=status,
        expires_on=None if days_left is None else TODAY + timedelta(days=days_left),
        time_unlimited=unlimited,
        moc_status=moc,
    )


def labels(alerts) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(a.kind, a.threshold.split("@")[0]) for a in alerts]


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (400, []),
        (91, []),
        (90, [("license_expiring", "90d")]),
        (89, [("license_expiring", "90d")]),
        (61, [("license_expiring", "90d")]),
        (60, [("license_expiring", "60d")]),
        (31, [("license_expiring", "60d")]),
        (30, [("license_expiring", "30d")]),
        (8, [("license_expiring", "30d")]),
        (7, [("license_expiring", "7d")]),
        (0, [("license_expiring", "7d")]),  # valid through its expiry date
        (-1, [("license_expired", "expired")]),
        (-900, [("license_expired", "expired")]),
    ],
)
def test_license_thresholds(days_left: int, expected: list[tuple[str, str]]) -> None:
    assert labels(license_alerts(lic(days_left), TODAY)) == expected


def test_an_inactive_license_raises_no_countdown_but_its_expiry_still_alerts() -> None:
    assert license_alerts(lic(30, status="inactive"), TODAY) == []
    assert labels(license_alerts(lic(-1, status="inactive"), TODAY)) == [("license_expired", "expired")]


def test_the_threshold_names_the_cycle_so_a_renewed_license_alerts_again() -> None:
    first = lic(30)
    renewed = replace(first, expires_on=first.expires_on + timedelta(days=730))
    [before] = license_alerts(first, TODAY)
    [after] = license_alerts(renewed, TODAY + timedelta(days=730))
    assert before.subject_id == after.subject_id and before.threshold != after.threshold
    assert before.threshold == f"30d@{first.expires_on:%Y%m%d}" and len(before.threshold) <= 16
    assert before.due_on == first.expires_on and before.detail["days_left"] == 30


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (91, []),
        (90, [("certification_expiring", "90d")]),
        (60, [("certification_expiring", "60d")]),
        (30, [("certification_expiring", "30d")]),
        (7, [("certification_expiring", "7d")]),
        (0, [("certification_expiring", "7d")]),
        (-1, [("certification_lapsed", "expired")]),
        (None, []),  # continuous certification meeting MOC
    ],
)
def test_certification_thresholds(days_left: int | None, expected: list[tuple[str, str]]) -> None:
    assert labels(certification_alerts(cert(days_left), TODAY)) == expected


def test_moc_not_meeting_is_a_lapse_at_once_and_stops_the_countdown() -> None:
    assert labels(certification_alerts(cert(None, moc="not_meeting"), TODAY)) == [
        ("certification_lapsed", "not_meeting")
    ]
    assert labels(certification_alerts(cert(30, moc="not_meeting"), TODAY)) == [("certification_lapsed", "not_meeting")]
    assert labels(certification_alerts(cert(-5, moc="not_meeting"), TODAY)) == [
        ("certification_lapsed", "not_meeting"),
        ("certification_lapsed", "expired"),
    ]


def test_time_unlimited_certificates_never_alert() -> None:
    assert certification_alerts(cert(-10, unlimited=True, moc="not_meeting"), TODAY) == []


def test_a_certificate_the_board_no_longer_lists_as_certified_has_no_countdown() -> None:
    assert certification_alerts(cert(30, status="revoked"), TODAY) == []


def recred(days_to_due: int) -> PhysicianFacts:
    """A physician whose recredentialing falls due ``days_to_due`` days from TODAY."""
    due = TODAY + timedelta(days=days_to_due)
    return PhysicianFacts(id=DOC, credentialed_on=add_months(due, -36), irr_passed_on=None)


@pytest.mark.parametrize(
    ("days_to_due", "expected"),
    [
        (91, []),
        (90, [("recredentialing_due", "90d")]),
        (31, [("recredentialing_due", "90d")]),
        (30, [("recredentialing_due", "30d")]),
        (1, [("recredentialing_due", "30d")]),
        (0, [("recredentialing_due", "overdue")]),  # no grace: due on the day itself
        (-400, [("recredentialing_due", "overdue")]),
    ],
)
def test_recredentialing_thresholds(days_to_due: int, expected: list[tuple[str, str]]) -> None:
    doc = recred(days_to_due)
    assert add_months(doc.credentialed_on, 36) == TODAY + timedelta(days=days_to_due)  # type: ignore[arg-type]
    assert labels(physician_alerts(doc, TODAY)) == expected


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (31, []),
        (30, [("irr_due", "30d")]),
        (0, [("irr_due", "30d")]),  # the last compliant day
        (-1, [("irr_due", "overdue")]),
    ],
)
def test_irr_thresholds(days_left: int, expected: list[tuple[str, str]]) -> None:
    passed = TODAY + timedelta(days=days_left) - timedelta(days=365)
    assert labels(physician_alerts(PhysicianFacts(id=DOC, credentialed_on=None, irr_passed_on=passed), TODAY)) == (
        expected
    )


def test_a_physician_without_dates_has_nothing_counting_down() -> None:
    assert physician_alerts(PhysicianFacts(id=DOC, credentialed_on=None, irr_passed_on=None), TODAY) == []


@given(st.sampled_from(sorted(THRESHOLDS)), st.integers(-1000, 1000))
def test_the_tightest_reached_threshold_is_the_only_one(kind: str, days_left: int) -> None:
    crossed = crossed_threshold(kind, days_left)
    if days_left < 0 or days_left > max(THRESHOLDS[kind]):
        assert crossed is None
    else:
        assert crossed is not None and days_left <= crossed
        assert all(days_left > other for other in THRESHOLDS[kind] if other < crossed)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9998, 12, 31)))
def test_every_label_fits_the_threshold_column(due: date) -> None:
    for label in ("90d", "60d", "30d", "7d", "expired", "overdue"):
        assert len(threshold_label(label, due)) <= 16


def test_every_countdown_kind_is_swept() -> None:
    assert set(THRESHOLDS) <= set(SWEPT_KINDS)
    assert len(set(SWEPT_KINDS)) == len(SWEPT_KINDS) == 6
