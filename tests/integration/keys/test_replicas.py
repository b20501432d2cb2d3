"""Revocation and expiry across replicas: two app instances on one database, each caching keys as
production does (issue 18). The revoking replica refuses the key from its next request; the other
within a second, with no fixed sleep: it is polled against a deadline.

Both instances run in this process and so share its database engine, but each has its own key cache,
which is what makes them replicas here.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import time_machine

from roster import clock
from roster.config import Settings
from roster.keys import repository
from tests.conftest import Api
from tests.integration.keys.test_lifecycle import create, replica, revoke, status

#: The contract's bound for another replica.
WITHIN = 1.0


async def refused_within(client: httpx.AsyncClient, key: str, since: float) -> float:
    """Seconds from ``since`` until ``client`` refuses ``key`` (401), failing past :data:`WITHIN`."""
    while (code := await status(client, key)) == 200:
        assert time.monotonic() - since < WITHIN, f"still accepted {WITHIN} s after the revocation"
        await asyncio.sleep(0.01)
    assert code == 401
    return time.monotonic() - since


async def test_a_key_revoked_on_one_replica_is_refused_there_at_once_and_on_the_other_within_a_second(
    api: Api, settings: Settings
) -> None:
    key = await create(api)
    async with replica(settings, "a") as a, replica(settings, "b") as b:
        for client in (a, b, a, b):  # cached on both, and b's counter read just now
            assert await status(client, key["key"]) == 200
        counter = await repository.revocations()
        since = time.monotonic()
        await revoke(a, api, key["id"])
        assert await status(a, key["key"]) == 401, "the revoking replica, at once"
        await refused_within(b, key["key"], since)
        assert await repository.revocations() == (counter or 0) + 1
        assert await status(b, api.keys["manager"]) == 200 and await status(a, api.keys["manager"]) == 200


async def test_a_revocation_through_a_third_process_reaches_both_replicas_within_a_second(
    api: Api, settings: Settings
) -> None:
    """``roster keys revoke`` or another replica: neither cache is told, both must notice."""
    key = await create(api)
    async with replica(settings, "a") as a, replica(settings, "b") as b:
        for client in (a, b, a, b):
            assert await status(client, key["key"]) == 200
        since = time.monotonic()
        await revoke(api.client, api, key["id"])
        await asyncio.gather(refused_within(a, key["key"], since), refused_within(b, key["key"], since))


async def test_a_key_past_its_last_day_is_refused_on_every_replica_without_a_bump(api: Api, settings: Settings) -> None:
    today = clock.today()
    key = await create(api, expires_on=today.isoformat())
    async with replica(settings, "a") as a, replica(settings, "b") as b:
        assert await status(a, key["key"]) == 200 and await status(b, key["key"]) == 200
        counter = await repository.revocations()
        midnight = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
        with time_machine.travel(midnight, tick=False):
            assert await status(a, key["key"]) == 401 and await status(b, key["key"]) == 401
            assert await status(a, api.keys["manager"]) == 200 and await status(b, api.keys["manager"]) == 200
        assert await repository.revocations() == counter, "expiry is judged per use, not announced"
