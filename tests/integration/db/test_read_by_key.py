"""``read_by_key``: the match's counter read, inline on pooled SQLite, and the paths it falls back to."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from roster.db import close_engine, open_engine, write_tx
from roster.db.engine import PooledSQLiteEngine, bind_engine, current_engine, read_by_key
from roster.history.tables import ROSTER, RosterVersion
from tests.conftest import TempDatabase

COUNTER = f"SELECT version FROM roster_version WHERE id = {ROSTER}"


@pytest.fixture
async def engine(migrated: TempDatabase) -> AsyncIterator[object]:
    engine = await open_engine(migrated.settings())
    try:
        yield engine
    finally:
        await close_engine(engine)


async def _bump() -> int:
    await RosterVersion.update({RosterVersion.version: RosterVersion.version + 1}).where(RosterVersion.id == ROSTER)
    return (await RosterVersion.select(RosterVersion.version).where(RosterVersion.id == ROSTER).first())["version"]


async def test_sees_every_committed_write_at_once(engine: object) -> None:
    for _ in range(3):
        version = await _bump()
        assert await read_by_key(COUNTER) == [{"version": version}]
        if isinstance(engine, PooledSQLiteEngine):  # on the loop's own connection, not a pooled one
            assert engine.read_inline(COUNTER) == [{"version": version}]


async def test_inside_a_transaction_reads_through_it(engine: object) -> None:
    before = (await read_by_key(COUNTER))[0]["version"]
    async with write_tx(roster_change=False):
        await RosterVersion.update({RosterVersion.version: RosterVersion.version + 10}).where(
            RosterVersion.id == ROSTER
        )
        # Not the committed value: the transaction's own write.
        assert await read_by_key(COUNTER) == [{"version": before + 10}]


async def test_a_locked_file_falls_back_to_the_waiting_path(tmp_path: Path) -> None:
    """A rollback-journal file under an exclusive lock: the inline read must not block the loop (it
    returns None), and ``read_by_key`` waits on a pooled connection until the lock is released."""
    path = tmp_path / "locked.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, version INTEGER)")
        setup.execute("INSERT INTO counter VALUES (1, 7)")
    engine = PooledSQLiteEngine(path=str(path), timeout=5)
    previous = current_engine()
    bind_engine(engine)
    engine.start_pool()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        assert engine.read_inline("SELECT version FROM counter WHERE id = 1") is None
        waiting = asyncio.create_task(read_by_key("SELECT version FROM counter WHERE id = 1"))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        holder.execute("COMMIT")
        assert await asyncio.wait_for(waiting, 5) == [{"version": 7}]
        assert engine.read_inline("SELECT version FROM counter WHERE id = 1") == [{"version": 7}]
    finally:
        holder.close()
        await engine.close_pool()
        bind_engine(previous)


async def test_other_errors_are_raised(engine: object) -> None:
    with pytest.raises(Exception, match=r"no such table|does not exist"):
        await read_by_key("SELECT version FROM no_such_table WHERE id = 1")
