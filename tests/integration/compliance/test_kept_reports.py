"""Today's compliance report is kept per process while the records stand (``roster.db.page_cache``, issue 18):
a second read is answered from memory, and every write it reads from (a license, a certification, the
physician, a screening run, a hit decision, a CME credit), through this replica or another, shows in the
next read at once, because each moves the records' counter that every read checks first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from roster import clock
from roster.config import Settings
from roster.db.page_cache import page_cache
from tests import factories
from tests.conftest import Api, TempDatabase
from tests.integration.db.test_page_cache import ok
from tests.integration.keys.test_lifecycle import bearer, replica
from tests.integration.screening.test_routes import FILLER, leie_file, leie_row, upload
from tests.integration.test_compliance import credentialed_physician

PHYSICIANS = "/api/v1/physicians"


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings(required_sources=("oig_leie",))


async def report(api: Api, physician_id: str, client: Any = None, **params: Any) -> dict[str, Any]:
    url = f"{PHYSICIANS}/{physician_id}/compliance"
    if client is None:
        return await ok(await api.get(url, params=params))
    return await ok(await client.get(url, params=params, headers=bearer(api.keys["admin"])))


def check(body: dict[str, Any], name: str) -> bool:
    return next(c["ok"] for c in body["checks"] if c["check"] == name)


async def test_a_second_read_is_kept_and_another_physician_or_day_is_not(api: Api) -> None:
    first, second = await credentialed_physician(api, 1), await credentialed_physician(api, 2)
    cache = page_cache()
    body = await report(api, first["id"])
    hits, misses = cache.hits, cache.misses
    assert await report(api, first["id"]) == body
    assert (cache.hits, cache.misses) == (hits + 1, misses), "answered from the kept report"
    assert (await report(api, second["id"]))["physician_id"] == second["id"]
    assert cache.misses == misses + 1, "another physician is another read"
    with time_machine.travel(clock.now() + timedelta(days=1), tick=False):
        tomorrow = await report(api, first["id"])
    assert tomorrow["as_of"] != body["as_of"] and cache.misses == misses + 2, "another day is another read"
    # A past or future as_of is not today's report: read every time, never kept.
    for as_of in (clock.today() + timedelta(days=400), clock.today() - timedelta(days=1)):
        hits = cache.hits
        await api.get(f"{PHYSICIANS}/{first['id']}/compliance", params={"as_of": as_of.isoformat()})
        await api.get(f"{PHYSICIANS}/{first['id']}/compliance", params={"as_of": as_of.isoformat()})
        assert cache.hits == hits


async def test_every_write_it_reads_from_shows_in_the_next_read(api: Api) -> None:
    doc = await credentialed_physician(api, 1, last_name="Quill")
    pid = doc["id"]
    assert check(await report(api, pid), "oig_exclusion") is False, "never screened"
    await ok(await upload(api, leie_file(*FILLER, leie_row("QUILL", "ADA", dob="19700517"))), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    screened = await report(api, pid)
    assert "screening_pending" in screened["reasons"], "a run"
    await report(api, pid)  # kept
    hits = (await api.get("/api/v1/screening/hits", params={"status": "pending"})).json()["items"]
    decision = {"decision": "dismissed", "note": "checked against the license file"}
    await ok(await api.post(f"/api/v1/screening/hits/{hits[0]['id']}/decision", role="credentialing", json=decision))
    decided = await report(api, pid)
    assert decided["compliant"] and check(decided, "oig_exclusion") is True, "a hit decision"

    await report(api, pid)
    await ok(await api.patch(f"/api/v1/licenses/{doc['license']['id']}", json={"status": "suspended"}))
    assert check(await report(api, pid), "license") is False, "a license update"
    await ok(await api.patch(f"/api/v1/licenses/{doc['license']['id']}", json={"status": "active"}))
    assert check(await report(api, pid), "license") is True
    await ok(await api.delete(f"/api/v1/certifications/{doc['certification']['id']}"), 204)
    assert check(await report(api, pid), "board_certification") is False, "a certification deletion"
    await ok(await api.post(f"{PHYSICIANS}/{pid}/certifications", json=factories.certification()), 201)
    assert check(await report(api, pid), "board_certification") is True
    await ok(await api.patch(f"{PHYSICIANS}/{pid}", json={"irr_passed_on": "2020-01-01"}))
    assert check(await report(api, pid), "irr") is False, "a physician update"

    earned = (await report(api, pid))["cme"]["earned_hours"]
    credit = {"completed_on": clock.today().isoformat(), "activity": "Rounds", "hours": 2.5, "category": "ama_pra_1"}
    await ok(await api.post(f"{PHYSICIANS}/{pid}/cme", role="credentialing", json=credit), 201)
    assert (await report(api, pid))["cme"]["earned_hours"] == earned + 2.5, "a CME credit (not a roster change)"


async def test_a_write_through_one_replica_shows_on_another_at_once(api: Api, settings: Settings) -> None:
    doc = await credentialed_physician(api, 1)
    async with replica(settings, "a") as a, replica(settings, "b") as b:
        for client in (a, b, a, b):
            assert check(await report(api, doc["id"], client), "license") is True
        headers = bearer(api.keys["admin"])
        patch = {"status": "suspended"}
        await ok(await a.patch(f"/api/v1/licenses/{doc['license']['id']}", json=patch, headers=headers))
        assert check(await report(api, doc["id"], b), "license") is False
        credit = {"completed_on": clock.today().isoformat(), "activity": "M&M", "hours": 1, "category": "ama_pra_1"}
        before = (await report(api, doc["id"], b))["cme"]["earned_hours"]
        await ok(await a.post(f"{PHYSICIANS}/{doc['id']}/cme", json=credit, headers=headers), 201)
        assert (await report(api, doc["id"], b))["cme"]["earned_hours"] == before + 1


async def test_bad_input_is_refused_every_time_and_nothing_is_kept(api: Api) -> None:
    doc = await credentialed_physician(api, 1)
    cache = page_cache()
    await report(api, doc["id"])
    kept = len(cache)
    missing = "00000000-0000-4000-8000-000000000000"
    for _ in range(2):
        gone = await api.get(f"{PHYSICIANS}/{missing}/compliance")
        assert gone.status_code == 404 and gone.headers["content-type"].startswith("application/problem+json")
        bad = await api.get(f"{PHYSICIANS}/{doc['id']}/compliance", params={"as_of": "3001-01-01"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "as_of"
        bad = await api.get(f"{PHYSICIANS}/{doc['id']}/compliance", params={"as_of": "not-a-date"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "as_of", bad.text
    assert len(cache) == kept, "a refused read keeps nothing"
