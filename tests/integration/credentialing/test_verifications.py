"""Verifications: one element of a physician's file checked at a source; verified_by is the caller."""

from __future__ import annotations

from datetime import timedelta

import pytest

from roster.audit.tables import AuditEvent
from roster.credentialing.tables import Verification
from tests.conftest import Api
from tests.integration.credentialing.helpers import (
    MISSING,
    PDF,
    PHYSICIANS,
    TODAY,
    ago,
    ok,
    physician,
    problem,
    upload,
    verification_body,
)


async def test_record_and_list_with_evidence(api: Api) -> None:
    doc = await physician(api)
    evidence = await ok(await upload(api, PDF), 201)
    url = f"{PHYSICIANS}/{doc['id']}/verifications"
    body = verification_body("malpractice_history", ago(3), source="NPDB", method="npdb", evidence_id=evidence["id"])
    created = await ok(await api.post(url, role="credentialing", json=body), 201)
    assert created["physician_id"] == doc["id"]
    assert created["element"] == "malpractice_history" and created["method"] == "npdb" and created["source"] == "NPDB"
    assert created["verified_on"] == ago(3).isoformat() and created["outcome"] == "verified"
    assert created["verified_by"] == "test-credentialing", "the caller, as the audit log names it"
    assert created["evidence_id"] == evidence["id"]
    assert created["evidence"] == evidence

    plain = await ok(await api.post(url, role="admin", json=verification_body("license", ago(20))), 201)
    assert plain["evidence_id"] is None and plain["evidence"] is None and plain["verified_by"] == "test-admin"

    for role in ("admin", "credentialing", "manager", "auditor"):
        listed = await ok(await api.get(url, role=role))
        assert listed == {"items": [plain, created], "next_cursor": None}, "oldest verified_on first"

    [event] = await AuditEvent.select().where(AuditEvent.entity_id == created["id"]).output(load_json=True).run()
    assert event["entity"] == "verification" and event["actor"] == "test-credentialing"
    assert event["after"]["element"] == "malpractice_history"


async def test_pagination(api: Api) -> None:
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/verifications"
    for days in (5, 4, 3):
        await ok(await api.post(url, json=verification_body("sanctions", ago(days))), 201)
    first = await ok(await api.get(url, params={"limit": 2}))
    assert [v["verified_on"] for v in first["items"]] == [ago(5).isoformat(), ago(4).isoformat()]
    second = await ok(await api.get(url, params={"limit": 2, "cursor": first["next_cursor"]}))
    assert [v["verified_on"] for v in second["items"]] == [ago(3).isoformat()] and second["next_cursor"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"element": "diploma"}, "element"),
        ({"outcome": "ok"}, "outcome"),
        ({"method": "fax"}, "method"),
        ({"source": ""}, "source"),
        ({"source": "   "}, "source"),
        ({"source": "x" * 101}, "source"),
        ({"verified_on": "2026-02-30"}, "verified_on"),
        ({"verified_on": (TODAY + timedelta(days=1)).isoformat()}, "verified_on"),
        ({"verified_on": "1960-01-01"}, "verified_on"),  # before the physician was born
        ({"evidence_id": MISSING}, "evidence_id"),
        ({"evidence_id": "not-a-uuid"}, "evidence_id"),
        ({"verified_by": "someone else"}, "verified_by"),  # the caller is the verifier
    ],
)
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(api: Api, overrides: dict, field: str) -> None:
    doc = await physician(api)
    body = {**verification_body(), **overrides}
    problem(await api.post(f"{PHYSICIANS}/{doc['id']}/verifications", role="credentialing", json=body), 422, field)
    assert await Verification.count().run() == 0
    assert await AuditEvent.count().where(AuditEvent.entity == "verification").run() == 0


async def test_a_missing_field_is_422(api: Api) -> None:
    doc = await physician(api)
    body = verification_body()
    del body["method"]
    problem(await api.post(f"{PHYSICIANS}/{doc['id']}/verifications", json=body), 422, "method")


async def test_unknown_physician_is_404(api: Api) -> None:
    url = f"{PHYSICIANS}/{MISSING}/verifications"
    problem(await api.post(url, role="credentialing", json=verification_body()), 404)
    problem(await api.get(url), 404)


async def test_roles(api: Api) -> None:
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/verifications"
    for role in ("router", "manager", "auditor"):
        problem(await api.post(url, role=role, json=verification_body()), 403)
    problem(await api.get(url, role="router"), 403)
    assert await Verification.count().run() == 0
