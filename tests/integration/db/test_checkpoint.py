"""A bulk commit on SQLite leaves its WAL's checkpoint to another connection: neither the bulk write nor
the next small write pays for copying the load into the database file."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from roster.cli import migrate_database
from roster.db import close_engine, open_engine, tx, write_tx
from roster.physicians.tables import Physician
from tests.conftest import TempDatabase

ROWS = tx.INLINE_ROWS * 8  # past the inline limit: a bulk write, off the loop


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_a_bulk_commit_is_checkpointed_on_another_connection(temp_database: TempDatabase) -> None:
    settings = temp_database.settings()
    migrate_database(settings)
    path = settings.database_url.removeprefix("sqlite:///")

    async def run() -> None:
        engine = await open_engine(settings)
        held = threading.Event()
        try:
            await Physician.raw("CREATE TABLE scratch (n INTEGER PRIMARY KEY, payload TEXT)").run()
            writer = tx._writer_connection(engine)
            # Checkpoint at every commit past one WAL page, as SQLite would past 1,000: without the
            # change, the bulk commit below copies its pages into the database file itself.
            writer.raw.execute("PRAGMA wal_autocheckpoint = 1")
            tx._CHECKPOINT_THREAD.submit(held.wait)  # the checkpoint queues behind this until released
            size = os.path.getsize(path)

            async with write_tx(roster_change=False):
                await writer.executemany("INSERT INTO scratch VALUES (?, ?)", [(n, "x" * 1000) for n in range(ROWS)])
            assert os.path.getsize(path) == size, "the bulk commit checkpointed its own WAL"
            assert writer.checkpoint is not None and not writer.checkpoint.done()

            async with write_tx(roster_change=False):  # a small write while that checkpoint waits
                await Physician.raw("INSERT INTO scratch VALUES (-1, 'small')").run()
            assert os.path.getsize(path) == size, "the next write checkpointed the bulk load's WAL"
            assert writer.autocheckpoint() == 0

            held.set()
            await asyncio.wait_for(asyncio.wrap_future(writer.checkpoint), 30)
            assert os.path.getsize(path) > size + ROWS * 1000, "the checkpoint copied the load into the file"
            rows = await Physician.raw("SELECT count(*) AS n FROM scratch").run()
            assert rows[0]["n"] == ROWS + 1

            async with write_tx(roster_change=False):  # the writer checkpoints as configured again
                await Physician.raw("INSERT INTO scratch VALUES (-2, 'small')").run()
            assert writer.autocheckpoint() == 1
        finally:
            held.set()
            await close_engine(engine)

    asyncio.run(run())


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_a_failed_bulk_write_rolls_back_and_leaves_checkpoints_as_they_were(temp_database: TempDatabase) -> None:
    settings = temp_database.settings()
    migrate_database(settings)

    async def run() -> None:
        engine = await open_engine(settings)
        try:
            await Physician.raw("CREATE TABLE scratch (n INTEGER PRIMARY KEY, payload TEXT)").run()
            writer = tx._writer_connection(engine)
            before = writer.autocheckpoint()
            with pytest.raises(Exception, match="UNIQUE"):
                async with write_tx(roster_change=False):
                    await writer.executemany("INSERT INTO scratch VALUES (?, ?)", [(n % 10, "x") for n in range(ROWS)])
            rows = await Physician.raw("SELECT count(*) AS n FROM scratch").run()
            assert rows[0]["n"] == 0
            assert writer.checkpoint is None
            async with write_tx(roster_change=False):
                await Physician.raw("INSERT INTO scratch VALUES (1, 'small')").run()
            assert tx._writer_connection(engine).autocheckpoint() == before
        finally:
            await close_engine(engine)

    asyncio.run(run())
