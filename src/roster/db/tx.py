"""The one way services open a write transaction."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from roster.db.engine import current_engine

# SQLite has one writer at a time. Queuing writers of this process on a lock (instead of on
# SQLite's busy handler) keeps them fair and avoids Piccolo leaking a connection when
# ``BEGIN IMMEDIATE`` times out (stack-notes §1.3). Other processes still wait on busy_timeout.
_sqlite_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _writer_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _sqlite_writers.get(loop)
    if lock is None:
        lock = _sqlite_writers[loop] = asyncio.Lock()
    return lock


@asynccontextmanager
async def write_tx() -> AsyncIterator[None]:
    """A unit of work: everything inside commits together or not at all.

    Nested calls join the outer transaction.
    """
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        if engine.current_transaction.get() is not None:
            yield
            return
        async with _writer_lock():
            async with engine.transaction(transaction_type=TransactionType.immediate):
                yield
    else:
        async with engine.transaction():
            yield
