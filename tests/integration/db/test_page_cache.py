"""The list pages kept per process (``roster.db.page_cache``, issue 18): a second identical read is
answered from memory, and every committed write of physician, license or certification records (a roster
change or not, through this replica or another) shows in the next read at once, because it moves the
records' counter (``roster_version`` row ``RECORDS``) that every read checks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import time_machine

from roster import clock
from roster.config import Settings
from roster.db import write_tx
from roster.db.page_cache import page_cache
from roster.db.tx import mark_records_written
from roster.history.repository import records_version
from roster.history.tables import RECORDS, ROSTER, RosterVersion
from roster.keys.service import create_key
from roster.nppes import service as nppes
from roster.physicians.tables import Physician
from tests import factories
from tests.conftest import Api
from tests.integration.keys.test_lifecycle import bearer, replica
from tests.integration.nppes.test_verify_file import nppes_file

PHYSICIANS = "/api/v1/physicians"
LICENSES = "/api/v1/licenses"
CERTIFICATIONS = "/api/v1/certifications"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def physician(api: Api, n: int, **overrides: Any) -> dict[str, Any]:
    return await ok(await api.post(PHYSICIANS, json=factories.physician(n, **overrides)), 201)


async def license_of(api: Api, physician_id: str, state: str = "AZ", number: str = "MD1") -> dict[str, Any]:
    body = factories.license(state, number)
    return await ok(await api.post(f"{PHYSICIANS}/{physician_id}/licenses", json=body), 201)


async def listed(api: Api, url: str, **params: Any) -> list[dict[str, Any]]:
    return (await ok(await api.get(url, params=params)))["items"]


async def roster_version() -> int:
    row = await RosterVersion.select(RosterVersion.version).where(RosterVersion.id == ROSTER).first().run()
    return int(row["version"])


async def test_a_second_identical_read_is_kept_and_a_changed_query_is_not(api: Api) -> None:
    for n in (1, 2, 3):
        await license_of(api, (await physician(api, n))["id"], number=f"MD{n}")
    cache = page_cache()
    first = await ok(await api.get(PHYSICIANS, params={"limit": 2}))
    hits, misses = cache.hits, cache.misses
    assert await ok(await api.get(PHYSICIANS, params={"limit": 2})) == first
    assert (cache.hits, cache.misses) == (hits + 1, misses), "answered from the kept page"
    changed = [
        {"limit": 3},
        {"limit": 2, "cursor": first["next_cursor"]},
        {"limit": 2, "state": "AZ"},
        {"limit": 2, "line_of_business": "commercial"},
        {"limit": 2, "q": "Reviewer0002"},
    ]
    for params in changed:
        await ok(await api.get(PHYSICIANS, params=params))
    assert (cache.hits, cache.misses) == (hits + 1, misses + len(changed)), "each a query of its own"
    for url, params in ((LICENSES, {"state": "AZ"}), (CERTIFICATIONS, {})):
        before = await ok(await api.get(url, params=params))
        misses = cache.misses
        assert await ok(await api.get(url, params=params)) == before
        assert cache.misses == misses, f"{url} kept"
    # Another day is another query (expiring_within_days counts from today).
    misses = cache.misses
    with time_machine.travel(clock.now() + timedelta(days=1), tick=False):
        await ok(await api.get(LICENSES, params={"state": "AZ"}))
    assert cache.misses == misses + 1
    # Bad input is refused as before, every time: a page is only kept for inputs that passed the checks.
    for url, params, field in (
        (PHYSICIANS, {"state": "ZZ", "cursor": "not-a-cursor"}, "state"),
        (PHYSICIANS, {"specialty": "astrology"}, "specialty"),
        (LICENSES, {"state": "ZZ"}, "state"),
        (LICENSES, {"cursor": "not-a-cursor"}, "cursor"),
        (CERTIFICATIONS, {"specialty": "astrology"}, "specialty"),
    ):
        for _ in range(2):
            bad = await api.get(url, params=params)
            assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == field, (url, params)


async def test_every_record_write_shows_in_the_next_read(api: Api) -> None:
    first = await physician(api, 1)
    lic = await license_of(api, first["id"])
    assert [p["id"] for p in await listed(api, PHYSICIANS)] == [first["id"]]
    assert [p["id"] for p in await listed(api, PHYSICIANS)] == [first["id"]]  # kept
    second = await physician(api, 2)
    assert [p["id"] for p in await listed(api, PHYSICIANS)] == [first["id"], second["id"]], "a creation"

    assert [x["status"] for x in await listed(api, LICENSES, state="AZ")] == ["active"]
    await ok(await api.patch(f"{LICENSES}/{lic['id']}", json={"status": "suspended"}))
    assert [x["status"] for x in await listed(api, LICENSES, state="AZ")] == ["suspended"], "a license update"
    assert [p["id"] for p in await listed(api, PHYSICIANS, state="AZ")] == [first["id"]]
    await ok(await api.delete(f"{LICENSES}/{lic['id']}"), 204)
    assert await listed(api, LICENSES, state="AZ") == [], "a license deletion"
    assert await listed(api, PHYSICIANS, state="AZ") == [], "the state filter reads licenses"

    assert [p["status"] for p in await listed(api, PHYSICIANS, status="active")] == ["active", "active"]
    await ok(await api.delete(f"{PHYSICIANS}/{second['id']}"))
    assert [p["id"] for p in await listed(api, PHYSICIANS, status="active")] == [first["id"]], "a deactivation"
    await ok(await api.patch(f"{PHYSICIANS}/{first['id']}", json={"last_name": "Zed"}))
    assert [p["last_name"] for p in await listed(api, PHYSICIANS, status="active")] == ["Zed"], "a physician update"


async def test_a_kept_page_is_not_changed_by_its_readers(api: Api) -> None:
    await physician(api, 1)
    await physician(api, 2)
    from roster.physicians import service

    page = await service.list_page(service.RosterFilters(), cursor=None, limit=1)
    page.items.clear()
    page.next_cursor = None
    again = await service.list_page(service.RosterFilters(), cursor=None, limit=1)
    assert len(again.items) == 1 and again.next_cursor is not None


async def test_an_nppes_check_that_only_moves_npi_checked_on_shows_in_the_next_read(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    created = await physician(api, 1)
    sample = nppes_file(tmp_path / "npidata_pfile_20261102-20261108.csv", {created["npi"]: ""})
    await nppes.verify_file(settings, sample, full=False)
    # As if checked yesterday (written behind the app's back, then read into a kept page).
    yesterday = clock.today() - timedelta(days=1)
    await Physician.update({Physician.npi_checked_on: yesterday}).where(Physician.npi == created["npi"]).run()
    async with write_tx(roster_change=False):
        mark_records_written()
    assert [p["npi_checked_on"] for p in await listed(api, PHYSICIANS)] == [yesterday.isoformat()]
    misses = page_cache().misses
    assert [p["npi_checked_on"] for p in await listed(api, PHYSICIANS)] == [yesterday.isoformat()]
    assert page_cache().misses == misses, "kept"

    roster, records = await roster_version(), await records_version()
    counts = await nppes.verify_file(settings, sample, full=False)
    assert counts["changed"] == 0, "the status stood: not a roster change"
    assert await roster_version() == roster and await records_version() == (records or 0) + 1
    listed_now = await listed(api, PHYSICIANS)
    assert [(p["npi_status"], p["npi_checked_on"]) for p in listed_now] == [("active", clock.today().isoformat())]


async def test_a_write_through_one_replica_shows_on_another_at_once(api: Api, settings: Settings) -> None:
    """Both replicas run in this process and share its engine (see ``tests/integration/keys/test_replicas``);
    no write tells the pages anything, so what keeps them current is the counter read on each request."""
    first = await physician(api, 1)
    async with replica(settings, "a") as a, replica(settings, "b") as b:
        headers = bearer(api.keys["admin"])
        for client in (a, b, a, b):
            page = await ok(await client.get(PHYSICIANS, params={"state": "AZ"}, headers=headers))
            assert page["items"] == []
        await ok(await a.post(f"{PHYSICIANS}/{first['id']}/licenses", json=factories.license(), headers=headers), 201)
        page = await ok(await b.get(PHYSICIANS, params={"state": "AZ"}, headers=headers))
        assert [p["id"] for p in page["items"]] == [first["id"]]
        lics = await ok(await b.get(LICENSES, params={"state": "AZ"}, headers=headers))
        assert len(lics["items"]) == 1
        await ok(await a.patch(f"{LICENSES}/{lics['items'][0]['id']}", json={"status": "expired"}, headers=headers))
        lics = await ok(await b.get(LICENSES, params={"state": "AZ"}, headers=headers))
        assert [x["status"] for x in lics["items"]] == ["expired"]


async def test_the_records_counter_moves_for_record_writes_only(api: Api) -> None:
    start = await records_version()
    assert start is not None
    await create_key(name="another", role="auditor", actor="test")  # a key: not a record
    async with write_tx(roster_change=False):  # an alert or job run's transaction, writing no record
        pass
    assert await records_version() == start
    async with write_tx(roster_change=False):
        mark_records_written()
    assert await records_version() == start + 1, "records only, not a roster change"
    roster = await roster_version()
    created = await physician(api, 1)
    assert await records_version() == start + 2 and await roster_version() == roster + 1
    await ok(await api.patch(f"{PHYSICIANS}/{created['id']}", json={"first_name": "Bea"}))
    assert await records_version() == start + 3, "one bump per transaction"


async def test_without_the_counter_row_nothing_is_kept(api: Api) -> None:
    await physician(api, 1)
    version = await records_version()
    assert version is not None
    await RosterVersion.delete().where(RosterVersion.id == RECORDS).run()
    try:
        cache = page_cache()
        uncached = cache.uncached
        for _ in range(2):
            assert len(await listed(api, PHYSICIANS)) == 1
        assert cache.uncached == uncached + 2
    finally:
        await RosterVersion.insert(RosterVersion(id=RECORDS, version=version + 1)).run()
