"""GET /health: no auth, 200 when the database answers, 503 when it does not (api.md)."""

from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg
import pytest

import roster.health.routes
from tests.conftest import Api


async def test_health_ok(api: Api) -> None:
    response = await api.client.get("/health")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_ignores_credentials(api: Api) -> None:
    for headers in (
        {"Authorization": "Bearer rst_unknown"},
        {"Authorization": "Basic eDp5"},
        api.auth("router"),
    ):
        response = await api.client.get("/health", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok", "database": "ok"}


class BrokenEngine:
    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    async def run_ddl(self, *_: Any, **__: Any) -> Any:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(OSError("connection refused"), id="OSError"),
        pytest.param(ConnectionRefusedError(111, "connection refused"), id="ConnectionRefusedError"),
        pytest.param(TimeoutError(), id="TimeoutError"),
        pytest.param(sqlite3.OperationalError("unable to open database file"), id="sqlite"),
        pytest.param(asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), id="asyncpg"),
    ],
)
async def test_health_503_when_database_unreachable(
    api: Api, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    broken = BrokenEngine(error)
    monkeypatch.setattr(roster.health.routes, "current_engine", lambda: broken)

    response = await api.client.get("/health")

    assert broken.calls == 1, "health really asks the database"
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["database"] == "unreachable"
    assert body["status"] != "ok"
    assert set(body) == {"status", "database"}
    if str(error):
        assert str(error) not in response.text, "the driver's message does not leak"


async def test_health_recovers(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = BrokenEngine(OSError("down"))
    with monkeypatch.context() as patch:
        patch.setattr(roster.health.routes, "current_engine", lambda: broken)
        assert (await api.client.get("/health")).status_code == 503
    response = await api.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_is_documented_without_security(api: Api) -> None:
    schema = (await api.client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/health"]["get"]
    assert "503" in operation["responses"]
    assert operation.get("security") in (None, [], [{}]), "health needs no key"
