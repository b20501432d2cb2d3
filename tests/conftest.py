"""Shared fixtures: a migrated database per backend, and an HTTP client per test.

Every integration test runs against SQLite and PostgreSQL. PostgreSQL comes from
``ROSTER_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); when it is
unreachable the Postgres cases skip with a message, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import stamina
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from litestar import Litestar

from roster.config import Settings
from roster.db.engine import postgres_config
from tests import suite_clock
from tests.tripwire import Tripwire, record_connections, serving_tripwire

hypothesis_settings.register_profile(
    "roster", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
hypothesis_settings.load_profile("roster")


def pytest_configure(config: pytest.Config) -> None:
    suite_clock.follow()  # before any test module computes a date at import


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests (``tests/e2e``) run last: they are the slowest, and Playwright's sync API holds
    an asyncio loop in the main thread while a browser is open (see ``tests/e2e/conftest.py``)."""
    items.sort(key=lambda item: "e2e" in item.nodeid.split("/")[:2])


POSTGRES_ADMIN_URL = os.environ.get("ROSTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(**postgres_config(POSTGRES_ADMIN_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_or_skip() -> None:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL} ({exc!r})"
        if IN_CI:
            pytest.fail(f"{message}; CI requires it", pytrace=False)
        pytest.skip(f"{message}; set ROSTER_TEST_POSTGRES_URL to run the Postgres tests")


def _pg_url(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


class TempDatabase:
    """A fresh, empty database on either backend, dropped afterwards."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.data_dir = tmp / "data"
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / f'roster-{uuid.uuid4().hex[:8]}.db'}"
            self.name = None
        else:
            postgres_or_skip()
            self.name = f"roster_test_{uuid.uuid4().hex[:12]}"
            asyncio.run(_pg_admin(f'CREATE DATABASE "{self.name}"'))
            self.url = _pg_url(self.name)

    def settings(self, **overrides: Any) -> Settings:
        """Apps in tests build the matcher's index when first asked, as a test expects (the index keeper's
        own tests turn it on: tests/integration/test_readiness.py)."""
        defaults: dict[str, Any] = {"api_key_cache_seconds": 0, "warm_index": False, "index_poll_seconds": 0}
        return replace(Settings(), database_url=self.url, data_dir=self.data_dir, **{**defaults, **overrides})

    def drop(self) -> None:
        if self.name is not None:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


@pytest.fixture
def temp_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TempDatabase]:
    """An empty database of the backend named by ``request.param`` (indirect parametrization)."""
    db = TempDatabase(request.param, tmp_path)
    yield db
    db.drop()


@pytest.fixture(scope="session", params=BACKENDS)
def migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TempDatabase]:
    """One migrated database per backend for the whole session; tests clean it, not recreate it."""
    from roster.cli import migrate_database

    db = TempDatabase(request.param, tmp_path_factory.mktemp(request.param))
    migrate_database(db.settings())
    yield db
    db.drop()


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings()


async def clean_roster() -> None:
    """Empty every table but the reference data and the roster version counter, children first."""
    from roster.db.tables import ALL_TABLES
    from roster.history.tables import RosterVersion
    from roster.reference.tables import Specialty, StateRule

    for table in reversed(ALL_TABLES):
        if table not in (Specialty, StateRule, RosterVersion):
            await table.delete(force=True).run()
    await written_behind_the_app()


async def written_behind_the_app() -> None:
    """After a test wrote the roster's tables directly (not through ``write_tx``): bump the counters, as a
    committed write would. Bump rather than reset: an index (or a list page) kept from before must not
    survive it."""
    from roster.history.tables import RECORDS, ROSTER, RosterVersion

    await (
        RosterVersion.update({RosterVersion.version: RosterVersion.version + 1})
        .where(RosterVersion.id.is_in([ROSTER, RECORDS]))
        .run()
    )


class Api:
    """An HTTP client for the app plus one API key per role."""

    def __init__(self, client: httpx.AsyncClient, keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys

    def auth(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    async def request(self, method: str, url: str, role: str = "admin", **kwargs: Any) -> Any:
        headers = {**self.auth(role), **kwargs.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kwargs)

    async def get(self, url: str, role: str = "admin", **kwargs: Any) -> Any:
        return await self.request("GET", url, role, **kwargs)

    async def post(self, url: str, role: str = "admin", **kwargs: Any) -> Any:
        return await self.request("POST", url, role, **kwargs)

    async def patch(self, url: str, role: str = "admin", **kwargs: Any) -> Any:
        return await self.request("PATCH", url, role, **kwargs)

    async def delete(self, url: str, role: str = "admin", **kwargs: Any) -> Any:
        return await self.request("DELETE", url, role, **kwargs)


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[None]:
    """Run the app's lifespan in its own task: pytest-asyncio may tear a fixture down in another task,
    and the lifespan's cancel scopes must be exited in the task that entered them."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()
    try:
        yield
    finally:
        stop.set()
        await task


@pytest.fixture
def http_transport() -> httpx.AsyncBaseTransport | None:
    """The app's outbound HTTP; modules that fetch files override this with an ``httpx.MockTransport``."""
    return None


@pytest.fixture
async def api(settings: Settings, http_transport: httpx.AsyncBaseTransport | None) -> AsyncIterator[Api]:
    from roster.app import create_app
    from roster.keys.schemas import Role
    from roster.keys.service import create_key

    app = create_app(settings, http_transport=http_transport)
    # The app runs on the test's own event loop (Litestar's AsyncTestClient would run it on a
    # portal thread, where an asyncpg pool cannot be shared with the test's own queries).
    async with (
        serving(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as client,
    ):
        await clean_roster()
        keys = {
            role.value: (await create_key(name=f"test-{role.value}", role=role.value, actor="test")).key
            for role in Role
        }
        yield Api(client, keys)


@pytest.fixture(autouse=True)
def _no_retry_sleeps() -> Iterator[None]:
    """Outbound retries happen as configured (at most 3 attempts), without their backoff sleeps."""
    stamina.set_testing(True, attempts=3, cap=True)
    yield
    stamina.set_testing(False)


@pytest.fixture
def tripwire() -> Iterator[Tripwire]:
    """A loopback server that counts every connection: one a refused download must never make."""
    with serving_tripwire() as server:
        yield server


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every TCP connection attempted, refused unless to loopback (see ``tests.tripwire``)."""
    return record_connections(monkeypatch)
