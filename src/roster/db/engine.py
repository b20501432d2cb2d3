"""Build the Piccolo engine from a database URL and bind every table to it.

Piccolo resolves ``Table._meta.db`` lazily from ``PICCOLO_CONF``; Roster instead binds an engine
built from :class:`~roster.config.Settings` so that the app, the CLI and the tests never depend on
an import-time global (stack-notes §1.5).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from roster.config import Settings

_engine: Engine | None = None


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


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=path, timeout=settings.sqlite_busy_timeout)
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


def enable_wal(path: str) -> None:
    """WAL persists in the file, so it is set once here rather than on every connection."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


async def open_engine(settings: Settings, *, pool: bool = True) -> Engine:
    engine = make_engine(settings)
    bind_engine(engine)
    if isinstance(engine, SQLiteEngine):
        enable_wal(engine.path)
    elif pool:
        await engine.start_connection_pool(min_size=settings.pg_pool_min, max_size=settings.pg_pool_max)
    return engine


async def close_engine(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
