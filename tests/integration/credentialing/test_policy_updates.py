"""Policy updates and reviewers' attestations: counts among active physicians, overdue the day after
attest_by, one attestation per physician and update."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from roster.audit.tables import AuditEvent
from roster.credentialing.tables import PolicyAttestation, PolicyUpdate
from tests.conftest import Api
from tests.integration.credentialing.helpers import API, MISSING, PHYSICIANS, TODAY, ago, ok, physician, problem

UPDATES = f"{API}/policy-updates"
READERS = ("admin", "credentialing", "manager", "auditor")


def update_body(effective_on: date | None = None, attest_by: date | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Oncology drug coverage policy, 2027 Q1 revision",
        "effective_on": (effective_on or ago(30)).isoformat(),
        "attest_by": (attest_by or ago(30) + timedelta(days=30)).isoformat(),
    }
    body.update(overrides)
    return body


async def publish(api: Api, role: str = "manager", **kwargs: Any) -> dict[str, Any]:
    return await ok(await api.post(UPDATES, role=role, json=update_body(**kwargs)), 201)


async def attest(api: Api, update_id: str, physician_id: str, attested_on: date, role: str = "credentialing") -> Any:
    body = {"physician_id": physician_id, "attested_on": attested_on.isoformat()}
    return await api.post(f"{UPDATES}/{update_id}/attestations", role=role, json=body)


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def test_publish_attest_and_count_among_active_physicians(api: Api) -> None:
    a, b, c = [await physician(api, n) for n in (1, 2, 3)]
    gone = await physician(api, 4)
    await ok(await api.delete(f"{PHYSICIANS}/{gone['id']}"))

    created = await publish(api, title="  Imaging policy  ", effective_on=ago(20), attest_by=ago(5))
    assert created["title"] == "Imaging policy" and created["created_by"] == "test-manager"
    assert created["effective_on"] == ago(20).isoformat() and created["attest_by"] == ago(5).isoformat()
    assert (created["attested"], created["outstanding"]) == (0, 3)
    [event] = await AuditEvent.select().where(AuditEvent.entity == "policy_update").run()
    assert event["action"] == "create" and event["actor"] == "test-manager" and event["entity_id"] == created["id"]

    url = f"{UPDATES}/{created['id']}"
    first = await ok(await attest(api, created["id"], a["id"], ago(10)), 201)
    assert first["policy_update_id"] == created["id"] and first["physician_id"] == a["id"]
    assert first["attested_on"] == ago(10).isoformat() and first["recorded_by"] == "test-credentialing"
    await ok(await attest(api, created["id"], b["id"], ago(3), role="manager"), 201)
    # An inactive physician's attestation is on file but counts neither way.
    await ok(await attest(api, created["id"], gone["id"], ago(9), role="admin"), 201)
    assert await AuditEvent.count().where(AuditEvent.entity == "policy_attestation").run() == 3

    for role in READERS:
        doc = await ok(await api.get(url, role=role))
        assert (doc["attested"], doc["outstanding"]) == (2, 1)
        listed = await ok(await api.get(f"{url}/attestations", role=role))
        assert [x["physician_id"] for x in listed["items"]] == [a["id"], gone["id"], b["id"]]
        assert listed["items"][0] == first and listed["next_cursor"] is None
    [in_list] = (await ok(await api.get(UPDATES)))["items"]
    assert in_list == {**created, "attested": 2, "outstanding": 1}

    # A new reviewer is outstanding; deactivating one who attested moves them out of both counts.
    await physician(api, 5)
    await ok(await api.delete(f"{PHYSICIANS}/{a['id']}"))
    doc = await ok(await api.get(url))
    assert (doc["attested"], doc["outstanding"]) == (1, 2)
    assert c["status"] == "active"


async def test_list_is_paginated_oldest_effective_first(api: Api) -> None:
    ids = [(await publish(api, effective_on=ago(n), attest_by=ago(n - 5)))["id"] for n in (40, 60, 50)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await ok(await api.get(UPDATES, role="auditor", params=params))
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids[1], ids[2], ids[0]]
    problem(await api.get(UPDATES, params={"cursor": "nonsense"}), 422, "cursor")
    problem(await api.get(UPDATES, params={"limit": 501}), 422, "limit")


async def test_overdue_on_the_day_after_attest_by(api: Api) -> None:
    fixed = {"credentialed_on": "2020-01-01", "irr_passed_on": "2020-01-01"}
    early, late, never = [await physician(api, n, **fixed) for n in (1, 2, 3)]
    effective_on, attest_by = date(2027, 2, 1), date(2027, 3, 1)
    with time_machine.travel(at_noon(date(2027, 1, 20)), tick=False):
        upcoming = await publish(api, effective_on=date(2027, 4, 1), attest_by=date(2027, 4, 30), title="Later")
        update = await publish(api, effective_on=effective_on, attest_by=attest_by, title="Now")
    with time_machine.travel(at_noon(date(2027, 2, 15)), tick=False):
        await ok(await attest(api, update["id"], early["id"], date(2027, 2, 15)), 201)

    def status(doc: dict[str, Any]) -> list[tuple[str, str | None, bool]]:
        return [(s["title"], s["attested_on"], s["overdue"]) for s in doc["items"]]

    async def statuses(day: date, who: dict[str, Any]) -> list[tuple[str, str | None, bool]]:
        with time_machine.travel(at_noon(day), tick=False):
            return status(await ok(await api.get(f"{PHYSICIANS}/{who['id']}/attestations", role="auditor")))

    # On the attest-by day nobody is overdue yet; the day after, whoever has not attested is.
    assert await statuses(attest_by, never) == [("Now", None, False), ("Later", None, False)]
    assert await statuses(attest_by + timedelta(days=1), never) == [("Now", None, True), ("Later", None, False)]
    assert await statuses(attest_by + timedelta(days=1), early) == [
        ("Now", "2027-02-15", False),
        ("Later", None, False),
    ]
    # Attesting late clears it.
    with time_machine.travel(at_noon(date(2027, 3, 10)), tick=False):
        await ok(await attest(api, update["id"], late["id"], date(2027, 3, 9)), 201)
    assert await statuses(date(2027, 3, 10), late) == [("Now", "2027-03-09", False), ("Later", None, False)]
    assert await statuses(date(2027, 5, 1), late) == [("Now", "2027-03-09", False), ("Later", None, True)]
    full = await ok(await api.get(f"{PHYSICIANS}/{late['id']}/attestations"))
    assert full["items"][0] == {
        "policy_update_id": update["id"],
        "title": "Now",
        "attest_by": "2027-03-01",
        "attested_on": "2027-03-09",
        "overdue": False,
    }
    assert upcoming["id"] == full["items"][1]["policy_update_id"]


async def test_a_physician_without_updates_has_an_empty_list(api: Api) -> None:
    doc = await physician(api)
    assert await ok(await api.get(f"{PHYSICIANS}/{doc['id']}/attestations")) == {"items": []}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"effective_on": "2027-02-30"}, "effective_on"),
        ({"attest_by": (ago(30) - timedelta(days=1)).isoformat()}, "attest_by"),
        ({"attest_by": "soon"}, "attest_by"),
        ({"published": True}, "published"),
    ],
)
async def test_bad_update_is_422_naming_the_field_and_writes_nothing(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    problem(await api.post(UPDATES, role="manager", json={**update_body(), **overrides}), 422, field)
    body = update_body()
    del body["attest_by"]
    problem(await api.post(UPDATES, json=body), 422, "attest_by")
    assert await PolicyUpdate.count().run() == 0
    assert await AuditEvent.count().where(AuditEvent.entity == "policy_update").run() == 0


async def test_bounds_are_accepted(api: Api) -> None:
    same_day = await publish(api, title="x" * 200, effective_on=ago(1), attest_by=ago(1))
    assert same_day["attest_by"] == same_day["effective_on"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"attested_on": (TODAY + timedelta(days=1)).isoformat()}, "attested_on"),
        ({"attested_on": ago(31).isoformat()}, "attested_on"),
        ({"attested_on": "yesterday"}, "attested_on"),
        ({"physician_id": MISSING}, "physician_id"),
        ({"physician_id": "not-a-uuid"}, "physician_id"),
        ({"physician_id": None}, "physician_id"),
        ({"note": "read it"}, "note"),
    ],
)
async def test_bad_attestation_is_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    doc = await physician(api)
    update = await publish(api, effective_on=ago(30), attest_by=ago(10))
    full = {"physician_id": doc["id"], "attested_on": ago(30).isoformat(), **body}
    problem(await api.post(f"{UPDATES}/{update['id']}/attestations", json=full), 422, field)
    assert await PolicyAttestation.count().run() == 0


async def test_attesting_twice_is_409_naming_the_physician(api: Api) -> None:
    doc = await physician(api)
    update = await publish(api)
    await ok(await attest(api, update["id"], doc["id"], ago(10)), 201)
    problem(await attest(api, update["id"], doc["id"], ago(5), role="manager"), 409, "physician_id")
    assert await PolicyAttestation.count().run() == 1
    assert await AuditEvent.count().where(AuditEvent.entity == "policy_attestation").run() == 1
    # Another update is another attestation.
    other = await publish(api, title="Another")
    await ok(await attest(api, other["id"], doc["id"], ago(5)), 201)


async def test_unknown_update_or_physician_is_404(api: Api) -> None:
    doc = await physician(api)
    problem(await api.get(f"{UPDATES}/{MISSING}"), 404)
    problem(await api.get(f"{UPDATES}/{MISSING}/attestations"), 404)
    problem(await attest(api, MISSING, doc["id"], ago(1)), 404)
    problem(await api.get(f"{PHYSICIANS}/{MISSING}/attestations"), 404)
    problem(await api.get(f"{UPDATES}/not-a-uuid"), 404)


async def test_roles(api: Api) -> None:
    doc = await physician(api)
    update = await publish(api)
    for role in ("credentialing", "router", "auditor"):
        problem(await api.post(UPDATES, role=role, json=update_body()), 403)
    for role in ("router", "auditor"):
        problem(await attest(api, update["id"], doc["id"], ago(1), role=role), 403)
    for url in (UPDATES, f"{UPDATES}/{update['id']}", f"{UPDATES}/{update['id']}/attestations"):
        problem(await api.get(url, role="router"), 403)
    problem(await api.get(f"{PHYSICIANS}/{doc['id']}/attestations", role="router"), 403)
    assert await PolicyUpdate.count().run() == 1 and await PolicyAttestation.count().run() == 0
