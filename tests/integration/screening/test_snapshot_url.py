"""``POST /screening/{source}/snapshots {"url"}`` is not a way into the plan's network.

The app fetches only from allowed hosts at public addresses, on every redirect hop; a refusal is a
422 naming ``url`` before anything is contacted, and no error quotes what a server sent. Here
``publisher.test`` answers through ``httpx.MockTransport``; every other host goes through the real
vetting transport with names resolved by the test, so a failure of the guard would reach the local
tripwire server (which counts connections) or be stopped and recorded by ``tests.tripwire``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from roster.cli import main
from roster.config import Settings
from roster.screening.service import list_dir
from roster.screening.tables import ListSnapshot
from roster.sources.egress import VettingTransport
from tests.conftest import Api, TempDatabase
from tests.tripwire import SECRET, Tripwire

SNAPSHOTS = "/api/v1/screening/oig_leie/snapshots"
LIMIT = 64 * 1024


@pytest.fixture
def dns() -> dict[str, list[str]]:
    """The test's name resolution: host -> addresses (a name not in it fails the test)."""
    return {}


@pytest.fixture
def settings(migrated: TempDatabase, dns: dict[str, list[str]]) -> Settings:
    async def resolve(host: str, port: int) -> Sequence[str]:
        assert host in dns, f"{host} was resolved; the test did not expect that"
        return dns[host]

    return migrated.settings(
        list_url_hosts=("publisher.test", "allowed.test"),
        list_url_resolver=resolve,
        max_list_file_bytes=LIMIT,
        list_download_seconds=1.0,
    )


class Publisher(httpx.AsyncBaseTransport):
    """``publisher.test`` answers from ``routes``; every other host goes through the vetting transport."""

    def __init__(self, settings: Settings, tripwire: Tripwire) -> None:
        good = (settings.fixtures_dir / "lists" / "UPDATED.csv").read_bytes()
        port = tripwire.port
        self.routes: dict[str, Any] = {
            "/UPDATED.csv": lambda: httpx.Response(200, content=good),
            "/moved": lambda: httpx.Response(302, headers={"Location": "/UPDATED.csv"}),
            "/to-loopback": lambda: httpx.Response(302, headers={"Location": f"http://127.0.0.1:{port}/secret"}),
            "/to-metadata": lambda: httpx.Response(
                302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
            ),
            "/to-allowed": lambda: httpx.Response(302, headers={"Location": f"http://allowed.test:{port}/secret"}),
            "/not-a-list.csv": lambda: httpx.Response(200, content=SECRET),
            "/big.csv": lambda: httpx.Response(200, headers={"Content-Length": str(LIMIT + 1)}, content=b"x"),
            "/endless.csv": lambda: httpx.Response(200, content=_endless()),
            "/drip.csv": lambda: httpx.Response(200, content=_drip()),
        }
        self.paths: list[str] = []
        self.mock = httpx.MockTransport(self._answer)
        assert settings.list_url_resolver is not None
        self.vetting = VettingTransport(settings.list_url_resolver)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        answer = self.routes.get(request.url.path)
        return answer() if answer else httpx.Response(404, content=SECRET)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.mock if request.url.host == "publisher.test" else self.vetting
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self.vetting.aclose()


async def _endless() -> AsyncIterator[bytes]:
    while True:
        yield b"x" * 4096


async def _drip() -> AsyncIterator[bytes]:
    while True:
        yield b"x"
        await asyncio.sleep(0.05)


@pytest.fixture
def publisher(settings: Settings, tripwire: Tripwire) -> Publisher:
    return Publisher(settings, tripwire)


@pytest.fixture
def http_transport(publisher: Publisher) -> httpx.AsyncBaseTransport:
    return publisher


def leftovers(settings: Settings) -> list[str]:
    """Staged or partial downloads left in the list directory."""
    return [p.name for p in list_dir(settings.data_dir, "oig_leie").iterdir() if p.suffix in (".part", ".staged")]


async def assert_nothing_loaded(settings: Settings) -> None:
    assert await ListSnapshot.count().run() == 0
    assert leftovers(settings) == []


async def refused(api: Api, url: str, status: int = 422) -> dict[str, Any]:
    response = await api.post(SNAPSHOTS, json={"url": url})
    assert response.status_code == status, response.text
    assert b"SECRET" not in response.content and b"found x" not in response.content
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["url"], problem
    return problem


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/secret",
        "http://localhost:{port}/secret",
        "http://2130706433:{port}/secret",
        "http://0177.0.0.1:{port}/secret",
        "http://0x7f.0.0.1:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://publisher.test@127.0.0.1:{port}/secret",
    ],
)
async def test_a_url_off_the_allow_list_is_refused_and_not_contacted(
    api: Api, settings: Settings, url: str, tripwire: Tripwire, connections: list[str], publisher: Publisher
) -> None:
    await refused(api, url.format(port=tripwire.port))
    assert tripwire.connections == 0 and connections == [] and publisher.paths == []
    await assert_nothing_loaded(settings)


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.0.0.5"], ["169.254.169.254"], ["::1"], ["::ffff:127.0.0.1"], ["100.64.0.1"]],
)
async def test_an_allowed_host_that_resolves_inside_is_refused_and_not_contacted(
    api: Api,
    settings: Settings,
    dns: dict[str, list[str]],
    addresses: list[str],
    tripwire: Tripwire,
    connections: list[str],
) -> None:
    dns["allowed.test"] = addresses
    problem = await refused(api, f"http://allowed.test:{tripwire.port}/secret")
    assert "internal address" in problem["errors"][0]["message"]
    assert tripwire.connections == 0 and connections == []
    await assert_nothing_loaded(settings)


@pytest.mark.parametrize("path", ["/to-loopback", "/to-metadata", "/to-allowed"])
async def test_a_redirect_inside_is_refused_and_not_followed(
    api: Api,
    settings: Settings,
    dns: dict[str, list[str]],
    path: str,
    tripwire: Tripwire,
    connections: list[str],
    publisher: Publisher,
) -> None:
    dns["allowed.test"] = ["127.0.0.1"]
    problem = await refused(api, f"https://publisher.test{path}")
    assert "127.0.0.1" not in problem["detail"] and "169.254" not in problem["detail"], "the target is not quoted"
    assert publisher.paths == [path] and tripwire.connections == 0 and connections == []
    await assert_nothing_loaded(settings)


async def test_a_file_that_is_not_a_list_is_refused_without_quoting_it(api: Api, settings: Settings) -> None:
    problem = await refused(api, "https://publisher.test/not-a-list.csv")
    assert problem["errors"][0]["message"].startswith("the file at that URL is not a oig_leie list file")
    await assert_nothing_loaded(settings)


async def test_an_upstream_error_says_only_its_status(api: Api, settings: Settings) -> None:
    problem = await refused(api, "https://publisher.test/nowhere.csv")
    assert "HTTP 404" in problem["detail"]
    await assert_nothing_loaded(settings)


@pytest.mark.parametrize("path", ["/big.csv", "/endless.csv"])
async def test_a_file_over_the_limit_is_413_and_leaves_nothing(
    api: Api, settings: Settings, path: str, publisher: Publisher
) -> None:
    problem = await refused(api, f"https://publisher.test{path}", status=413)
    assert "64 KiB" in problem["errors"][0]["message"] or str(LIMIT) in problem["errors"][0]["message"]
    assert publisher.paths == [path], "a file too large is not fetched again"
    await assert_nothing_loaded(settings)


async def test_a_dripping_server_is_given_up_on_at_the_deadline(api: Api, settings: Settings) -> None:
    started = time.monotonic()
    problem = await refused(api, "https://publisher.test/drip.csv", status=502)
    assert "within 1 s" in problem["detail"] and time.monotonic() - started < 5
    await assert_nothing_loaded(settings)


async def test_an_allowed_host_and_its_redirects_load(api: Api, publisher: Publisher) -> None:
    direct = await api.post(SNAPSHOTS, json={"url": "https://publisher.test/UPDATED.csv"})
    assert direct.status_code == 201, direct.text
    moved = await api.post(SNAPSHOTS, json={"url": "https://publisher.test/moved"})
    assert moved.status_code == 200 and moved.json()["id"] == direct.json()["id"], moved.text
    assert publisher.paths == ["/UPDATED.csv", "/moved", "/UPDATED.csv"]


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_roster_screen_url_is_guarded_too(temp_database: TempDatabase, tripwire: Tripwire) -> None:
    settings = temp_database.settings()
    env = {"ROSTER_DATABASE_URL": settings.database_url, "ROSTER_DATA_DIR": str(settings.data_dir)}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0
    url = f"http://127.0.0.1:{tripwire.port}/secret"
    result = CliRunner().invoke(main, ["screen", "--source", "oig_leie", "--url", url], env=env)
    assert result.exit_code == 1 and "ROSTER_LIST_URL_HOSTS" in result.output, result.output
    assert tripwire.connections == 0
    assert not list(Path(settings.data_dir).rglob("*.staged")) and not list(Path(settings.data_dir).rglob("*.part"))
