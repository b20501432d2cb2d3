"""Checks Roster performs are recorded in the credentialing file automatically (issue 15): a license or
certification saved with ``verified_on``, and each clean screening run, in the same transaction."""

from __future__ import annotations

from typing import Any

from roster import clock
from roster.audit.tables import AuditEvent
from roster.credentialing.tables import Verification
from tests import factories
from tests.conftest import Api
from tests.integration.credentialing.helpers import PHYSICIANS, ago, ok, physician, problem
from tests.integration.screening.test_routes import FILLER, leie_file, leie_row, upload


async def verifications(api: Api, physician_id: str) -> list[dict[str, Any]]:
    return (await ok(await api.get(f"{PHYSICIANS}/{physician_id}/verifications", role="auditor")))["items"]


async def test_a_verified_license_is_a_license_verification_by_the_caller(api: Api) -> None:
    doc = await physician(api)
    body = factories.license(verified_on=ago(5).isoformat(), verification_source="Arizona Medical Board")
    lic = await ok(await api.post(f"{PHYSICIANS}/{doc['id']}/licenses", json=body, role="credentialing"), 201)
    [recorded] = await verifications(api, doc["id"])
    assert (recorded["element"], recorded["source"], recorded["method"], recorded["outcome"]) == (
        "license",
        "Arizona Medical Board",
        "primary_source",
        "verified",
    )
    assert recorded["verified_on"] == ago(5).isoformat() and recorded["verified_by"] == "test-credentialing"
    events = await AuditEvent.select(AuditEvent.entity).where(AuditEvent.entity_id == lic["id"]).run()
    assert [e["entity"] for e in events] == ["license"], "one write, one audit event: the license's"

    url = f"/api/v1/licenses/{lic['id']}"
    await ok(await api.patch(url, json={"number": "MD77777"}))
    await ok(await api.patch(url, json={"verified_on": ago(5).isoformat()}))
    assert len(await verifications(api, doc["id"])) == 1, "same element, source and day: no duplicate"
    await ok(await api.patch(url, json={"verified_on": ago(1).isoformat()}))
    await ok(await api.patch(url, json={"verification_source": None}))
    listed = await verifications(api, doc["id"])
    assert sorted((v["verified_on"], v["source"], v["verified_by"]) for v in listed) == [
        (ago(5).isoformat(), "Arizona Medical Board", "test-credentialing"),
        (ago(1).isoformat(), "AZ medical licensing board", "test-admin"),
        (ago(1).isoformat(), "Arizona Medical Board", "test-admin"),
    ]


async def test_no_verified_on_records_nothing_and_bad_input_writes_nothing(api: Api) -> None:
    doc = await physician(api)
    body = factories.license(verified_on=None, verification_source=None)
    await ok(await api.post(f"{PHYSICIANS}/{doc['id']}/licenses", json=body), 201)
    future = factories.license("NM", "NM1", verified_on=clock.today().replace(year=clock.today().year + 1).isoformat())
    problem(await api.post(f"{PHYSICIANS}/{doc['id']}/licenses", json=future), 422, "verified_on")
    bad_cert = factories.certification(verified_on=ago(2).isoformat(), board="NOPE")
    assert (await api.post(f"{PHYSICIANS}/{doc['id']}/certifications", json=bad_cert)).status_code == 422
    assert await verifications(api, doc["id"]) == []
    assert await Verification.count().run() == 0


async def test_a_verified_certification_is_a_board_certification_verification(api: Api) -> None:
    doc = await physician(api)
    body = factories.certification(verified_on=ago(3).isoformat())
    cert = await ok(await api.post(f"{PHYSICIANS}/{doc['id']}/certifications", json=body), 201)
    [recorded] = await verifications(api, doc["id"])
    assert (recorded["element"], recorded["source"], recorded["verified_on"]) == (
        "board_certification",
        "ABIM",
        ago(3).isoformat(),
    )
    await ok(await api.patch(f"/api/v1/certifications/{cert['id']}", json={"verification_source": "ABMS CertiFacts"}))
    assert sorted(v["source"] for v in await verifications(api, doc["id"])) == ["ABIM", "ABMS CertiFacts"]


async def test_a_clean_screening_run_is_a_sanctions_verification_once_a_day(api: Api) -> None:
    listed = await physician(api, 1, first_name="Robert", last_name="Quill", date_of_birth="1971-04-02")
    clean = await physician(api, 2, first_name="Ann", last_name="Clear")
    snapshot = await ok(await upload(api, leie_file(*FILLER, leie_row("QUILL", "ROBERT", dob="19710402"))), 201)
    run = await ok(await api.post("/api/v1/screening/runs", json={}, role="credentialing"), 201)
    assert run["new_hits"] == 1
    [recorded] = await verifications(api, clean["id"])
    loaded_on = snapshot["loaded_at"][:10]
    assert (recorded["element"], recorded["source"], recorded["method"], recorded["outcome"]) == (
        "sanctions",
        f"OIG LEIE {loaded_on}",
        "primary_source",
        "verified",
    )
    assert recorded["verified_on"] == clock.today().isoformat() and recorded["verified_by"] == "test-credentialing"
    assert await verifications(api, listed["id"]) == [], "a hit is a lead for a person, not a clean check"

    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert len(await verifications(api, clean["id"])) == 1, "same list, same day: recorded once"
