"""The change counters: a record write bumps the roster's and the records' in one statement, and writers
that take them in different ways never deadlock (PostgreSQL) nor lose a bump."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from piccolo.query.base import Query

from roster.db import write_tx
from roster.db.tx import claim_roster_version, mark_records_written
from roster.history.repository import records_version
from tests.conftest import Api
from tests.integration.db.test_page_cache import license_of, ok, physician, roster_version


async def statements_sent(monkeypatch: pytest.MonkeyPatch, work: Awaitable[Any]) -> list[str]:
    """The SQL of every Piccolo query run while ``work`` is awaited."""
    sent: list[str] = []
    real = Query._run

    async def recorded(self: Query, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(self))
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(Query, "_run", recorded)
    try:
        await work
    finally:
        monkeypatch.undo()
    return sent


async def test_a_license_write_bumps_both_counters_in_one_statement(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    created = await physician(api, 1)
    lic = await license_of(api, created["id"])
    roster, records = await roster_version(), await records_version()

    async def patch() -> None:
        await ok(await api.patch(f"/api/v1/licenses/{lic['id']}", json={"restricted": True}))

    sent = await statements_sent(monkeypatch, patch())
    counters = [q for q in sent if "roster_version SET" in q.replace('"', "")]
    assert len(counters) == 1, counters
    assert await roster_version() == roster + 1 and await records_version() == records + 1


async def test_writers_taking_the_counters_in_every_way_all_commit(api: Api) -> None:
    roster, records = await roster_version(), await records_version()
    assert records is not None

    async def claim_then_records() -> None:  # a hit decision that also writes a record: ROSTER, then RECORDS
        async with write_tx():
            await claim_roster_version()
            await asyncio.sleep(0)
            mark_records_written()

    async def records_then_claim() -> None:  # a record write: both counters in one statement
        async with write_tx():
            mark_records_written()
            await claim_roster_version()
            await asyncio.sleep(0)

    async def records_only() -> None:  # a CME credit: RECORDS alone
        async with write_tx(roster_change=False):
            mark_records_written()
            await asyncio.sleep(0)

    writers = [w() for _ in range(15) for w in (claim_then_records, records_then_claim, records_only)]
    await asyncio.wait_for(asyncio.gather(*writers), 60)
    assert await roster_version() == roster + 30
    assert await records_version() == records + 45
