"""GET /ready and the index keeper (issue 18): the matcher's index is built at start-up, before the service
says it is ready, and kept current off the request path when another replica changes the roster."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar

import roster.health.routes
from roster.app import create_app
from roster.config import Settings
from roster.matching.repository import freshness
from roster.matching.service import RosterCache
from tests.conftest import Api, TempDatabase, serving
from tests.integration.matching.roster import case, ok, reviewer
from tests.integration.test_health import BrokenEngine


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    """No list is required, so the reviewers below are eligible without a screening run."""
    return migrated.settings(required_sources=())


@asynccontextmanager
async def replica(settings: Settings, **overrides: Any) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    """Another app (a second replica) on the same database, with its own lifespan and index."""
    app = create_app(dataclasses.replace(settings, **overrides))
    async with (
        serving(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica.local") as client,
    ):
        yield app, client


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not within the deadline"
        await asyncio.sleep(0.02)


async def test_ready_is_503_while_the_index_warms_and_200_once_built(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await reviewer(api, 1)
    released = asyncio.Event()
    builds: list[int] = []
    real_build = RosterCache._build

    async def held_build(self: RosterCache, version: int | None) -> Any:
        builds.append(1)
        await released.wait()
        return await real_build(self, version)

    monkeypatch.setattr(RosterCache, "_build", held_build)
    async with replica(settings, warm_index=True, index_poll_seconds=0.05) as (_, client):
        await eventually(lambda: asyncio.sleep(0, result=bool(builds)))
        warming = await client.get("/ready")
        assert warming.status_code == 503, warming.text
        assert warming.json() == {"status": "warming", "database": "ok", "index": "warming"}
        assert (await client.get("/health")).status_code == 200, "liveness does not wait for the index"

        released.set()

        async def is_ready() -> bool:
            return (await client.get("/ready")).status_code == 200

        await eventually(is_ready)
        assert (await client.get("/ready")).json() == {"status": "ready", "database": "ok", "index": "ready"}
        key = {"Authorization": f"Bearer {api.keys['router']}"}
        matched = await ok(await client.post("/api/v1/match", json=case(), headers=key))
        assert len(matched["eligible"]) == 1
        assert builds == [1], "the first match used the index built at start-up"


async def test_the_keeper_loads_another_replicas_write_before_any_request(api: Api, settings: Settings) -> None:
    first = await reviewer(api, 1)
    async with replica(settings, warm_index=True, index_poll_seconds=0.05) as (app, client):
        cache: RosterCache = app.state["roster_cache"]
        await eventually(lambda: asyncio.sleep(0, result=cache.built))
        before = (await cache.current()).version
        # Writes through the other replica (the api fixture's app): this one hears of them from the counter.
        await reviewer(api, 2)
        written, _ = await freshness()
        assert written is not None and before is not None and written > before

        async def caught_up() -> bool:
            return cache._state is not None and cache._state.version == written

        await eventually(caught_up)
        assert cache._state is not None and cache._state.index.size == 2, "loaded with no request to this replica"
        key = {"Authorization": f"Bearer {api.keys['router']}"}
        matched = await ok(await client.post("/api/v1/match", json=case(), headers=key))
        assert {e["physician_id"] for e in matched["eligible"]} >= {first["id"]}
        assert len(matched["eligible"]) == 2


async def test_without_warming_ready_says_the_index_is_built_on_demand(api: Api) -> None:
    response = await api.client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "database": "ok", "index": "on_demand"}


async def test_ready_is_503_when_the_database_is_down(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = BrokenEngine(OSError("down"))
    monkeypatch.setattr(roster.health.routes, "current_engine", lambda: broken)
    response = await api.client.get("/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded" and response.json()["database"] == "unreachable"
    assert broken.calls == 1


async def test_a_failed_refresh_is_retried_not_fatal(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await reviewer(api, 1)
    failures: list[int] = []
    real_build = RosterCache._build

    async def flaky_build(self: RosterCache, version: int | None) -> Any:
        if not failures:
            failures.append(1)
            raise OSError("database went away")
        return await real_build(self, version)

    monkeypatch.setattr(RosterCache, "_build", flaky_build)
    async with replica(settings, warm_index=True, index_poll_seconds=0.05) as (_, client):

        async def is_ready() -> bool:
            return (await client.get("/ready")).status_code == 200

        await eventually(is_ready)  # after the keeper's one-second back-off
    assert failures == [1]
