"""The expirations report's date rules, without a database."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from roster.compliance.facts import CertificationFact, LicenseFact
from roster.compliance.rules import check_irr, check_recredentialing
from roster.reports.expirations import (
    CycleDates,
    Holder,
    certification_rows,
    cycle_rows,
    license_rows,
    sort_key,
    window_bounds,
)

TODAY = date(2026, 6, 1)
ADA = Holder.of(uuid.UUID(int=1), "1000000004", first_name="Ada", last_name="Lovelace", middle_name=None, suffix="MD")


def lic(expires_on: date, status: str = "active", restricted: bool = False) -> LicenseFact:
    return LicenseFact(
        id=uuid.uuid4(),
        state="AZ",
        number="MD1",
        status=status,
        restricted=restricted,
        issued_on=date(2010, 1, 1),
        expires_on=expires_on,
    )


def cert(expires_on: date | None, moc_status: str = "meeting", **kw: object) -> CertificationFact:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "board": "ABIM",
        "specialty": "medical_oncology",
        "status": "certified",
        "certified_on": date(2010, 1, 1),
        "expires_on": expires_on,
        "time_unlimited": False,
        "moc_status": moc_status,
    }
    values.update(kw)
    return CertificationFact(**values)  # type: ignore[arg-type]


def test_holder_name_joins_the_parts_it_has() -> None:
    assert ADA.name == "Ada Lovelace MD"
    assert Holder.of(ADA.id, "1", first_name="Bo", middle_name="X", last_name="Yi", suffix=None).name == "Bo X Yi"


def test_license_in_force_on_its_last_day() -> None:
    [today_row] = license_rows([(ADA, lic(TODAY))], TODAY, TODAY)
    assert (today_row.days_left, today_row.status) == (0, "upcoming")
    [yesterday] = license_rows([(ADA, lic(TODAY - timedelta(days=1)))], TODAY, TODAY)
    assert (yesterday.days_left, yesterday.status) == (-1, "overdue")
    assert license_rows([(ADA, lic(TODAY + timedelta(days=1)))], TODAY, TODAY) == []


def test_revoked_and_inactive_licenses_are_not_chased_but_restrictions_are_named() -> None:
    soon = TODAY + timedelta(days=5)
    assert license_rows([(ADA, lic(soon, "revoked")), (ADA, lic(soon, "inactive"))], TODAY, soon) == []
    [row] = license_rows([(ADA, lic(soon, "active", restricted=True))], TODAY, soon)
    assert row.detail == "AZ MD1 (active, restricted)"


def test_certifications_use_the_compliance_definition_of_current() -> None:
    end = TODAY + timedelta(days=10)
    rows = certification_rows(
        [
            (ADA, cert(end)),
            (ADA, cert(end, moc_status="not_meeting")),
            (ADA, cert(end, status="lapsed")),
            (ADA, cert(end, status="revoked")),
            (ADA, cert(None)),
            (ADA, cert(None, moc_status="not_required", time_unlimited=True)),
        ],
        TODAY,
        end,
    )
    assert [(r.detail, r.status) for r in rows] == [
        ("ABIM medical_oncology", "upcoming"),
        ("ABIM medical_oncology (MOC not meeting)", "overdue"),
        ("ABIM medical_oncology (lapsed)", "overdue"),
    ]


def test_recredentialing_from_a_leap_day_clamps_to_february_28() -> None:
    [row] = [
        r
        for r in cycle_rows([(ADA, CycleDates(date(2024, 2, 29), None))], TODAY, date(2030, 1, 1))
        if r.kind == "recredentialing"
    ]
    assert row.expires_on == date(2027, 2, 27), "due 2027-02-28 (36 months, clamped): last good day is the 27th"


def test_never_done_cycles_are_overdue_without_a_date_and_sort_first() -> None:
    rows = cycle_rows([(ADA, CycleDates(None, None))], TODAY, TODAY)
    assert [(r.kind, r.expires_on, r.days_left, r.status) for r in rows] == [
        ("recredentialing", None, None, "overdue"),
        ("irr", None, None, "overdue"),
    ]
    dated = license_rows([(ADA, lic(date(1999, 1, 1)))], TODAY, TODAY)
    assert sorted([*dated, *rows], key=sort_key)[:2] == rows


@given(credentialed=st.dates(date(2000, 1, 1), date(2040, 12, 31)), today=st.dates(date(2000, 1, 1), date(2040, 1, 1)))
def test_cycle_rows_agree_with_the_compliance_checks(credentialed: date, today: date) -> None:
    """A row is overdue exactly when /compliance fails the check, with the same last day."""
    rows = {r.kind: r for r in cycle_rows([(ADA, CycleDates(credentialed, credentialed))], today, date.max)}
    recred = check_recredentialing(credentialed, today)
    assert rows["recredentialing"].expires_on == recred.expires_on
    assert (rows["recredentialing"].status == "overdue") is (not recred.ok)
    irr = check_irr(credentialed, today)
    assert rows["irr"].expires_on == irr.expires_on
    assert (rows["irr"].status == "overdue") is (not irr.ok)


@given(
    credentialed=st.dates(date(2000, 1, 1), date(2040, 12, 31)), through=st.dates(date(2003, 1, 1), date(2044, 1, 1))
)
def test_database_prefilter_never_drops_a_due_row(credentialed: date, through: date) -> None:
    credentialed_by, irr_by = window_bounds(through)
    rows = {r.kind for r in cycle_rows([(ADA, CycleDates(credentialed, credentialed))], TODAY, through)}
    if "recredentialing" in rows:
        assert credentialed <= credentialed_by
    if "irr" in rows:
        assert credentialed <= irr_by
