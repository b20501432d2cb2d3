from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.conftest import Api

PHYSICIANS = "/api/v1/physicians"
LICENSES = "/api/v1/licenses"
CERTIFICATIONS = "/api/v1/certifications"
BASE = "/api/v1/audit"
MISSING = "00000000-0000-4000-8000-000000000000"


def days(n: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()


def assert_problem(response, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    if field is not None:
        assert [e["field"] for e in problem["errors"]] == [field], problem
    return problem


async def events(api: Api, role: str = "auditor", **params: str) -> list[dict]:
    response = await api.get(BASE, role=role, params={"limit": "500", **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def roster_events(api: Api) -> list[dict]:
    """Every event but the creation of the test's own API keys."""
    return [e for e in await events(api) if e["entity"] != "api_key"]


async def create_physician(api: Api, n: int = 1, role: str = "credentialing", **overrides: object) -> dict:
    response = await api.post(PHYSICIANS, role=role, json=factories.physician(n, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def add_license(api: Api, physician_id: str, role: str = "credentialing", **overrides: object) -> dict:
    response = await api.post(f"{PHYSICIANS}/{physician_id}/licenses", role=role, json=factories.license(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def add_certification(api: Api, physician_id: str, role: str = "credentialing", **overrides: object) -> dict:
    response = await api.post(
        f"{PHYSICIANS}/{physician_id}/certifications", role=role, json=factories.certification(**overrides)
    )
    assert response.status_code == 201, response.text
    return response.json()


def one(items: list[dict]) -> dict:
    assert len(items) == 1, items
    return items[0]


async def test_physician_writes_are_audited(api: Api) -> None:
    created = await create_physician(api)
    patched = (await api.patch(f"{PHYSICIANS}/{created['id']}", role="admin", json={"max_open_cases": 3})).json()
    deactivated = (await api.delete(f"{PHYSICIANS}/{created['id']}", role="credentialing")).json()

    trail = await events(api, entity="physician", entity_id=created["id"])
    assert [e["action"] for e in trail] == ["deactivate", "update", "create"], "newest first"
    deactivate, update, create = trail
    assert create["actor"] == "test-credentialing"
    assert create["entity"] == "physician" and create["entity_id"] == created["id"]
    assert create["before"] is None and create["after"] == created
    assert update["actor"] == "test-admin"
    assert update["before"] == created and update["after"] == patched
    assert update["before"]["max_open_cases"] == 20 and update["after"]["max_open_cases"] == 3
    assert deactivate["actor"] == "test-credentialing"
    assert deactivate["before"] == patched and deactivate["after"] == deactivated
    assert deactivate["after"]["status"] == "inactive"
    for event in trail:
        datetime.fromisoformat(event["occurred_at"])
    assert trail[0]["occurred_at"] >= trail[1]["occurred_at"] >= trail[2]["occurred_at"]


async def test_deactivating_twice_records_once(api: Api) -> None:
    created = await create_physician(api)
    await api.delete(f"{PHYSICIANS}/{created['id']}")
    await api.delete(f"{PHYSICIANS}/{created['id']}")
    trail = await events(api, entity="physician", entity_id=created["id"])
    assert [e["action"] for e in trail] == ["deactivate", "create"]


async def test_license_writes_are_audited(api: Api) -> None:
    doc = await create_physician(api)
    created = await add_license(api, doc["id"], number="md7 ")
    patched_response = await api.patch(f"{LICENSES}/{created['id']}", role="admin", json={"status": "suspended"})
    assert patched_response.status_code == 200, patched_response.text
    patched = patched_response.json()
    assert (await api.delete(f"{LICENSES}/{created['id']}", role="credentialing")).status_code == 204

    trail = await events(api, entity="license", entity_id=created["id"])
    assert [e["action"] for e in trail] == ["delete", "update", "create"]
    delete, update, create = trail
    assert {e["entity"] for e in trail} == {"license"}
    assert {e["entity_id"] for e in trail} == {created["id"]}
    assert [e["actor"] for e in trail] == ["test-credentialing", "test-admin", "test-credentialing"]
    assert create["before"] is None and create["after"] == created
    assert create["after"]["number"] == "MD7", "the audit holds the normalized value"
    assert update["before"] == created and update["after"] == patched
    assert update["before"]["status"] == "active" and update["after"]["status"] == "suspended"
    assert delete["before"] == patched and delete["after"] is None


async def test_certification_writes_are_audited(api: Api) -> None:
    doc = await create_physician(api)
    created = await add_certification(api, doc["id"], role="admin", specialty="207RX0202X")
    patched_response = await api.patch(f"{CERTIFICATIONS}/{created['id']}", json={"moc_status": "not_meeting"})
    assert patched_response.status_code == 200, patched_response.text
    patched = patched_response.json()
    assert (await api.delete(f"{CERTIFICATIONS}/{created['id']}", role="credentialing")).status_code == 204

    trail = await events(api, entity="certification", entity_id=created["id"])
    assert [e["action"] for e in trail] == ["delete", "update", "create"]
    delete, update, create = trail
    assert [e["actor"] for e in trail] == ["test-credentialing", "test-admin", "test-admin"]
    assert create["before"] is None and create["after"] == created
    assert create["after"]["specialty"] == "medical_oncology"
    assert update["before"] == created and update["after"] == patched
    assert update["before"]["moc_status"] == "meeting" and update["after"]["moc_status"] == "not_meeting"
    assert delete["before"] == patched and delete["after"] is None


async def test_filters_and_newest_first(api: Api) -> None:
    a = await create_physician(api, 1)
    b = await create_physician(api, 2)
    lic_a = await add_license(api, a["id"], state="AZ")
    lic_b = await add_license(api, b["id"], state="TX")
    cert = await add_certification(api, a["id"])
    await api.patch(f"{LICENSES}/{lic_a['id']}", json={"restricted": True})

    everything = await roster_events(api)
    assert [(e["entity"], e["action"]) for e in everything] == [
        ("license", "update"),
        ("certification", "create"),
        ("license", "create"),
        ("license", "create"),
        ("physician", "create"),
        ("physician", "create"),
    ]
    stamps = [e["occurred_at"] for e in everything]
    assert stamps == sorted(stamps, reverse=True)

    licenses = await events(api, entity="license")
    assert [(e["entity_id"], e["action"]) for e in licenses] == [
        (lic_a["id"], "update"),
        (lic_b["id"], "create"),
        (lic_a["id"], "create"),
    ]
    assert [e["action"] for e in await events(api, entity="license", entity_id=lic_a["id"])] == ["update", "create"]
    assert [e["entity"] for e in await events(api, entity_id=lic_b["id"])] == ["license"]
    assert [e["entity_id"] for e in await events(api, entity="certification")] == [cert["id"]]
    assert [e["entity_id"] for e in await events(api, entity="physician")] == [b["id"], a["id"]]
    assert await events(api, entity="license", entity_id=cert["id"]) == []
    assert await events(api, entity="license", entity_id=MISSING) == []
    assert await events(api, entity="nothing") == []


async def test_pagination_walks_every_event_once_newest_first(api: Api) -> None:
    doc = await create_physician(api)
    lic = await add_license(api, doc["id"])
    for status in ("probation", "active", "suspended", "active", "inactive", "active"):
        response = await api.patch(f"{LICENSES}/{lic['id']}", json={"status": status})
        assert response.status_code == 200, response.text
    expected = await events(api)

    for params in ({}, {"entity": "license", "entity_id": lic["id"]}):
        seen: list[dict] = []
        cursor = None
        while True:
            query = {"limit": "2", **params} | ({"cursor": cursor} if cursor else {})
            response = await api.get(BASE, role="auditor", params=query)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= 2
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        ids = [e["id"] for e in seen]
        assert len(ids) == len(set(ids)), "no event twice"
        assert seen == await events(api, **params), "pages concatenate to the whole list, in order"
    assert len(await events(api, entity="license", entity_id=lic["id"])) == 7
    assert expected == await events(api)


async def test_failed_writes_record_nothing(api: Api) -> None:
    doc = await create_physician(api)
    lic = await add_license(api, doc["id"], state="AZ", number="A1")
    other = await add_license(api, doc["id"], state="AZ", number="A2")
    cert = await add_certification(api, doc["id"])
    before = await events(api)

    physician_url = f"{PHYSICIANS}/{doc['id']}"
    attempts = [
        (await api.post(PHYSICIANS, json=factories.physician(1)), 409),
        (await api.post(PHYSICIANS, json=factories.physician(2, degree="RN")), 422),
        (await api.patch(physician_url, json={"date_of_birth": "2005-01-01"}), 422),
        (await api.post(f"{physician_url}/licenses", json=factories.license("AZ", "a1")), 409),
        (await api.post(f"{physician_url}/licenses", json=factories.license("ZZ", "Z1")), 422),
        (await api.post(f"{physician_url}/licenses", json=factories.license("AZ", "B1", issued_on=days(3))), 422),
        (await api.post(f"{PHYSICIANS}/{MISSING}/licenses", json=factories.license("AZ", "C1")), 404),
        (await api.patch(f"{LICENSES}/{other['id']}", json={"number": "A1"}), 409),
        (await api.patch(f"{LICENSES}/{lic['id']}", json={"expires_on": "2009-01-01"}), 422),
        (await api.patch(f"{LICENSES}/{MISSING}", json={"status": "active"}), 404),
        (await api.delete(f"{LICENSES}/{MISSING}"), 404),
        (await api.post(f"{physician_url}/certifications", json=factories.certification()), 409),
        (await api.post(f"{physician_url}/certifications", json=factories.certification(board="ABOS")), 422),
        (await api.patch(f"{CERTIFICATIONS}/{cert['id']}", json={"time_unlimited": True}), 422),
        (await api.delete(f"{CERTIFICATIONS}/{MISSING}"), 404),
        (await api.post(f"{physician_url}/licenses", role="router", json=factories.license("TX", "T1")), 403),
        (await api.delete(f"{LICENSES}/{lic['id']}", role="auditor"), 403),
    ]
    assert [r.status_code for r, _ in attempts] == [status for _, status in attempts], [r.text for r, _ in attempts]
    assert await events(api) == before, "a failed write records no audit event"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("auditor", 200),
        ("manager", 200),
        ("credentialing", 403),
        ("router", 403),
    ],
)
async def test_who_may_read_the_audit_log(api: Api, role: str, status: int) -> None:
    response = await api.get(BASE, role=role)
    assert response.status_code == status, response.text


async def test_audit_needs_a_key(api: Api) -> None:
    response = await api.client.get(BASE)
    assert_problem(response, 401)


async def test_key_creation_is_audited(api: Api) -> None:
    keys = await events(api, entity="api_key")
    assert len(keys) == 5
    assert {e["after"]["name"] for e in keys} == {
        "test-admin",
        "test-credentialing",
        "test-router",
        "test-manager",
        "test-auditor",
    }
    assert all(e["action"] == "create" and e["before"] is None for e in keys)
    assert all("key_hash" not in e["after"] for e in keys), "no secrets in the audit log"


def _cursor(*key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"entity": "x" * 33}, "entity"),
        ({"entity_id": "x" * 65}, "entity_id"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "WzFd"}, "cursor"),
        ({"cursor": _cursor("not-a-time", MISSING)}, "cursor"),
        ({"cursor": _cursor("2024-01-01T00:00:00+00:00", "nope")}, "cursor"),
    ],
)
async def test_bad_parameters_are_422(api: Api, params: dict, field: str) -> None:
    response = await api.get(BASE, role="auditor", params=params)
    assert_problem(response, 422, field)
