"""The UM decision audit's judgement (issue 15): an assignment's recorded evidence, read back at its ``as_of``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from roster.compliance.facts import CompliancePolicy
from roster.compliance.rules import COMPLIANCE_REASONS
from roster.credentialing.rules import HitAt, evidence_as_of, um_decision_reasons

AS_OF = date(2027, 3, 10)
ASSIGNED = datetime(2027, 3, 10, 15, tzinfo=UTC)
POLICY = CompliancePolicy()
NO_LISTS = CompliancePolicy(required_sources=())


def license(**changes: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "state": "AZ",
        "number": "MD1",
        "status": "active",
        "restricted": False,
        "issued_on": "2015-01-01",
        "expires_on": "2028-01-01",
        **changes,
    }


def certification(**changes: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "board": "ABIM",
        "specialty": "medical_oncology",
        "status": "certified",
        "certified_on": "2012-06-01",
        "expires_on": "2030-12-31",
        "time_unlimited": False,
        "moc_status": "meeting",
        **changes,
    }


def snapshot(source: str, loaded_at: datetime) -> dict[str, Any]:
    return {
        "source": source,
        "snapshot_id": str(uuid.uuid4()),
        "sha256": "0" * 64,
        "loaded_at": loaded_at.isoformat(),
        "run_id": str(uuid.uuid4()),
    }


def evidence(**changes: Any) -> dict[str, Any]:
    fresh = ASSIGNED - timedelta(days=3)
    return {
        "evaluated_at": ASSIGNED.isoformat(),
        "as_of": AS_OF.isoformat(),
        "license": license(),
        "certifications": [certification()],
        "screening": [snapshot(s, fresh) for s in ("oig_leie", "sam", "cms_preclusion")],
        **changes,
    }


def reasons(
    recorded: dict[str, Any],
    *,
    state: str | None = "AZ",
    hits: tuple[HitAt, ...] = (),
    policy: CompliancePolicy = POLICY,
) -> list[str]:
    return um_decision_reasons(recorded, assigned_at=ASSIGNED, required_license_state=state, hits=hits, policy=policy)


def test_sound_evidence_has_no_reasons() -> None:
    assert reasons(evidence()) == []


def test_license_relied_on() -> None:
    assert reasons(evidence(license=None)) == ["no_license_in_state"]
    assert reasons(evidence(license=license(state="NM"))) == ["no_license_in_state"]
    assert reasons(evidence(license=license(state="NM")), state=None) == [], "any US license will do"
    assert reasons(evidence(license=license(expires_on="2027-03-09"))) == ["license_expired"]
    assert reasons(evidence(license=license(expires_on="2027-03-10"))) == [], "valid through its last day"
    assert reasons(evidence(license=license(status="inactive"))) == ["license_expired"]
    assert reasons(evidence(license=license(restricted=True))) == ["license_restricted"]
    assert reasons(evidence(license=license(status="probation"))) == ["license_restricted"]
    assert reasons(evidence(license=license(issued_on="2027-04-01"))) == ["license_expired"], "not yet issued"


def test_certifications_relied_on() -> None:
    assert reasons(evidence(certifications=[])) == ["no_board_certification"]
    assert reasons(evidence(certifications=[certification(expires_on="2027-03-01")])) == ["certification_lapsed"]
    assert reasons(evidence(certifications=[certification(moc_status="not_meeting")])) == ["certification_lapsed"]
    lifelong = certification(time_unlimited=True, expires_on=None, moc_status="not_required")
    assert reasons(evidence(certifications=[certification(expires_on="2027-03-01"), lifelong])) == []


def test_screening_recorded_must_cover_each_required_list_and_be_fresh() -> None:
    only_leie = evidence(screening=[snapshot("oig_leie", ASSIGNED)])
    assert reasons(only_leie) == ["screening_stale"]
    assert reasons(only_leie, policy=CompliancePolicy(required_sources=("oig_leie",))) == []
    stale = ASSIGNED - timedelta(days=POLICY.screening_max_age_days + 1)
    assert reasons(evidence(screening=[snapshot(s, stale) for s in ("oig_leie", "sam", "cms_preclusion")])) == [
        "screening_stale"
    ]
    assert reasons(evidence(screening=[]), policy=NO_LISTS) == []


def test_hits_as_they_stood_when_assigned() -> None:
    before, after = ASSIGNED - timedelta(days=1), ASSIGNED + timedelta(hours=1)
    assert reasons(evidence(), hits=(HitAt("sam", before, before, "confirmed"),)) == ["excluded_sam"]
    assert reasons(evidence(), hits=(HitAt("oig_leie", before, None, "pending"),)) == ["screening_pending"]
    assert reasons(evidence(), hits=(HitAt("oig_leie", before, after, "confirmed"),)) == ["screening_pending"], (
        "decided only afterwards: still undecided when assigned"
    )
    assert reasons(evidence(), hits=(HitAt("cms_preclusion", before, before, "dismissed"),)) == []
    assert reasons(evidence(), hits=(HitAt("sam", after, after, "confirmed"),)) == [], "raised afterwards"
    assert reasons(evidence(), hits=(HitAt("sam", before, before, "confirmed"),), policy=NO_LISTS) == []


def test_malformed_evidence_reads_as_missing_and_never_raises() -> None:
    broken = {"license": {"state": "AZ"}, "certifications": "ABIM", "screening": [1, {"source": "sam"}]}
    assert reasons(broken, policy=NO_LISTS) == ["no_license_in_state", "no_board_certification"]
    assert reasons({}) == ["no_license_in_state", "no_board_certification", "screening_stale"]
    assert evidence_as_of({"as_of": "not a date"}, ASSIGNED) == AS_OF
    assert evidence_as_of({"as_of": "2027-01-02"}, ASSIGNED) == date(2027, 1, 2)


@given(
    expires=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    status=st.sampled_from(["active", "inactive", "expired", "suspended", "revoked", "probation"]),
    restricted=st.booleans(),
    cert_expires=st.none() | st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
)
def test_reasons_are_codes_in_contract_order_and_empty_only_for_a_valid_license_and_certificate(
    expires: date, status: str, restricted: bool, cert_expires: date | None
) -> None:
    recorded = evidence(
        license=license(expires_on=expires.isoformat(), status=status, restricted=restricted),
        certifications=[certification(expires_on=None if cert_expires is None else cert_expires.isoformat())],
    )
    got = reasons(recorded)
    assert got == [r for r in COMPLIANCE_REASONS if r in got]
    license_ok = status == "active" and not restricted and expires >= AS_OF
    cert_ok = cert_expires is None or cert_expires >= AS_OF
    assert (got == []) == (license_ok and cert_ok)
