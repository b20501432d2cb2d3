"""Alembic environment: the schema comes from the Piccolo tables (``roster.db.schema``).

The URL comes from ``ROSTER_DATABASE_URL`` (or ``-x url=...``); the drivers are the async ones
Piccolo already uses (aiosqlite, asyncpg). On SQLite, DDL runs in a real transaction so a failed
migration rolls back instead of leaving a half-copied table behind.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import event, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from roster.config import Settings
from roster.db.schema import register_sqlite_reflection, target_metadata

config = context.config
register_sqlite_reflection()
metadata = target_metadata()


def _async_url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.attributes.get("database_url")
        or Settings.from_env().database_url
    )
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def _do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transactional_ddl=True,
        user_module_prefix="roster.db.schema.",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = _async_url()
    engine = create_async_engine(url, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _no_implicit_begin(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _explicit_begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN")

    async with engine.connect() as connection:
        await connection.run_sync(_do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_async_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
