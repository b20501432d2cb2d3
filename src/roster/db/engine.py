"""Build the Piccolo engine from a database URL and bind every table to it.

Piccolo resolves ``Table._meta.db`` lazily from ``PICCOLO_CONF``; Roster instead binds an engine
built from :class:`~roster.config.Settings` so that the app, the CLI and the tests never depend on
an import-time global (stack-notes §1.5).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

import aiosqlite
import asyncpg
import msgspec
from piccolo.columns import JSON, Array, Boolean, Column
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, dict_factory
from piccolo.query.methods.select import Select
from piccolo.querystring import QueryString
from piccolo.table import Table

from roster.config import Settings

_engine: Engine | None = None
T = TypeVar("T")
log = logging.getLogger(__name__)

#: How long closing waits for connections still checked out of the PostgreSQL pool before closing
#: them under their holder.
POOL_CLOSE_SECONDS = 10.0


def sqlite_path(url: str) -> str:
    """``sqlite:///rel.db`` -> ``rel.db``; ``sqlite:////abs/x.db`` -> ``/abs/x.db``."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not an SQLite URL: {url!r}")
    return url.removeprefix("sqlite:///")


def postgres_config(url: str) -> dict[str, object]:
    parsed = urlparse(url)
    config: dict[str, object] = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username) if parsed.username else "postgres",
        "database": parsed.path.lstrip("/") or "postgres",
    }
    if parsed.password:
        config["password"] = unquote(parsed.password)
    return config


class _LoopPool:
    def __init__(self) -> None:
        self.idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self.opened: list[aiosqlite.Connection] = []
        #: A plain connection owned by the loop's thread, for :meth:`PooledSQLiteEngine.read_inline`.
        self.inline: sqlite3.Connection | None = None
        #: Another, giving bare tuples with no type conversion (:func:`read_values_by_key`).
        self.bare: sqlite3.Connection | None = None


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, reusing connections for statements outside a transaction.

    Stock Piccolo opens a new aiosqlite connection (and thread) for every query, which costs more
    than the query itself on a hot read path. Statements outside a transaction run in autocommit
    mode, so a reused connection sees every committed write; transactions still get a connection
    of their own, as Piccolo does it.
    """

    def __init__(self, path: str, pool_size: int = 4, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self.pool_size = pool_size
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool] = weakref.WeakKeyDictionary()

    def start_pool(self) -> None:
        """Pool connections on the running loop until :meth:`close_pool`; other loops are unpooled."""
        self._pools.setdefault(asyncio.get_running_loop(), _LoopPool())

    async def _acquire(self, pool: _LoopPool) -> aiosqlite.Connection:
        if pool.idle.empty() and len(pool.opened) < self.pool_size:
            connection = await self.get_connection()
            pool.opened.append(connection)
            return connection
        return await pool.idle.get()

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> list[dict[str, Any]]:
        pool = self._pools.get(asyncio.get_running_loop())
        if pool is None:
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await self._acquire(pool)
        try:
            # One hop to the connection's thread (execute, fetch, close there), not three.
            rows = list(await connection.execute_fetchall(query, args or []))
        except Exception:
            pool.idle.put_nowait(connection)
            raise
        except BaseException:
            # Cancelled mid-statement: the connection's state is unknown, so it is not reused.
            pool.opened.remove(connection)
            await asyncio.shield(connection.close())
            raise
        pool.idle.put_nowait(connection)
        return rows

    def read_inline(self, query: str, args: Sequence[Any] = (), *, bare: bool = False) -> list[Any] | None:
        """Run a read by key on the event loop's own thread; None when it cannot be done so.

        For the version counters every match reads and the by-id reads of the API: handing a query to a
        connection's thread and waking the loop for the result costs more than the read itself. In WAL mode a reader
        does not wait for writers, and the connection never waits for a lock (``timeout=0``): on
        ``SQLITE_BUSY`` (a WAL recovery, say) the caller falls back to the pooled, waiting path.
        Outside a transaction only, in autocommit, so it sees every committed write. Rows are dicts of
        typed values, or with ``bare`` tuples of SQLite's own values (no conversion: for counters).
        """
        pool = self._pools.get(asyncio.get_running_loop())
        if pool is None or self.current_transaction.get() is not None:
            return None
        connection = pool.bare if bare else pool.inline
        if connection is None:
            if bare:
                connection = pool.bare = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            else:
                detect_types = self.connection_kwargs.get("detect_types", 0)  # Piccolo's converters: typed rows
                connection = sqlite3.connect(self.path, timeout=0, isolation_level=None, detect_types=detect_types)
                connection.row_factory = dict_factory
                pool.inline = connection
        try:
            return connection.execute(query, args).fetchall()
        except sqlite3.OperationalError as error:
            if (error.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):  # or an extended code
                return None
            raise

    async def get_connection(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def close_pool(self) -> None:
        """Close this loop's pooled connections (their threads would otherwise outlive the loop)."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            for connection in pool.opened:
                await connection.close()
            for connection in (pool.inline, pool.bare):
                if connection is not None:
                    connection.close()


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return PooledSQLiteEngine(path=path, timeout=settings.sqlite_busy_timeout)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(config=postgres_config(url))
    raise ValueError(f"ROSTER_DATABASE_URL: unsupported database URL {url!r}")


def bind_engine(engine: Engine) -> None:
    from roster.db.tables import ALL_TABLES

    global _engine
    _engine = engine
    for table in ALL_TABLES:
        table._meta.db = engine


def current_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("no database engine is bound; call roster.db.open_engine(settings) first")
    return _engine


async def read_by_key(template: str, *args: Any) -> list[dict[str, Any]]:
    """A small read by key: inline on pooled SQLite (see ``PooledSQLiteEngine.read_inline``), else through
    the engine (its pool, or the current transaction's connection) like any query.

    ``template`` is SQL with ``{}`` for each of ``args`` (Piccolo's ``QueryString``), written once by the
    caller: building a Piccolo query per request costs several times the read on a by-id path.
    """
    engine = current_engine()
    if (
        isinstance(engine, PooledSQLiteEngine)
        and (rows := engine.read_inline(_sqlite_sql(template, len(args)), args)) is not None
    ):
        return rows
    return [dict(row) for row in await engine.run_querystring(QueryString(template, *args))]


async def read_values_by_key(template: str, *args: Any) -> list[tuple[Any, ...]]:
    """:func:`read_by_key` as tuples of the database's own values, in the order selected: the cheapest
    read there is, for the version counters every match reads (no conversion, no dict per row)."""
    engine = current_engine()
    if (
        isinstance(engine, PooledSQLiteEngine)
        and (rows := engine.read_inline(_sqlite_sql(template, len(args)), args, bare=True)) is not None
    ):
        return rows
    return [tuple(row.values()) for row in await engine.run_querystring(QueryString(template, *args))]


@functools.lru_cache(maxsize=256)
def _sqlite_sql(template: str, arity: int) -> str:
    """A template's SQLite text, compiled once (templates are module constants)."""
    return QueryString(template, *([None] * arity)).compile_string(engine_type="sqlite")[0]


async def read_page(query: Select, into: type[T], order: Sequence[str]) -> list[T]:
    """A page of a plain ``Select`` (no ``output()`` options), as ``into`` structs, in ``order`` (its
    ``ORDER BY`` columns, by output name).

    On pooled SQLite it runs inline (see :meth:`PooledSQLiteEngine.read_inline`) and SQLite writes each row
    as one JSON object that msgspec decodes straight into ``into``: converting a page's dates, timestamps,
    ids and JSON arrays one value at a time in Python cost four times the query. Elsewhere it runs as
    Piccolo runs it, each row converted."""
    engine = current_engine()
    if isinstance(engine, PooledSQLiteEngine):
        sql, values = query.querystrings[0].compile_string(engine_type="sqlite")
        rows = engine.read_inline(_as_json_objects(query, sql, order), values)
        if rows is not None:
            return _page_decoder(into).decode(b"[" + b",".join(row["doc"].encode() for row in rows) + b"]")
    return [msgspec.convert(row, into) for row in await query.run()]


@functools.cache
def _page_decoder(into: type[T]) -> msgspec.json.Decoder[list[T]]:
    return msgspec.json.Decoder(list[into])  # type: ignore[valid-type]


def _as_json_objects(query: Select, sql: str, order: Sequence[str]) -> str:
    """``sql`` with each row written as one JSON object (``doc``) by SQLite, in ``order`` again outside (the
    order of a subquery is not promised to survive the outer query)."""
    columns = query.columns_delegate.selected_columns or query.table._meta.columns
    fields = _json_fields(tuple((getattr(c, "_alias", None) or c._meta.name, _json_kind(c)) for c in columns))
    return _json_sql(fields, sql, tuple(order))


def _json_kind(column: Column) -> str:
    if isinstance(column, (Array, JSON)):  # stored as JSON text: embedded as JSON, not as a string
        return "json"
    if isinstance(column, Boolean):  # stored as 0/1
        return "bool"
    return "value"


@functools.lru_cache(maxsize=64)
def _json_fields(columns: tuple[tuple[str, str], ...]) -> str:
    values = {
        "json": 'json("{0}")',
        "bool": "CASE WHEN \"{0}\" IS NULL THEN NULL WHEN \"{0}\" THEN json('true') ELSE json('false') END",
        "value": '"{0}"',
    }
    return ", ".join(f"'{name}', {values[kind].format(name)}" for name, kind in columns)


@functools.lru_cache(maxsize=256)
def _json_sql(fields: str, sql: str, order: tuple[str, ...]) -> str:
    ordered = ", ".join(f'"{name}"' for name in order)
    return f"SELECT json_object({fields}) AS doc FROM ({sql}) ORDER BY {ordered}"


def select_template(table: type[Table], where: str, columns: Sequence[Column] = ()) -> str:
    """``SELECT`` of ``columns`` (every column of ``table`` by default), named as Piccolo's ``select()``
    names them (aliases kept), ``WHERE where``: a template for :func:`read_by_key`, with a ``{}`` per
    argument in ``where``."""
    names = ", ".join(
        f'"{c._meta.db_column_name}" AS "{getattr(c, "_alias", None) or c._meta.name}"'
        for c in (columns or table._meta.columns)
    )
    return f'SELECT {names} FROM "{table._meta.tablename}" WHERE {where}'


def enable_wal(path: str) -> None:
    """WAL persists in the file, so it is set once here rather than on every connection."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


async def open_engine(settings: Settings, *, pool: bool = True) -> Engine:
    engine = make_engine(settings)
    bind_engine(engine)
    if isinstance(engine, SQLiteEngine):
        enable_wal(engine.path)
        if pool and isinstance(engine, PooledSQLiteEngine):
            engine.start_pool()
    elif pool:
        await engine.start_connection_pool(
            min_size=settings.pg_pool_min, max_size=settings.pg_pool_max, reset=keep_session
        )
    return engine


async def keep_session(connection: asyncpg.Connection) -> None:
    """A released connection needs no reset query: asyncpg still rolls back an open transaction and drops
    listeners, and nothing here leaves session state on a pooled connection (``SET LOCAL`` and
    transaction-scoped advisory locks only; the scheduler's session lock has its own connection). The
    default ``RESET ALL; UNLISTEN *; ...`` cost every pooled read and write one more round trip."""


async def close_engine(engine: Engine) -> None:
    if isinstance(engine, PooledSQLiteEngine):
        await engine.close_pool()
    elif isinstance(engine, PostgresEngine) and engine.pool is not None:
        pool, engine.pool = engine.pool, None
        try:
            await asyncio.wait_for(pool.close(), POOL_CLOSE_SECONDS)
        except TimeoutError:
            # asyncpg waits for every checked-out connection; one leaked by a task cancelled mid-query
            # would hang shutdown for good.
            log.warning(
                "closing the PostgreSQL pool: a connection was still in use after %ss; closed it", POOL_CLOSE_SECONDS
            )
            pool.terminate()
