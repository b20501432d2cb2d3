"""API key lifecycle over HTTP: create with an optional last day, list, revoke, rotate, last use, audit.

Most tests run with the key cache on (``api_key_cache_seconds`` > 0, as in production; the suite's
default app has it off), since revocation and expiry must hold for cached keys too.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from roster import clock
from roster.app import create_app
from roster.config import Settings
from roster.keys.service import REVOCATION_SECONDS, hash_key
from roster.keys.tables import ApiKey
from tests.conftest import Api, serving

KEYS = "/api/v1/keys"
PHYSICIANS = "/api/v1/physicians"
LISTED = {"id", "name", "role", "created_at", "expires_on", "last_used_at", "revoked_at"}


@asynccontextmanager
async def replica(settings: Settings, name: str = "replica") -> AsyncIterator[httpx.AsyncClient]:
    """Another process's app on the same database, caching keys as production does."""
    app = create_app(replace(settings, api_key_cache_seconds=30))
    async with serving(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}") as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create(api: Api, **body: Any) -> dict[str, Any]:
    response = await api.post(KEYS, json={"name": "client", "role": "manager", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def status(client: httpx.AsyncClient, key: str) -> int:
    return (await client.get(PHYSICIANS, headers=bearer(key))).status_code


async def listed(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = await api.get(KEYS, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def revoke(client: httpx.AsyncClient, api: Api, key_id: str) -> None:
    response = await client.delete(f"{KEYS}/{key_id}", headers=api.auth())
    assert response.status_code == 204, response.text


async def audit_events(api: Api, key_id: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/audit", params={"entity": "api_key", "entity_id": key_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


# --- create and list --------------------------------------------------------------------------------


async def test_a_key_without_expiry_lasts_until_revoked(api: Api) -> None:
    created = await create(api)
    assert created["expires_on"] is None and created["key"].startswith("rst_")
    [key] = await listed(api, name="client")
    assert key == {
        "id": created["id"],
        "name": "client",
        "role": "manager",
        "created_at": created["created_at"],
        "expires_on": None,
        "last_used_at": None,
        "revoked_at": None,
    }


async def test_the_list_never_shows_a_key_or_its_hash(api: Api) -> None:
    created = [await create(api, name=f"c{i}", expires_on=clock.today().isoformat()) for i in range(3)]
    response = await api.get(KEYS)
    assert response.status_code == 200, response.text
    for key in response.json()["items"]:
        assert set(key) == LISTED
    for c in created:
        assert c["key"] not in response.text and hash_key(c["key"]) not in response.text
        assert c["key"][:12] not in response.text, "not even the stored prefix"
    assert {k["expires_on"] for k in response.json()["items"] if k["name"].startswith("c")} == {
        clock.today().isoformat()
    }


async def test_the_list_is_paginated_newest_first_and_filters(api: Api) -> None:
    ids = [(await create(api, name="rotating"))["id"] for _ in range(3)]
    await create(api, name="other")
    first = (await api.get(KEYS, params={"name": "rotating", "limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = (await api.get(KEYS, params={"name": "rotating", "limit": 2, "cursor": first["next_cursor"]})).json()
    assert second["next_cursor"] is None
    assert [k["id"] for k in first["items"] + second["items"]] == ids[::-1]

    await revoke(api.client, api, ids[0])
    assert [k["id"] for k in await listed(api, name="rotating", include_revoked="false")] == ids[:0:-1]
    everything = await listed(api, name="rotating")
    assert [k["revoked_at"] is not None for k in everything] == [False, False, True], "revoked keys are listed"
    assert (await api.get(KEYS, params={"cursor": "nonsense"})).status_code == 422


# --- bad input --------------------------------------------------------------------------------------


def _yesterday() -> str:
    return (clock.today() - timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"expires_on": "yesterday"}, "expires_on", id="past"),
        pytest.param({"expires_on": "2026-02-30"}, "expires_on", id="no such day"),
        pytest.param({"expires_on": "next week"}, "expires_on", id="not a date"),
        pytest.param({"expires_on": "2030-01-01T00:00:00Z"}, "expires_on", id="a timestamp"),
        pytest.param({"role": "owner"}, "role", id="unknown role"),
    ],
)
async def test_bad_input_is_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    if body.get("expires_on") == "yesterday":
        body = {"expires_on": _yesterday()}
    response = await api.post(KEYS, json={"name": "x", "role": "router", **body})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await listed(api, name="x") == []


async def test_revoking_an_unknown_key_is_404(api: Api) -> None:
    response = await api.delete(f"{KEYS}/{uuid.uuid4()}")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await api.delete(f"{KEYS}/not-a-key-id")).status_code == 404, "not a key's id: no such resource"
    assert (await api.get(KEYS, params={"include_revoked": "maybe"})).status_code == 422


# --- revocation ---------------------------------------------------------------------------------


async def test_a_revoked_key_is_refused_at_once_though_cached(api: Api, settings: Settings) -> None:
    key = await create(api)
    async with replica(settings) as client:
        assert await status(client, key["key"]) == 200
        # The key is cached now: a change behind the service's back is not seen...
        await ApiKey.update({ApiKey.role: "router"}).where(ApiKey.id == uuid.UUID(key["id"])).run()
        assert (await client.get("/api/v1/alerts", headers=bearer(key["key"]))).status_code == 200, "still a manager"
        # ...but a revocation through this process is, on the very next request.
        await revoke(client, api, key["id"])
        response = await client.get(PHYSICIANS, headers=bearer(key["key"]))
        assert response.status_code == 401 and response.headers["www-authenticate"].lower().startswith("bearer")
        assert await status(client, api.keys["manager"]) == 200, "other keys still work"


async def test_a_revocation_reaches_another_replica_within_the_bound(api: Api, settings: Settings) -> None:
    key = await create(api)
    async with replica(settings, "a") as a, replica(settings, "b") as b:
        assert await status(a, key["key"]) == 200 and await status(b, key["key"]) == 200  # cached on both
        await revoke(a, api, key["id"])
        revoked = time.monotonic()
        assert await status(a, key["key"]) == 401
        while await status(b, key["key"]) == 200:
            assert time.monotonic() - revoked < REVOCATION_SECONDS + 1.0, "replica b still accepts the key"
            await asyncio.sleep(0.05)
        assert await status(b, api.keys["manager"]) == 200


async def test_revoking_twice_is_204_and_audited_once(api: Api) -> None:
    key = await create(api)
    await revoke(api.client, api, key["id"])
    [first] = await listed(api, name="client")
    await revoke(api.client, api, key["id"])
    [again] = await listed(api, name="client")
    assert again["revoked_at"] == first["revoked_at"] is not None, "the first revocation stands"
    assert [e["action"] for e in await audit_events(api, key["id"])] == ["revoke", "create"]


async def test_rotation_keeps_a_client_working(api: Api, settings: Settings) -> None:
    old = await create(api, name="router-service", role="router")
    async with replica(settings) as client:
        assert await status(client, old["key"]) == 200
        new = await create(api, name="router-service", role="router")
        assert await status(client, new["key"]) == 200 and await status(client, old["key"]) == 200, "both live"
        await revoke(client, api, old["id"])
        assert await status(client, old["key"]) == 401
        assert await status(client, new["key"]) == 200
    keys = {k["id"]: k for k in await listed(api, name="router-service")}
    assert keys[old["id"]]["revoked_at"] is not None and keys[new["id"]]["revoked_at"] is None


# --- expiry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cache_seconds", [0, 30])
async def test_a_key_works_through_its_last_day_utc(api: Api, settings: Settings, cache_seconds: float) -> None:
    today = clock.today()
    key = await create(api, expires_on=today.isoformat())
    app = create_app(replace(settings, api_key_cache_seconds=cache_seconds))
    async with serving(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert await status(client, key["key"]) == 200
        last_second = datetime(today.year, today.month, today.day, 23, 59, 59, 999000, tzinfo=UTC)
        with time_machine.travel(last_second, tick=False):
            assert await status(client, key["key"]) == 200
        with time_machine.travel(last_second + timedelta(milliseconds=1), tick=False):
            assert await status(client, key["key"]) == 401, "expired at midnight UTC, cached or not"
            assert await status(client, api.keys["manager"]) == 200
            [listed_key] = await listed(api, name="client")
            assert listed_key["expires_on"] == today.isoformat() and listed_key["revoked_at"] is None
            expired = await api.post(KEYS, json={"name": "late", "role": "router", "expires_on": today.isoformat()})
            assert expired.status_code == 422, "yesterday's date is in the past now"


# --- last use -----------------------------------------------------------------------------------


async def last_used(key_id: str) -> datetime | None:
    row = await ApiKey.select(ApiKey.last_used_at).where(ApiKey.id == uuid.UUID(key_id)).first().run()
    assert row is not None
    return row["last_used_at"]


async def written(key_id: str, after: datetime | None = None) -> datetime:
    """The key's ``last_used_at`` once the background write has landed (newer than ``after``)."""
    deadline = time.monotonic() + 5
    while (value := await last_used(key_id)) is None or (after is not None and value <= after):
        assert time.monotonic() < deadline, "the use was never recorded"
        await asyncio.sleep(0.02)
    return value


async def test_last_use_is_recorded_once_a_minute(api: Api, settings: Settings) -> None:
    key = await create(api)
    assert key["key"] and await last_used(key["id"]) is None
    async with replica(settings) as client:
        start = datetime.now(UTC).replace(microsecond=0)
        with time_machine.travel(start, tick=False) as traveller:
            assert await status(client, key["key"]) == 200
            assert await written(key["id"]) == start
            for _ in range(5):
                traveller.shift(timedelta(seconds=10))
                assert await status(client, key["key"]) == 200
            await asyncio.sleep(0.2)
            assert await last_used(key["id"]) == start, "not rewritten within the minute"
            traveller.shift(timedelta(seconds=11))  # a minute and a second after the recorded use
            assert await status(client, key["key"]) == 200
            assert await written(key["id"], after=start) == start + timedelta(seconds=61)
    [shown] = await listed(api, name="client")
    assert datetime.fromisoformat(shown["last_used_at"]) == start + timedelta(seconds=61)
    assert [e["action"] for e in await audit_events(api, key["id"])] == ["create"], "use is not audited"


async def test_a_refused_key_is_not_recorded_as_used(api: Api, settings: Settings) -> None:
    key = await create(api, expires_on=clock.today().isoformat())
    await revoke(api.client, api, key["id"])
    async with replica(settings) as client:
        assert await status(client, key["key"]) == 401
        await asyncio.sleep(0.1)
    assert await last_used(key["id"]) is None


# --- audit --------------------------------------------------------------------------------------


async def test_create_and_revoke_are_audited_without_secrets(api: Api) -> None:
    key = await create(api, expires_on=(clock.today() + timedelta(days=30)).isoformat())
    await revoke(api.client, api, key["id"])
    response = await api.get("/api/v1/audit", params={"entity": "api_key", "entity_id": key["id"]})
    assert key["key"] not in response.text and hash_key(key["key"]) not in response.text
    revoked, created = response.json()["items"]
    assert created["action"] == "create" and created["actor"] == "test-admin" and created["before"] is None
    assert created["after"]["expires_on"] == key["expires_on"] and created["after"]["role"] == "manager"
    assert revoked["action"] == "revoke" and revoked["actor"] == "test-admin"
    assert revoked["before"] == {
        "id": key["id"],
        "name": "client",
        "role": "manager",
        "expires_on": key["expires_on"],
        "revoked_at": None,
    }
    assert revoked["after"] == {**revoked["before"], "revoked_at": revoked["after"]["revoked_at"]}
    assert date.fromisoformat(revoked["after"]["revoked_at"][:10]) == clock.today()
