"""FHIR resource builders without a database: statuses follow the compliance rules, output validates."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.verificationresult import VerificationResult

from roster.compliance.facts import CompliancePolicy, ScreeningFact
from roster.fhir.resources import (
    PractitionerFile,
    Screened,
    instant,
    license_verification,
    practitioner,
    screening_verification,
    verification_id,
    verification_results,
)
from roster.reference.schemas import SpecialtyRead

TODAY = date(2026, 6, 1)
PID = uuid.UUID(int=42)
POLICY = CompliancePolicy()
SPECIALTIES = {
    "cardiology": SpecialtyRead(
        slug="cardiology",
        name="Cardiology",
        nucc_codes=["207RC0000X"],
        boards=["ABIM"],
        similarity_group="cardiology",
        physician=True,
    )
}


def physician(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": PID,
        "npi": "1234567893",
        "first_name": "Grace",
        "middle_name": None,
        "last_name": "Hopper",
        "suffix": None,
        "former_last_names": [],
        "date_of_birth": date(1960, 12, 9),
        "email": None,
        "languages": [],
        "status": "active",
        "credentialed_on": None,
        "updated_at": datetime(2026, 5, 1, 12, 0),
    }
    row.update(overrides)
    return row


def lic(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid.UUID(int=1),
        "state": "CA",
        "number": "A123",
        "license_type": "DO",
        "status": "active",
        "restricted": False,
        "issued_on": date(2010, 1, 1),
        "expires_on": date(2027, 1, 1),
        "verified_on": date(2026, 1, 5),
        "verification_source": None,
    }
    row.update(overrides)
    return row


def test_minimal_practitioner_is_valid_and_omits_what_is_unknown() -> None:
    resource = practitioner(PractitionerFile(physician=physician()), {}, {}, TODAY)
    Practitioner.model_validate(resource)
    assert resource["name"] == [{"use": "official", "family": "Hopper", "given": ["Grace"], "text": "Grace Hopper"}]
    assert "qualification" not in resource and "telecom" not in resource and "communication" not in resource
    assert resource["meta"]["lastUpdated"] == "2026-05-01T12:00:00+00:00", "a naive database timestamp is UTC"


def test_certification_of_an_unknown_specialty_keeps_its_text() -> None:
    cert = {
        "id": uuid.UUID(int=2),
        "board": "ABIM",
        "specialty": "retired_slug",
        "status": "certified",
        "certified_on": date(2001, 1, 1),
        "expires_on": None,
        "time_unlimited": True,
        "moc_status": "not_required",
    }
    resource = practitioner(PractitionerFile(physician=physician(), certifications=[cert]), {}, SPECIALTIES, TODAY)
    Practitioner.model_validate(resource)
    assert resource["qualification"][0]["code"] == {"text": "ABIM board certification in retired_slug"}


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({}, "validated"),
        ({"verified_on": None}, "attested"),
        ({"expires_on": date(2026, 5, 31)}, "req-revalid"),
        ({"expires_on": TODAY}, "validated"),
        ({"status": "probation"}, "val-fail"),
        ({"restricted": True}, "val-fail"),
        ({"status": "revoked"}, "val-fail"),
    ],
)
def test_license_verification_status(overrides: dict[str, Any], status: str) -> None:
    result = license_verification(PID, lic(**overrides), TODAY)
    VerificationResult.model_validate(result)
    assert result["status"] == status
    source = result["primarySource"][0]
    assert source["who"] == {"display": "CA medical licensing board"}
    if status == "attested":
        assert result["validationType"]["coding"][0]["code"] == "nothing"
        assert "validationStatus" not in source and "lastPerformed" not in result
    else:
        expected = "failed" if status == "val-fail" else "successful"
        assert source["validationStatus"]["coding"][0]["code"] == expected


@pytest.mark.parametrize(
    ("fact", "status", "next_scheduled"),
    [
        (ScreeningFact("sam", snapshot_loaded_on=date(2026, 5, 20)), "validated", "2026-06-24"),
        (ScreeningFact("sam", snapshot_loaded_on=date(2026, 4, 1)), "req-revalid", "2026-05-06"),
        (ScreeningFact("sam", snapshot_loaded_on=date(2026, 5, 20), pending_hits=1), "in-process", "2026-06-24"),
        (ScreeningFact("sam", snapshot_loaded_on=date(2026, 5, 20), confirmed_hits=1), "val-fail", "2026-06-24"),
    ],
)
def test_screening_status_follows_the_compliance_check(fact: ScreeningFact, status: str, next_scheduled: str) -> None:
    screened = Screened(fact=fact, screened_at=datetime(2026, 5, 20, 6, tzinfo=UTC))
    result = screening_verification(PID, screened, TODAY, POLICY)
    assert result is not None
    VerificationResult.model_validate(result)
    assert result["status"] == status
    assert result["nextScheduled"] == next_scheduled
    assert result["frequency"] == {"repeat": {"frequency": 1, "period": 1, "periodUnit": "mo"}}
    assert result["primarySource"][0]["who"]["display"].startswith("SAM.gov")


def test_never_screened_exports_nothing_rather_than_a_clear_result() -> None:
    assert screening_verification(PID, Screened(ScreeningFact("sam"), None), TODAY, POLICY) is None


def test_verification_ids_are_stable_and_distinct() -> None:
    assert verification_id("license", PID) == verification_id("license", PID)
    assert verification_id("license", PID) != verification_id("npi", PID)
    assert str(uuid.UUID(verification_id("license", PID))) == verification_id("license", PID)


def test_results_for_a_whole_file_validate() -> None:
    file = PractitionerFile(
        physician=physician(credentialed_on=date(2025, 1, 1)),
        licenses=[lic(), lic(id=uuid.UUID(int=3), state="NV", verified_on=None)],
        screening=[Screened(ScreeningFact("oig_leie", snapshot_loaded_on=TODAY), datetime(2026, 6, 1, tzinfo=UTC))],
        npi_check={"npi_status": "deactivated", "checked_at": datetime(2026, 5, 2, tzinfo=UTC)},
    )
    results = verification_results(file, TODAY, POLICY)
    for result in results:
        VerificationResult.model_validate(result)
    assert [r["status"] for r in results] == ["validated", "attested", "validated", "val-fail"]
    assert instant(datetime(2026, 5, 2, 3, tzinfo=UTC)) == "2026-05-02T03:00:00+00:00"
