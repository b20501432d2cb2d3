"""A pooled PostgreSQL connection goes back without asyncpg's reset query (one round trip less on every
read and write), and what a release must still undo is undone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from roster.db import close_engine, open_engine
from roster.db.tables import AuditEvent
from tests.conftest import TempDatabase


@pytest.fixture
async def engine(migrated: TempDatabase) -> AsyncIterator[PostgresEngine]:
    if migrated.backend != "postgres":
        pytest.skip("only PostgreSQL connections are pooled by asyncpg")
    opened = await open_engine(migrated.settings())
    assert isinstance(opened, PostgresEngine) and opened.pool is not None
    yield opened
    await close_engine(opened)


async def test_a_pooled_read_sends_one_statement(engine: PostgresEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    for name in ("execute", "fetch"):
        real = getattr(asyncpg.Connection, name)

        async def recorded(self: asyncpg.Connection, query: str, *args: object, _real=real, **kwargs: object) -> object:
            sent.append(query)
            return await _real(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, name, recorded)
    assert await AuditEvent.count().run() >= 0
    assert len(sent) == 1 and "count" in sent[0].lower(), sent


async def test_a_transaction_left_open_is_rolled_back_on_release(engine: PostgresEngine) -> None:
    entity_id = str(uuid.uuid4())
    connection = await engine.pool.acquire()
    await connection.execute("BEGIN")
    await connection.execute(
        "INSERT INTO audit_event (id, occurred_at, actor, action, entity, entity_id) "
        "VALUES ($1, now(), 'test', 'probe', 'test', $2)",
        uuid.uuid4(),
        entity_id,
    )
    await engine.pool.release(connection)
    assert await AuditEvent.count().where(AuditEvent.entity_id == entity_id).run() == 0
    async with engine.pool.acquire() as again:
        assert not again.is_in_transaction()
