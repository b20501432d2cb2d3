"""The monthly list refresh: download, load, screen; a failed download keeps the last good snapshot."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from roster.config import Settings
from roster.scheduling import service
from roster.screening.tables import ListSnapshot, ScreeningHit
from tests import factories
from tests.conftest import Api, TempDatabase

LEIE_URL = "https://oig.example/exclusions/UPDATED.csv"
WAIT = {"wait": "true"}
HEADER = (
    '"LASTNAME","FIRSTNAME","MIDNAME","BUSNAME","GENERAL","SPECIALTY","UPIN","NPI","DOB","ADDRESS","CITY",'
    '"STATE","ZIP","EXCLTYPE","EXCLDATE","REINDATE","WAIVERDATE","WVRSTATE"'
)


def leie(*npis: str) -> bytes:
    rows = [
        f'"EXCLUDED","PAT","","","","","","{npi}","","","","AZ","","1128b4","20240101","00000000","00000000",""'
        for npi in npis
    ]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


class Publisher:
    """The OIG site as the test wants it: a file, an error status, a timeout or garbage."""

    def __init__(self) -> None:
        self.answer: bytes | int | Exception | httpx.Response = 404
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        if isinstance(self.answer, httpx.Response):
            return self.answer
        if isinstance(self.answer, int):
            return httpx.Response(self.answer)
        return httpx.Response(200, content=self.answer)


@pytest.fixture
def publisher() -> Publisher:
    return Publisher()


@pytest.fixture
def http_transport(publisher: Publisher) -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(publisher)


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings(leie_url=LEIE_URL)


async def refresh(api: Api) -> dict[str, Any]:
    response = await api.post("/api/v1/jobs/list_refresh/run", params=WAIT)
    assert response.status_code == 201, response.text
    return response.json()


async def snapshots() -> list[dict[str, Any]]:
    return await ListSnapshot.select(ListSnapshot.id, ListSnapshot.sha256, ListSnapshot.origin).run()


async def test_refresh_downloads_loads_and_screens(api: Api, publisher: Publisher) -> None:
    doc = (await api.post("/api/v1/physicians", json=factories.physician(8))).json()
    publisher.answer = leie(doc["npi"])
    run = await refresh(api)
    assert run["outcome"] == "succeeded", run
    assert run["counts"] == {
        "lists": 1,
        "loaded": 1,
        "unchanged": 0,
        "failed": 0,
        "screened": 1,
        "hits": 1,
        "new_hits": 1,
    }
    [snapshot] = await snapshots()
    assert snapshot["origin"] == LEIE_URL
    # The same file next month: nothing new to load, the roster is screened again, the hit stays one lead.
    again = await refresh(api)
    assert again["outcome"] == "succeeded"
    assert again["counts"]["unchanged"] == 1 and again["counts"]["new_hits"] == 0
    assert len(await snapshots()) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (404, "answered HTTP 404"),
        (503, "answered HTTP 503"),
        (httpx.ReadTimeout("slow"), "timed out"),
        (httpx.ConnectError("refused"), "could not be fetched"),
        (b"this is not the LEIE\n", "oig_leie: "),
        (b"", "oig_leie: "),
    ],
)
async def test_a_failed_refresh_keeps_the_last_good_snapshot_and_records_why(
    api: Api, publisher: Publisher, answer: Any, error: str
) -> None:
    doc = (await api.post("/api/v1/physicians", json=factories.physician(9))).json()
    publisher.answer = leie(doc["npi"])
    assert (await refresh(api))["outcome"] == "succeeded"
    good = await snapshots()
    pending = await ScreeningHit.select(ScreeningHit.id, ScreeningHit.status).run()

    publisher.answer = answer
    run = await refresh(api)
    assert run["outcome"] == "failed" and run["error"].startswith("oig_leie: ") and error in run["error"], run
    assert run["counts"]["failed"] == 1 and run["counts"]["loaded"] == 0
    assert run["counts"]["screened"] == 1, "the roster is still screened, against the last good list"
    assert await snapshots() == good
    assert await ScreeningHit.select(ScreeningHit.id, ScreeningHit.status).run() == pending, "nobody is cleared"
    compliance = (await api.get(f"/api/v1/physicians/{doc['id']}/compliance")).json()
    [oig] = [check for check in compliance["checks"] if check["check"] == "oig_exclusion"]
    assert oig["ok"] is False and oig["reason"] == "screening_pending"
    [stored] = [r for r in await service.job_runs("list_refresh") if r.id == run["id"] or str(r.id) == run["id"]]
    assert stored.outcome == "failed" and stored.error == run["error"]


@pytest.mark.parametrize(
    "location",
    ["https://169.254.169.254/latest/meta-data/", "https://127.0.0.1:9/UPDATED.csv", "https://mirror.test/x"],
)
async def test_a_refresh_redirected_off_the_allowed_hosts_is_refused(
    api: Api, publisher: Publisher, location: str
) -> None:
    """The configured URL's host is allowed; where it redirects to is checked like any URL's."""
    await api.post("/api/v1/physicians", json=factories.physician(11))
    publisher.answer = httpx.Response(302, headers={"Location": location})
    run = await refresh(api)
    assert run["outcome"] == "failed" and "ROSTER_LIST_URL_HOSTS" in run["error"], run
    assert publisher.calls == 1 and location not in run["error"]
    assert await snapshots() == []


async def test_the_first_refresh_failing_leaves_nothing_loaded_and_fails(api: Api, publisher: Publisher) -> None:
    await api.post("/api/v1/physicians", json=factories.physician(10))
    publisher.answer = 404
    run = await refresh(api)
    assert run["outcome"] == "failed"
    assert "answered HTTP 404" in run["error"] and "roster not screened" in run["error"]
    assert await snapshots() == []
    assert run["counts"]["screened"] == 0


async def test_no_list_configured_is_a_failure_not_a_silent_success(
    migrated: TempDatabase, publisher: Publisher
) -> None:
    from roster.db import close_engine, open_engine
    from roster.scheduling.schedule import JobFailed
    from roster.screening.refresh import refresh_lists

    settings = migrated.settings(leie_url=None)
    engine = await open_engine(settings)
    try:
        from tests.conftest import clean_roster

        await clean_roster()
        async with httpx.AsyncClient(transport=httpx.MockTransport(publisher)) as http:
            with pytest.raises(JobFailed, match="roster not screened") as failed:
                await refresh_lists(settings, http)
    finally:
        await close_engine(engine)
    assert failed.value.counts["lists"] == 0 and publisher.calls == 0
