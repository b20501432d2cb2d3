"""``KeyCache`` without a database: what it reads, when, and what it trusts."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import time_machine

from roster.keys import service
from roster.keys.service import KeyCache, authenticate, expires_at, hash_key

KEY = "rst_" + "k" * 43


@dataclass
class FakeKeys:
    """The repository functions the cache calls, counting the calls."""

    expires_on: date | None = None
    revoked: bool = False
    counter: int = 0
    key_reads: int = 0
    counter_reads: int = 0
    uses: list[dict[UUID, datetime]] = field(default_factory=list)
    key_id: UUID = field(default_factory=uuid.uuid4)
    #: Run while the key row is being read (a revocation racing the read).
    during_key_read: Any = None
    #: Awaited while the key row is being read (a slow database); the row is as it was when the read began.
    key_read_gate: asyncio.Event | None = None
    #: Awaited while the counter is being read.
    counter_read_gate: asyncio.Event | None = None

    async def find_unrevoked_by_hash(self, key_hash: str) -> dict[str, Any] | None:
        assert key_hash == hash_key(KEY)
        self.key_reads += 1
        row = (
            None if self.revoked else {"id": self.key_id, "name": "n", "role": "router", "expires_on": self.expires_on}
        )
        if self.key_read_gate is not None:
            await self.key_read_gate.wait()
        if self.during_key_read is not None:
            self.during_key_read()
            self.during_key_read = None
        return row

    async def revocations(self) -> int:
        self.counter_reads += 1
        counter = self.counter  # as of the read's start, like a database snapshot
        if self.counter_read_gate is not None:
            await self.counter_read_gate.wait()
        return counter

    async def record_use(self, used: dict[UUID, datetime]) -> None:
        self.uses.append(dict(used))

    def revoke(self) -> None:
        self.revoked = True
        self.counter += 1


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> FakeKeys:
    fake = FakeKeys()
    for name in ("find_unrevoked_by_hash", "revocations", "record_use"):
        monkeypatch.setattr(service.repository, name, getattr(fake, name))
    return fake


async def test_a_cached_key_costs_one_counter_read_per_recheck_not_per_request(keys: FakeKeys) -> None:
    cache = KeyCache(ttl_seconds=30, recheck_seconds=3600)
    for _ in range(100):
        assert (await authenticate(KEY, cache)) is not None
    assert (keys.key_reads, keys.counter_reads) == (1, 1)


async def test_without_caching_the_counter_is_never_read(keys: FakeKeys) -> None:
    cache = KeyCache(ttl_seconds=0)
    for _ in range(3):
        assert (await authenticate(KEY, cache)) is not None
    assert (keys.key_reads, keys.counter_reads) == (3, 0)


async def test_a_revocation_elsewhere_is_seen_at_the_next_recheck(keys: FakeKeys) -> None:
    cache = KeyCache(ttl_seconds=30, recheck_seconds=0.05)
    assert await authenticate(KEY, cache) is not None
    keys.revoke()  # through another process: this cache is not told
    assert await authenticate(KEY, cache) is not None, "trusted until the recheck"
    await asyncio.sleep(0.06)
    assert await authenticate(KEY, cache) is None
    assert keys.counter_reads == 2


class SteppedClock:
    """``time`` for the cache with a monotonic clock that moves only when told (wall time is real)."""

    def __init__(self) -> None:
        self.moment = 1_000.0

    def monotonic(self) -> float:
        return self.moment

    def time(self) -> float:
        return time.time()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
    stepped = SteppedClock()
    monkeypatch.setattr(service, "time", stepped)
    return stepped


async def test_a_busy_process_reads_the_counter_ahead_and_no_request_waits_for_it(
    keys: FakeKeys, clock: SteppedClock
) -> None:
    """Past half the interval a request starts the next read and is answered without waiting for it; the
    read, landing before the interval is up, still drops a key revoked elsewhere."""
    cache = KeyCache(ttl_seconds=30, recheck_seconds=0.5)
    assert await authenticate(KEY, cache) is not None
    clock.moment += 0.3  # past half the interval, within it
    keys.revoke()  # elsewhere
    keys.counter_read_gate = asyncio.Event()  # a slow read
    assert await asyncio.wait_for(authenticate(KEY, cache), 1) is not None, "answered from the cache"
    await asyncio.sleep(0)
    assert keys.counter_reads == 2, "the next read began in the background"
    assert await authenticate(KEY, cache) is not None and keys.counter_reads == 2, "one read ahead, not one a request"
    keys.counter_read_gate.set()
    await asyncio.sleep(0.01)
    assert await authenticate(KEY, cache) is None, "the read ahead saw the revocation"
    assert keys.counter_reads == 2


async def test_a_read_ahead_that_fails_is_tried_again_half_an_interval_later_not_per_request(
    keys: FakeKeys, clock: SteppedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = KeyCache(ttl_seconds=30, recheck_seconds=0.5)
    assert await authenticate(KEY, cache) is not None
    clock.moment += 0.3
    tries = 0

    async def down() -> int:
        nonlocal tries
        tries += 1
        raise OSError("database unreachable")

    monkeypatch.setattr(service.repository, "revocations", down)
    for _ in range(20):
        assert await authenticate(KEY, cache) is not None, "the last read still holds"
        await asyncio.sleep(0)
    assert tries == 1
    clock.moment += 0.1  # within the interval, less than half an interval since that try: no other
    assert await authenticate(KEY, cache) is not None
    await asyncio.sleep(0)
    assert tries == 1, "not before half an interval has passed since the last try"
    clock.moment += 0.2  # the interval is up: requests now wait for a read, and fail with it
    with pytest.raises(OSError):
        await authenticate(KEY, cache)


async def test_a_revocation_racing_the_key_read_is_not_cached_for_long(keys: FakeKeys) -> None:
    """The key row was read live, then revoked before the counter was re-read: the entry carries the
    counter from before the read, so the re-read drops it."""
    cache = KeyCache(ttl_seconds=30, recheck_seconds=0.05)
    keys.during_key_read = keys.revoke
    assert await authenticate(KEY, cache) is not None  # the row as read
    await asyncio.sleep(0.06)
    assert await authenticate(KEY, cache) is None


async def test_forget_rereads_the_counter_at_once(keys: FakeKeys) -> None:
    cache = KeyCache(ttl_seconds=30, recheck_seconds=3600)
    assert await authenticate(KEY, cache) is not None
    keys.revoke()
    cache.forget()  # revoked through this process
    assert await authenticate(KEY, cache) is None
    assert keys.counter_reads == 2


async def test_a_cached_key_expires_at_midnight_utc_after_its_last_day(keys: FakeKeys) -> None:
    last_day = date(2031, 5, 6)
    keys.expires_on = last_day
    assert expires_at(last_day) == datetime(2031, 5, 7, tzinfo=UTC)
    cache = KeyCache(ttl_seconds=10**9, recheck_seconds=10**9)
    with time_machine.travel(datetime(2031, 5, 6, 0, 0, tzinfo=UTC), tick=False) as traveller:
        assert await authenticate(KEY, cache) is not None
        traveller.move_to(datetime(2031, 5, 6, 23, 59, 59, 999999, tzinfo=UTC))
        assert await authenticate(KEY, cache) is not None
        traveller.move_to(datetime(2031, 5, 7, tzinfo=UTC))
        assert await authenticate(KEY, cache) is None
    assert keys.key_reads == 2, "the expired entry was not trusted; the database agreed"


async def test_use_is_written_in_the_background_once_a_minute(keys: FakeKeys) -> None:
    cache = KeyCache(ttl_seconds=30, recheck_seconds=3600)
    start = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
    async with cache.lifespan(None):
        with time_machine.travel(start, tick=False) as traveller:
            for _ in range(10):
                assert await authenticate(KEY, cache) is not None
                traveller.shift(timedelta(seconds=5))  # 50 s in all
            await asyncio.sleep(0)
            assert keys.uses == [{keys.key_id: start}]
            traveller.shift(timedelta(seconds=10))
            assert await authenticate(KEY, cache) is not None
    assert keys.uses == [{keys.key_id: start}, {keys.key_id: start + timedelta(seconds=60)}], "drained on shutdown"


async def test_a_failed_use_write_fails_no_request(keys: FakeKeys, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(used: dict[UUID, datetime]) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(service.repository, "record_use", broken)
    cache = KeyCache(ttl_seconds=30)
    async with cache.lifespan(None):
        assert await authenticate(KEY, cache) is not None
    assert await authenticate(KEY, cache) is not None


async def test_requests_in_flight_when_an_entry_lapses_share_one_lookup(keys: FakeKeys) -> None:
    """Every ``ttl`` a busy key's entry lapses with dozens of requests in flight: one database read serves
    them all (each making its own stalled them all for hundreds of milliseconds)."""
    cache = KeyCache(ttl_seconds=30, recheck_seconds=3600)
    keys.key_read_gate = asyncio.Event()
    waiting = [asyncio.create_task(authenticate(KEY, cache)) for _ in range(64)]
    await asyncio.sleep(0.01)
    keys.key_read_gate.set()
    assert all(p is not None and p.key_id == keys.key_id for p in await asyncio.gather(*waiting))
    assert keys.key_reads == 1


async def test_a_request_that_goes_away_does_not_cancel_the_shared_lookup(keys: FakeKeys) -> None:
    cache = KeyCache(ttl_seconds=30, recheck_seconds=3600)
    keys.key_read_gate = asyncio.Event()
    first, second = (asyncio.create_task(authenticate(KEY, cache)) for _ in range(2))
    await asyncio.sleep(0.01)
    first.cancel()
    keys.key_read_gate.set()
    assert (await second) is not None
    assert first.cancelled() and keys.key_reads == 1


# --- races: no request is judged by a read older than the recheck, or from before a revocation ----------


async def started(task: asyncio.Task[Any]) -> None:
    """Let ``task`` run until it waits on a gate."""
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()


async def test_a_request_while_the_counter_is_being_read_waits_for_that_read(keys: FakeKeys) -> None:
    """After an idle spell, the read that the first request starts is the only fresh one: requests
    arriving meanwhile must not be judged by the value from before the idle spell."""
    cache = KeyCache(ttl_seconds=30, recheck_seconds=0.05)
    assert await authenticate(KEY, cache) is not None
    await asyncio.sleep(0.06)  # idle: a re-read is due
    keys.revoke()  # elsewhere
    keys.counter_read_gate = asyncio.Event()
    first = asyncio.create_task(authenticate(KEY, cache))
    await started(first)
    second = asyncio.create_task(authenticate(KEY, cache))
    await started(second)
    keys.counter_read_gate.set()
    assert await first is None and await second is None
    assert keys.counter_reads == 2, "one read, shared"


async def test_a_request_after_a_revocation_here_never_shares_a_lookup_from_before_it(keys: FakeKeys) -> None:
    cache = KeyCache(ttl_seconds=30, recheck_seconds=3600)
    gate = keys.key_read_gate = asyncio.Event()
    before = asyncio.create_task(authenticate(KEY, cache))  # its row read is under way...
    await started(before)
    keys.key_read_gate = None
    keys.revoke()  # ...when this process revokes the key
    cache.forget()
    assert await asyncio.wait_for(authenticate(KEY, cache), 1) is None, "read the row afresh"
    gate.set()
    await before  # concurrent with the revocation: either answer is right, but it must not be cached
    assert await authenticate(KEY, cache) is None


async def test_a_lookup_overtaken_by_a_revocation_elsewhere_is_neither_shared_nor_cached(keys: FakeKeys) -> None:
    cache = KeyCache(ttl_seconds=0.05, recheck_seconds=0.05)
    assert await authenticate(KEY, cache) is not None
    await asyncio.sleep(0.06)  # the entry lapsed: the next request reads the row
    gate = keys.key_read_gate = asyncio.Event()
    slow = asyncio.create_task(authenticate(KEY, cache))  # the key as it is now: live
    await started(slow)
    keys.key_read_gate = None  # later reads are quick
    keys.revoke()  # elsewhere
    await asyncio.sleep(0.06)
    assert await asyncio.wait_for(authenticate(KEY, cache), 1) is None, "new counter: the row read afresh"
    gate.set()
    await slow  # concurrent with the revocation: either answer is right, but it must not be cached
    assert await authenticate(KEY, cache) is None


async def test_forget_does_not_wait_for_a_counter_read_from_before_it(keys: FakeKeys) -> None:
    cache = KeyCache(ttl_seconds=30, recheck_seconds=0.05)
    assert await authenticate(KEY, cache) is not None
    await asyncio.sleep(0.06)
    gate = keys.counter_read_gate = asyncio.Event()
    stale = asyncio.create_task(authenticate(KEY, cache))  # a counter read begins...
    await started(stale)
    keys.counter_read_gate = None
    keys.revoke()
    cache.forget()  # ...and then this process revokes the key
    assert await asyncio.wait_for(authenticate(KEY, cache), 1) is None, "a new read, not the old one"
    gate.set()
    await stale
    assert keys.counter_reads == 3 and await authenticate(KEY, cache) is None


async def test_a_failed_counter_read_fails_its_requests_and_the_next_request_reads_again(
    keys: FakeKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = KeyCache(ttl_seconds=30, recheck_seconds=0.05)
    assert await authenticate(KEY, cache) is not None
    await asyncio.sleep(0.06)
    read = keys.revocations

    async def down() -> int:
        raise OSError("database unreachable")

    monkeypatch.setattr(service.repository, "revocations", down)
    with pytest.raises(OSError):
        await authenticate(KEY, cache)
    with pytest.raises(OSError):
        await authenticate(KEY, cache)  # not judged by the cached key meanwhile
    keys.revoke()
    monkeypatch.setattr(service.repository, "revocations", read)
    assert await authenticate(KEY, cache) is None
