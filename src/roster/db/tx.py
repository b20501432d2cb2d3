"""The one way services open a write transaction."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from roster.db.engine import current_engine
from roster.history.tables import ROSTER, RecordVersion, RosterVersion

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


@dataclass(slots=True)
class _Unit:
    """The open write transaction's bookkeeping."""

    #: Whether it changes what the roster index is built from.
    roster_change: bool
    #: The roster version it commits as, once claimed (see :func:`claim_roster_version`).
    stamp: int | None = None


_unit: ContextVar[_Unit | None] = ContextVar("write_unit", default=None)


@asynccontextmanager
async def write_tx(*, roster_change: bool = True) -> AsyncIterator[None]:
    """A unit of work: everything inside commits together or not at all.

    Nested calls join the outer transaction. Unless told otherwise (``roster_change=False``:
    keys, alerts, job runs, assignments), the transaction bumps ``roster_version`` before it
    commits, so every replica's in-memory roster index sees the write on its next request.
    Forgetting the flag costs an index rebuild, never a stale answer.
    """
    outer = _unit.get()
    if outer is not None:
        outer.roster_change = outer.roster_change or roster_change
        yield
        return
    unit = _Unit(roster_change)
    token = _unit.set(unit)
    try:
        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            async with _writer_lock(), engine.transaction(transaction_type=TransactionType.immediate):
                yield
                await _bump(unit)
        else:
            async with engine.transaction():
                yield
                await _bump(unit)
    finally:
        _unit.reset(token)


#: The stamp of record versions written by a transaction that changed nothing eligibility is computed from.
NOT_A_ROSTER_CHANGE = 0


async def claim_roster_version() -> int | None:
    """The roster version the open transaction will commit as, bumped now instead of at commit.

    For bulk writes: their record versions are inserted already stamped, where stamping them at
    commit rewrote every one (on PostgreSQL, 200,000 versions took a fifth of a large import). The
    counter stays locked from here to the commit, so other roster writers queue behind this one a
    little longer; versions are still handed out in commit order. None when the transaction is not
    (yet) a roster change: its versions are then stamped at commit as usual.
    """
    unit = _unit.get()
    if unit is None:
        raise RuntimeError("claim_roster_version must run inside write_tx()")
    if unit.roster_change and unit.stamp is None:
        unit.stamp = await _next_version()
    return unit.stamp


async def _next_version() -> int:
    rows = (
        await RosterVersion.update({RosterVersion.version: RosterVersion.version + 1})
        .where(RosterVersion.id == ROSTER)
        .returning(RosterVersion.version)
        .run()
    )
    return int(rows[0]["version"]) if rows else NOT_A_ROSTER_CHANGE


async def _bump(unit: _Unit) -> None:
    """Bump the counter (if this is a roster change) and stamp this transaction's record versions with it.

    The counter's row lock (PostgreSQL) or the single writer (SQLite) is held from the bump to the
    commit, so versions are handed out in commit order: a reader that sees version V can find every
    physician changed up to V by ``record_version.roster_version <= V``, with no clock involved. Only
    this transaction's own rows are still unstamped (others' uncommitted rows are invisible to it).
    """
    stamp = NOT_A_ROSTER_CHANGE
    if unit.roster_change:
        stamp = unit.stamp if unit.stamp is not None else await _next_version()
    await (
        RecordVersion.update({RecordVersion.roster_version: stamp}).where(RecordVersion.roster_version.is_null()).run()
    )
