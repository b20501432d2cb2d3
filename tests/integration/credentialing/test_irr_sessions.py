"""IRR sessions: passed at or above the mark; irr_passed_on derived from the latest pass."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from roster.credentialing.tables import IrrSession
from tests.conftest import Api
from tests.integration.credentialing.helpers import MISSING, PHYSICIANS, TODAY, ago, ok, physician, problem


def session(
    taken_on: date | None = None, score: float = 90, pass_mark: float = 80, case_set: str = "oncology-2027-q1"
) -> dict:
    return {"taken_on": (taken_on or ago(1)).isoformat(), "case_set": case_set, "score": score, "pass_mark": pass_mark}


async def irr_passed_on(api: Api, physician_id: str) -> str | None:
    return (await ok(await api.get(f"{PHYSICIANS}/{physician_id}")))["irr_passed_on"]


async def test_a_pass_sets_irr_passed_on_and_a_failure_does_not(api: Api) -> None:
    doc = await physician(api, irr_passed_on=None)
    url = f"{PHYSICIANS}/{doc['id']}/irr-sessions"
    failed = await ok(await api.post(url, role="credentialing", json=session(ago(60), score=79.5)), 201)
    assert failed["passed"] is False and failed["score"] == 79.5 and failed["pass_mark"] == 80
    assert failed["created_by"] == "test-credentialing" and failed["case_set"] == "oncology-2027-q1"
    assert await irr_passed_on(api, doc["id"]) is None

    passed = await ok(await api.post(url, role="credentialing", json=session(ago(30), score=80, pass_mark=80)), 201)
    assert passed["passed"] is True, "the pass mark itself passes"
    assert await irr_passed_on(api, doc["id"]) == ago(30).isoformat()

    await ok(await api.post(url, role="credentialing", json=session(ago(10), score=50)), 201)
    assert await irr_passed_on(api, doc["id"]) == ago(30).isoformat(), "a later failure keeps the last pass"
    await ok(await api.post(url, role="credentialing", json=session(ago(45), score=99)), 201)
    assert await irr_passed_on(api, doc["id"]) == ago(30).isoformat(), "an older pass does not move it back"

    for role in ("admin", "credentialing", "manager", "auditor"):
        listed = await ok(await api.get(url, role=role))
        assert [s["taken_on"] for s in listed["items"]] == [ago(n).isoformat() for n in (60, 45, 30, 10)]
    assert listed["items"][0] == failed

    # The field stays writable (imports, PATCH) as before.
    patched = await api.patch(f"{PHYSICIANS}/{doc['id']}", json={"irr_passed_on": ago(5).isoformat()})
    assert patched.status_code == 200 and patched.json()["irr_passed_on"] == ago(5).isoformat()


async def test_a_pass_replaces_an_imported_date(api: Api) -> None:
    doc = await physician(api)
    assert doc["irr_passed_on"] == ago(100).isoformat()
    url = f"{PHYSICIANS}/{doc['id']}/irr-sessions"
    await ok(await api.post(url, json=session(ago(7), score=88.8, pass_mark=85.5)), 201)
    assert await irr_passed_on(api, doc["id"]) == ago(7).isoformat()


async def test_fractional_scores_read_back_as_sent(api: Api) -> None:
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/irr-sessions"
    created = await ok(await api.post(url, json=session(score=85.7, pass_mark=85.71)), 201)
    assert created["passed"] is False
    [listed] = (await ok(await api.get(url)))["items"]
    assert listed["score"] == 85.7 and listed["pass_mark"] == 85.71 and listed == created


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"score": 100.5}, "score"),
        ({"score": -1}, "score"),
        ({"pass_mark": 101}, "pass_mark"),
        ({"pass_mark": -0.1}, "pass_mark"),
        ({"case_set": ""}, "case_set"),
        ({"taken_on": (TODAY + timedelta(days=1)).isoformat()}, "taken_on"),
        ({"taken_on": "1960-01-01"}, "taken_on"),
        ({"passed": True}, "passed"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(api: Api, overrides: dict, field: str) -> None:
    doc = await physician(api)
    problem(await api.post(f"{PHYSICIANS}/{doc['id']}/irr-sessions", json={**session(), **overrides}), 422, field)
    assert await IrrSession.count().run() == 0
    assert await irr_passed_on(api, doc["id"]) == doc["irr_passed_on"]


async def test_bounds_are_accepted(api: Api) -> None:
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/irr-sessions"
    assert (await ok(await api.post(url, json=session(score=0, pass_mark=0)), 201))["passed"] is True
    assert (await ok(await api.post(url, json=session(score=100, pass_mark=100)), 201))["passed"] is True


async def test_unknown_physician_is_404(api: Api) -> None:
    url = f"{PHYSICIANS}/{MISSING}/irr-sessions"
    problem(await api.post(url, json=session()), 404)
    problem(await api.get(url), 404)


async def test_roles(api: Api) -> None:
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/irr-sessions"
    for role in ("router", "manager", "auditor"):
        problem(await api.post(url, role=role, json=session()), 403)
    problem(await api.get(url, role="router"), 403)
    assert await IrrSession.count().run() == 0
