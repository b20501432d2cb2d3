"""A bulk import commits asynchronously on PostgreSQL, and only that transaction does."""

from __future__ import annotations

from roster.db import write_tx
from roster.imports import repository
from roster.physicians.tables import Physician
from tests.conftest import Api, TempDatabase


async def synchronous_commit() -> str | None:
    rows = await Physician.raw("SHOW synchronous_commit").run()
    return rows[0]["synchronous_commit"]


async def test_asynchronous_commit_is_local_to_the_import_transaction(api: Api, migrated: TempDatabase) -> None:
    if migrated.backend == "sqlite":
        async with write_tx():
            await repository.commit_asynchronously()  # a no-op there: SQLite has no such setting
        return
    assert await synchronous_commit() == "on"
    async with write_tx():
        await repository.commit_asynchronously()
        assert await synchronous_commit() == "off"
    for _ in range(3):  # pooled connections: none of them keeps the setting
        assert await synchronous_commit() == "on"
