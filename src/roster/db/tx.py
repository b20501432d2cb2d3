"""The one way services open a write transaction."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from roster.db.engine import current_engine
from roster.history.tables import RECORDS, ROSTER, RecordVersion, RosterVersion

log = logging.getLogger(__name__)

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


# ------------------------------------------------------------------ SQLite: the writer's connection
#
# A write holds the writer lock from ``BEGIN IMMEDIATE`` to ``COMMIT``. Through aiosqlite, each of its
# statements is four hops to a connection thread and back (Piccolo sends ``PRAGMA foreign_keys``, the
# statement, ``fetchall`` and ``close``), plus a new connection (a thread, an open, the schema read) per
# transaction: about 37 hops for a PATCH, each waiting for the event loop to come round again. Under a
# match-heavy load the loop takes ~1 ms a turn, so the lock was held ~60 ms for ~4 ms of SQL, and writes
# queued behind each other for hundreds of ms (bench/mixed.py). Inside the lock, SQLite statements on
# the writer's own connection never wait for another connection (WAL; this process's writers hold the
# write lock), and the few a request sends take microseconds: they run inline on the loop's thread, on a
# connection kept for the loop. What may take long goes to a thread: ``BEGIN IMMEDIATE`` when another
# process holds the write lock (it then waits up to the busy timeout), ``COMMIT`` (the WAL's fsync and
# checkpoints) and bulk ``executemany``, after which the rest of that transaction stays off the loop.

_T = TypeVar("_T")
#: Bulk inserts of more rows than this leave the loop (with the rest of their transaction).
INLINE_ROWS = 256
#: The writers' own thread, for what leaves the loop: not the default executor, where a COMMIT queued
#: behind other work (up to ~100 ms under load) with the writer lock held.
_WRITER_THREAD = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="roster-writer")
#: Where a bulk transaction's WAL is checkpointed, on a connection of its own (see ``_WriterConnection.finish``).
_CHECKPOINT_THREAD = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="roster-checkpoint")


class _Rows:
    """A fetched cursor, as aiosqlite's cursor answers Piccolo and ``db.bulk``."""

    __slots__ = ("lastrowid", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.rows = cursor.fetchall()
        self.lastrowid, self.rowcount = cursor.lastrowid, cursor.rowcount
        cursor.close()

    async def fetchall(self) -> list[Any]:
        return self.rows

    async def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> _Rows:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


class _Statement:
    """``connection.execute(...)``: awaitable, or an async context manager yielding the cursor (as aiosqlite's)."""

    __slots__ = ("connection", "params", "sql")

    def __init__(self, connection: _WriterConnection, sql: str, params: Sequence[Any]) -> None:
        self.connection, self.sql, self.params = connection, sql, params

    def __await__(self) -> Any:
        return self.connection._execute(self.sql, self.params).__await__()

    async def __aenter__(self) -> _Rows:
        return await self.connection._execute(self.sql, self.params)

    async def __aexit__(self, *exc: object) -> None:
        pass


class _WriterConnection:
    """The surface of an aiosqlite connection a transaction's code uses, over one plain sqlite3 connection."""

    def __init__(self, raw: sqlite3.Connection, busy_timeout: float, database: dict[str, Any]) -> None:
        self.raw = raw
        #: How to open another connection to its database (``sqlite3.connect``'s arguments).
        self.database = database
        self.busy_timeout = busy_timeout
        self.row_factory: Any = dict_factory
        #: A bulk statement ran: the rest of the transaction runs in a thread too.
        self.off_loop = False
        #: Its page cache was enlarged (``db.bulk``): set back after the transaction, as memory stays resident.
        self.cache_changed = False
        #: Its state is unknown (an operation failed or was abandoned): closed instead of reused.
        self.broken = False
        #: Its ``wal_autocheckpoint``, set aside (0) while a bulk commit's checkpoint runs elsewhere.
        self.held_autocheckpoint: int | None = None
        #: That checkpoint, once a bulk transaction has committed.
        self.checkpoint: concurrent.futures.Future[None] | None = None

    @property
    def total_changes(self) -> int:
        return self.raw.total_changes

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Statement:
        return _Statement(self, sql, params)

    async def executemany(self, sql: str, records: Any) -> None:
        if self.off_loop or len(records) > INLINE_ROWS:
            self.off_loop = True
            await self.in_thread(lambda: self.raw.executemany(sql, records).close())
        else:  # a handful of rows (a verification, an alert): inline like any statement
            self.raw.executemany(sql, records).close()

    async def _execute(self, sql: str, params: Sequence[Any]) -> _Rows:
        if sql.lstrip()[:17].upper().startswith("PRAGMA CACHE_SIZE"):
            self.cache_changed = True
        self.raw.row_factory = self.row_factory
        if self.off_loop:
            return await self.in_thread(lambda: _Rows(self.raw.execute(sql, params)))
        return _Rows(self.raw.execute(sql, params))

    async def in_thread(self, work: Callable[[], _T]) -> _T:
        """``work`` on a worker thread; if the caller is cancelled, still waits for it to finish (the
        connection must not be used by two threads at once), then marks the connection broken."""
        future = asyncio.get_running_loop().run_in_executor(_WRITER_THREAD, work)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            self.broken = True
            while not future.done():
                try:
                    await asyncio.wait([future])
                except asyncio.CancelledError:
                    continue
            raise

    async def begin(self) -> None:
        self._resume_checkpoints()
        try:
            self.raw.execute("BEGIN IMMEDIATE")  # busy_timeout is 0 here: never waits on the loop
            return
        except sqlite3.OperationalError as error:
            if (error.sqlite_errorcode & 0xFF) not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
        # Another process writes: wait for it in a thread, as long as the busy timeout allows.
        ms = int(self.busy_timeout * 1000)

        def wait_and_begin() -> None:
            self.raw.execute(f"PRAGMA busy_timeout = {ms}")
            try:
                self.raw.execute("BEGIN IMMEDIATE")
            finally:
                self.raw.execute("PRAGMA busy_timeout = 0")

        await self.in_thread(wait_and_begin)

    async def finish(self, sql: str) -> None:
        """``COMMIT`` (in a thread: the fsync, a checkpoint) or ``ROLLBACK`` (inline: it only drops pages)."""
        if sql != "COMMIT":
            self.raw.execute(sql)
        elif self.off_loop:
            await self.in_thread(self._commit_bulk)
        else:
            await self.in_thread(lambda: self.raw.execute("COMMIT"))

    def _commit_bulk(self) -> None:
        """Commit a bulk transaction without checkpointing its WAL, then checkpoint it on another connection.

        A committing connection runs SQLite's automatic checkpoint once the WAL passes 1,000 pages: it
        copies the WAL into the database file and syncs it. After a bulk load that is every page the
        load wrote (a 50k-physician import: ~100,000 pages, 1.1-1.5 s of its ~9 s), paid by the load
        after its data was already committed, or by whichever small write commits next. The checkpoint
        is PASSIVE on its own connection: readers and writers go on meanwhile. Until it ends, this
        connection checkpoints nothing itself (it would only wait on it or repeat it)."""
        if self.held_autocheckpoint is None:
            self.held_autocheckpoint = self.autocheckpoint()
            self.raw.execute("PRAGMA wal_autocheckpoint = 0")
        self.raw.execute("COMMIT")
        self.checkpoint = _CHECKPOINT_THREAD.submit(_checkpoint, self.database)

    def autocheckpoint(self) -> int:
        """Its ``wal_autocheckpoint`` (WAL pages past which a commit checkpoints; 0: never)."""
        cursor = self.raw.cursor()
        cursor.row_factory = None  # the connection's rows are dicts keyed by column name
        try:
            return int(cursor.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        finally:
            cursor.close()

    def _resume_checkpoints(self) -> None:
        if self.held_autocheckpoint is not None and (self.checkpoint is None or self.checkpoint.done()):
            self.raw.execute(f"PRAGMA wal_autocheckpoint = {self.held_autocheckpoint}")
            self.held_autocheckpoint = None

    def reset(self) -> None:
        self.off_loop = False
        if self.cache_changed:
            self.raw.execute("PRAGMA cache_size = -2000")  # SQLite's default; frees the pages above it
            self.cache_changed = False


def _checkpoint(database: dict[str, Any]) -> None:
    """A PASSIVE checkpoint of the WAL (it waits for no one) on a connection opened for it."""
    try:
        with contextlib.closing(sqlite3.connect(**database)) as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error:  # the next commit past 1,000 WAL pages checkpoints instead
        log.warning("checkpointing the WAL after a bulk commit failed", exc_info=True)


#: Each SQLite engine's writer connection, per event loop (a loop's writers take turns on its lock).
_writer_connections: weakref.WeakKeyDictionary[SQLiteEngine, weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()


def _writer_connection(engine: SQLiteEngine) -> _WriterConnection:
    per_loop = _writer_connections.setdefault(engine, weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    connection = per_loop.get(loop)
    if connection is None or connection.broken:
        if connection is not None:
            connection.raw.close()
        kwargs = {**engine.connection_kwargs, "timeout": 0, "isolation_level": None, "check_same_thread": False}
        raw = sqlite3.connect(**kwargs)
        raw.execute("PRAGMA foreign_keys = 1")
        busy = float(engine.connection_kwargs.get("timeout", 5.0))
        connection = per_loop[loop] = _WriterConnection(raw, busy, kwargs)
    return connection


class _WriterTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction on the loop's writer connection (see above), kept open afterwards.
    Only under the writer lock: the connection is the loop's, one transaction at a time."""

    async def get_connection(self) -> _WriterConnection:  # type: ignore[override]
        return _writer_connection(self.engine)

    async def begin(self) -> None:
        await self.connection.begin()

    async def commit(self) -> None:
        await self.connection.finish("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        await self.connection.finish("ROLLBACK")
        self._rolled_back = True

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        connection: _WriterConnection = self.connection
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            connection.broken = True
            with contextlib.suppress(sqlite3.Error):
                if connection.raw.in_transaction:
                    connection.raw.execute("ROLLBACK")
            raise
        finally:
            self.engine.current_transaction.reset(self.context)
            if connection.broken or connection.raw.in_transaction:
                connection.broken = True
            else:
                connection.reset()
        return exception is None

    async def __aenter__(self) -> _WriterTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            await self.begin()
        except BaseException:
            self.connection.broken = self.connection.broken or self.connection.raw.in_transaction
            raise
        self.context = self.engine.current_transaction.set(self)
        return self


@dataclass(slots=True)
class _Unit:
    """The open write transaction's bookkeeping."""

    #: Whether it changes what the roster index is built from.
    roster_change: bool
    #: The roster version it commits as, once claimed (see :func:`claim_roster_version`).
    stamp: int | None = None
    #: Whether it wrote physician, license or certification records (see :func:`mark_records_written`).
    records: bool = False
    #: Whether the records' counter was bumped with the roster's claim (one statement for both).
    records_bumped: bool = False
    #: Record versions inserted before it had a stamp, stamped at commit by id (see :func:`version_stamp`).
    unstamped: list[Any] = field(default_factory=list)


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
            async with _writer_lock(), _WriterTransaction(engine, transaction_type=TransactionType.immediate):
                yield
                await _bump(unit)
        else:
            async with engine.transaction():
                yield
                await _bump(unit)
    finally:
        _unit.reset(token)


def mark_records_written() -> None:
    """The open transaction writes physician, license or certification records (or a physician's CME
    credits): it bumps the records' counter (``roster_version`` row ``RECORDS``) before it commits, roster
    change or not, so every replica's cached list pages and compliance reports (``roster.db.page_cache``)
    miss from the commit on. Every record write records a history version, so ``roster.history`` calls
    this; a CME credit calls it itself; a roster change bumps it anyway."""
    unit = _unit.get()
    if unit is None:
        raise RuntimeError("records are written inside write_tx() only")
    unit.records = True


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
        unit.stamp = await _next_version(records=unit.records)
        unit.records_bumped = unit.records
    return unit.stamp


async def version_stamp(version_ids: Iterable[Any]) -> int | None:
    """The roster version to insert the open transaction's new record versions (``version_ids``) with:
    claimed now when it is a roster change (:func:`claim_roster_version`). Otherwise None: they are
    inserted unstamped and stamped by id at commit (with the version, should a later write in the same
    transaction make it a roster change, else ``NOT_A_ROSTER_CHANGE``).

    Stamped as inserted, a version is written once. Stamping every unstamped version at commit
    (``WHERE roster_version IS NULL``) rewrote each one, and on PostgreSQL that statement walked the
    index entries of every version rewritten since the last vacuum, under the counter's lock: a write's
    p50 under the mixed load grew minute by minute (issue 18)."""
    unit = _unit.get()
    if unit is None:
        raise RuntimeError("record versions are written inside write_tx() only")
    stamp = await claim_roster_version()
    if stamp is None:
        unit.unstamped.extend(version_ids)
    return stamp


#: Both counters in one statement, locked in the order every writer takes them (``ROSTER`` first: see
#: :func:`_bump`). PostgreSQL locks an ``UPDATE``'s rows in scan order, so the order is fixed by a locking
#: ``SELECT`` sorted by id; SQLite has one writer at a time and needs no lock order.
_BUMP_BOTH = {
    "postgres": (
        "WITH locked AS MATERIALIZED (SELECT id FROM roster_version WHERE id IN ({roster}, {records}) "
        "ORDER BY id FOR UPDATE) "
        "UPDATE roster_version SET version = roster_version.version + 1 FROM locked "
        "WHERE roster_version.id = locked.id RETURNING roster_version.id, roster_version.version"
    ),
    "sqlite": "UPDATE roster_version SET version = version + 1 WHERE id IN ({roster}, {records}) RETURNING id, version",
}


async def _next_version(*, records: bool = False) -> int:
    """Bump the roster's counter; with ``records``, the records' counter too, in the same round trip (a
    record write that claims its roster version early, as most do: see :func:`version_stamp`)."""
    if records:
        sql = _BUMP_BOTH["sqlite" if isinstance(current_engine(), SQLiteEngine) else "postgres"]
        rows = await RosterVersion.raw(sql.format(roster=ROSTER, records=RECORDS)).run()
    else:
        rows = (
            await RosterVersion.update({RosterVersion.version: RosterVersion.version + 1})
            .where(RosterVersion.id == ROSTER)
            .returning(RosterVersion.id, RosterVersion.version)
            .run()
        )
    return next((int(row["version"]) for row in rows if row["id"] == ROSTER), NOT_A_ROSTER_CHANGE)


async def _bump(unit: _Unit) -> None:
    """Bump the counter (if this is a roster change) and stamp with it the record versions this transaction
    inserted before it had one; bump the records' counter if it wrote records (or is a roster change:
    forgetting to mark a write costs cached pages, never a stale one).

    The counter's row lock (PostgreSQL) or the single writer (SQLite) is held from the bump (or the
    claim) to the commit, so versions are handed out in commit order: a reader that sees version V can
    find every physician changed up to V by ``record_version.roster_version <= V``, with no clock involved.
    """
    stamp = NOT_A_ROSTER_CHANGE
    if unit.roster_change:
        stamp = unit.stamp if unit.stamp is not None else await _next_version()
    if (unit.roster_change or unit.records) and not unit.records_bumped:
        # After ``ROSTER`` (always that order: no two writers lock the counters crosswise). Held to the
        # commit like it, so a reader of the records' counter never sees a value ahead of the records.
        await (
            RosterVersion.update({RosterVersion.version: RosterVersion.version + 1})
            .where(RosterVersion.id == RECORDS)
            .run()
        )
    for start in range(0, len(unit.unstamped), _STAMP_CHUNK):
        chunk = [UUID(str(version_id)) for version_id in unit.unstamped[start : start + _STAMP_CHUNK]]
        await RecordVersion.update({RecordVersion.roster_version: stamp}).where(RecordVersion.id.is_in(chunk)).run()


#: Record versions stamped per statement at commit (under the bind-parameter limits).
_STAMP_CHUNK = 500
