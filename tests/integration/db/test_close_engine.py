"""``close_engine``: shutdown ends even when a connection was never given back to the pool."""

from __future__ import annotations

import asyncio
import logging

import pytest
from piccolo.engine.postgres import PostgresEngine

from roster.db import close_engine, open_engine
from roster.db import engine as engine_module
from tests.conftest import TempDatabase


async def test_a_connection_left_checked_out_does_not_hang_the_close(
    migrated: TempDatabase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A task cancelled mid-query inside a Piccolo transaction can leave its connection checked out;
    asyncpg's ``Pool.close`` then waits for it forever (seen as a suite hung in teardown)."""
    if migrated.backend != "postgres":
        pytest.skip("only a PostgreSQL pool hands out connections that can be leaked")
    monkeypatch.setattr(engine_module, "POOL_CLOSE_SECONDS", 0.5)
    engine = await open_engine(migrated.settings())
    assert isinstance(engine, PostgresEngine) and engine.pool is not None
    await engine.pool.acquire()  # never released
    with caplog.at_level(logging.WARNING, logger="roster.db.engine"):
        await asyncio.wait_for(close_engine(engine), 5)
    assert engine.pool is None
    assert "still in use" in caplog.text


async def test_an_idle_pool_closes_without_a_warning(migrated: TempDatabase, caplog: pytest.LogCaptureFixture) -> None:
    engine = await open_engine(migrated.settings())
    with caplog.at_level(logging.WARNING, logger="roster.db.engine"):
        await close_engine(engine)
    assert "still in use" not in caplog.text
