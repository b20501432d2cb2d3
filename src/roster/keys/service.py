"""API keys: random 32-byte secrets, stored as SHA-256 (a slow hash buys nothing for random keys).

Lifecycle: a key may carry a last day (``expires_on``, UTC: accepted through the end of that day);
revoking it is refused from the revoking process's next request on, and on every other replica in
under ``REVOCATION_SECONDS`` (see :class:`KeyCache`). Rotation is two live keys under one name: create
the new one, move the client, revoke the old.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.api.pagination import Page, cursor_key, page_of
from roster.audit import service as audit
from roster.db import write_tx
from roster.errors import InvalidInput, NotFound
from roster.keys import repository
from roster.keys.schemas import ApiKeyCreated, ApiKeyRead, Principal, Role

logger = logging.getLogger(__name__)

KEY_PREFIX = "rst_"
#: How stale another process's revocation may be here: the counter is re-read at most this often. Half
#: the contract's second, so a replica's slow request or a client's poll still lands well inside it.
REVOCATION_SECONDS = 0.5
#: ``last_used_at`` granularity: each process records a key's use at most this often.
USE_RECORDED_EVERY = timedelta(minutes=1)
_USE_SECONDS = USE_RECORDED_EVERY.total_seconds()


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def expires_at(expires_on: date | None) -> datetime | None:
    """The instant a key with this last day stops working: midnight UTC after it."""
    if expires_on is None:
        return None
    return datetime(expires_on.year, expires_on.month, expires_on.day, tzinfo=UTC) + timedelta(days=1)


def _audited(key: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a key: never its hash or plaintext."""
    return msgspec.to_builtins({k: key[k] for k in ("id", "name", "role", "expires_on", "revoked_at") if k in key})


async def create_key(*, name: str, role: str, actor: str, expires_on: date | None = None) -> ApiKeyCreated:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput.on("name", "must be 1-100 characters")
    try:
        role_ = Role(role)
    except ValueError:
        raise InvalidInput.on("role", f"must be one of {', '.join(r.value for r in Role)}") from None
    now = clock.now()
    if expires_on is not None and expires_on < now.date():
        raise InvalidInput.on("expires_on", f"is in the past (today is {now.date().isoformat()} UTC)")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = uuid.uuid4()
    async with write_tx(roster_change=False):
        await repository.insert(
            id=key_id,
            name=name,
            role=role_.value,
            prefix=plaintext[:12],
            key_hash=hash_key(plaintext),
            created_at=now,
            expires_on=expires_on,
        )
        await audit.record(
            actor=actor,
            action="create",
            entity="api_key",
            entity_id=key_id,
            after={
                **_audited({"id": key_id, "name": name, "role": role_.value, "expires_on": expires_on}),
                "prefix": plaintext[:12],
            },
        )
    return ApiKeyCreated(id=key_id, name=name, role=role_, created_at=now, expires_on=expires_on, key=plaintext)


async def list_page(*, name: str | None, include_revoked: bool, cursor: str | None, limit: int) -> Page[ApiKeyRead]:
    after = cursor_key(cursor, datetime.fromisoformat, UUID)
    rows = await repository.page(name=name, include_revoked=include_revoked, after=after, limit=limit + 1)
    return page_of(
        [msgspec.convert(r, ApiKeyRead) for r in rows], limit, lambda k: (k.created_at.isoformat(), str(k.id))
    )


async def revoke_key(key_id: UUID, *, actor: str, cache: KeyCache | None = None) -> ApiKeyRead:
    """Idempotent: revoking a revoked key changes nothing and records nothing (the first revocation
    stands), so an operator or a script may safely retry. The keys' counter is bumped with it, so every
    process drops its cached keys; this one at once."""
    now = clock.now()
    async with write_tx(roster_change=False):
        current = await repository.get(key_id)
        if current is None:
            raise NotFound(f"no API key {key_id}")
        if current["revoked_at"] is None and await repository.revoke(key_id, at=now):
            await repository.bump_revocations()
            await audit.record(
                actor=actor,
                action="revoke",
                entity="api_key",
                entity_id=key_id,
                before=_audited(current),
                after=_audited({**current, "revoked_at": now}),
            )
            current = {**current, "revoked_at": now}
    if cache is not None:
        cache.forget()
    return msgspec.convert(current, ApiKeyRead)


async def record_use(used: dict[UUID, datetime]) -> None:
    """Deliberately outside a transaction: one statement per key, each atomic on its own, so the SQLite
    write lock is held for a statement, never across awaits, and a lost write only loses a timestamp."""
    await repository.record_use(used)


class KeyCache:
    """Per-process key state: authenticated keys, so the hot path costs no query, and when each key's
    use was last recorded.

    Why a cached key can be trusted: every revocation bumps one shared counter (``roster_version`` row
    ``KEYS``) in its own transaction, and a process re-reads that counter at most every ``recheck``
    seconds (one read by primary key per process, not one per request). Whenever the counter moves,
    or this process revokes a key itself (:meth:`forget`), the cache starts a new *epoch*: every entry,
    and every key lookup still in flight, from before it is dropped. So a request is judged against a
    counter read that began less than ``recheck`` seconds before it (a request arriving while a read is
    in flight waits for that read), and a revocation anywhere is refused everywhere within
    ``recheck`` (:data:`REVOCATION_SECONDS`); in the revoking process, from its next request.

    A busy process never waits for that read: the first request past half the interval starts it in the
    background (:meth:`cached`), so it has landed before the interval is up. Only a request after an idle
    spell (or a read slower than half the interval) waits, as it must.

    Expiry needs no counter: an entry is trusted for ``ttl`` seconds at most and never past its key's
    last day (checked on each use). Times are ``time.time()`` floats: a datetime per request cost more
    than the lookup.
    """

    def __init__(self, ttl_seconds: float, recheck_seconds: float = REVOCATION_SECONDS) -> None:
        self.ttl = ttl_seconds
        self.recheck = recheck_seconds
        #: key hash -> (trusted until, principal, the epoch it was looked up in).
        self._entries: dict[str, tuple[float, Principal, int]] = {}
        self._epoch = 0
        #: The counter as last read; None: not read yet, or no counter row (then nothing is cached).
        self._revocations: int | None = None
        #: ``time.monotonic()`` from when the counter is due again (and, until a read lands, being read).
        self._recheck_at = 0.0
        #: ``time.monotonic()`` from when a request starts the next read in the background.
        self._refresh_at = 0.0
        self._counter_read: asyncio.Task[None] | None = None
        #: key hash -> when its use was last noted.
        self._used: dict[str, float] = {}
        self._unwritten: dict[UUID, datetime] = {}
        #: key hash -> (epoch, the database lookup in flight for it).
        self._lookups: dict[str, tuple[int, asyncio.Future[tuple[Principal, float | None] | None]]] = {}
        self._writer: asyncio.Task[None] | None = None

    def cached(self, key_hash: str) -> Principal | None:
        """The hot path, no await: the key if cached, trusted and no counter read is due or in flight."""
        entry = self._entries.get(key_hash)
        if entry is None or entry[2] != self._epoch:
            return None
        moment = time.monotonic()
        if moment >= self._recheck_at:
            return None
        if moment >= self._refresh_at and self._counter_read is None:
            self._refresh_ahead(moment)
        now = time.time()
        if now >= entry[0]:
            return None
        if not 0 <= now - self._used.get(key_hash, -_USE_SECONDS) < _USE_SECONDS:
            self._note_use(key_hash, entry[1].key_id, now)
        return entry[1]

    async def principal(self, key_hash: str) -> Principal | None:
        """The key, re-reading the revocation counter if due and the key itself if not cached."""
        if self.ttl > 0 and time.monotonic() >= self._recheck_at:
            await self._read_counter()
        epoch = self._epoch  # before the key is read: a revocation seen meanwhile starts a new one
        now = time.time()
        entry = self._entries.get(key_hash)
        if entry is not None and now < entry[0] and entry[2] == epoch:
            principal = entry[1]
        else:
            self._entries.pop(key_hash, None)
            found = await self._lookup_once(key_hash, epoch, now)
            if found is None:
                return None
            principal, expires = found
            if self.ttl > 0 and self._revocations is not None and epoch == self._epoch:
                if len(self._entries) > 10_000:
                    self._entries.clear()
                until = now + self.ttl if expires is None else min(now + self.ttl, expires)
                self._entries[key_hash] = (until, principal, epoch)
        if not 0 <= now - self._used.get(key_hash, -_USE_SECONDS) < _USE_SECONDS:
            self._note_use(key_hash, principal.key_id, now)
        return principal

    async def _lookup_once(self, key_hash: str, epoch: int, now: float) -> tuple[Principal, float | None] | None:
        """One database read per key however many requests want it: when a busy key's entry lapses,
        the dozens of requests in flight with it wait for one lookup instead of each making its own
        (which stalled them all for hundreds of milliseconds every ``ttl``). Only within an epoch: a
        request after a revocation never shares a row read before it. Shielded: a request that goes
        away does not cancel the lookup the others wait for."""
        shared = self._lookups.get(key_hash)
        if shared is None or shared[0] != epoch:
            shared = self._lookups[key_hash] = (epoch, asyncio.ensure_future(_lookup(key_hash, now)))
            shared[1].add_done_callback(lambda done: self._lookup_done(key_hash, done))
        return await asyncio.shield(shared[1])

    def _lookup_done(self, key_hash: str, lookup: asyncio.Future[Any]) -> None:
        shared = self._lookups.get(key_hash)
        if shared is not None and shared[1] is lookup:
            del self._lookups[key_hash]
        _retrieve(lookup)

    async def _read_counter(self) -> None:
        """Wait for a read of the counter that begins now, or is already under way: one at a time, and
        shared, so no request is judged against a value older than ``recheck``. Shielded, like lookups."""
        await asyncio.shield(self._counter_read or self._start_read())

    def _refresh_ahead(self, moment: float) -> None:
        """Start the next counter read while the last still holds: under load, waiting for it when it fell
        due held every request that arrived meanwhile for a few turns of the event loop. At most one try
        per half interval (a failing database is not asked once per request)."""
        self._refresh_at = moment + self.recheck / 2
        self._start_read()

    def _start_read(self) -> asyncio.Task[None]:
        read = self._counter_read = asyncio.ensure_future(self._reread(self._epoch))
        read.add_done_callback(_retrieve)
        return read

    async def _reread(self, epoch: int) -> None:
        started = time.monotonic()
        try:
            current = await repository.revocations()
        finally:
            if epoch == self._epoch:  # else :meth:`forget` ran meanwhile and a newer read is due
                self._counter_read = None
        if epoch != self._epoch:
            return
        if current != self._revocations:
            self._entries.clear()
            self._epoch += 1
        self._revocations = current
        self._recheck_at = started + self.recheck
        self._refresh_at = started + self.recheck / 2

    def forget(self) -> None:
        """A key was revoked here: drop every cached key and lookup in flight, and re-read the counter
        (a read under way began before the revocation, so it is not waited for)."""
        self._entries.clear()
        self._epoch += 1
        self._recheck_at = 0.0
        self._counter_read = None

    def _note_use(self, key_hash: str, key_id: UUID, now: float) -> None:
        """Written in the background; callers note a key at most once per ``USE_RECORDED_EVERY``."""
        if len(self._used) > 10_000:
            self._used.clear()
        self._used[key_hash] = now
        self._unwritten[key_id] = datetime.fromtimestamp(now, UTC)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_uses())

    async def _write_uses(self) -> None:
        while self._unwritten:
            batch, self._unwritten = self._unwritten, {}
            try:
                await record_use(batch)
            except Exception:
                # Usage is informational: a failed write must not fail requests; a later use retries.
                logger.warning("could not record the use of %d API key(s)", len(batch), exc_info=True)

    @asynccontextmanager
    async def lifespan(self, _: object) -> AsyncIterator[None]:
        """The app's lifespan: the last uses are written before the database closes."""
        try:
            yield
        finally:
            if self._writer is not None:
                await asyncio.gather(self._writer, return_exceptions=True)


def _retrieve(done: asyncio.Future[Any]) -> None:
    """Mark a shared read's error retrieved: its requests got it, or had gone."""
    if not done.cancelled():
        done.exception()


async def authenticate(plaintext: str, cache: KeyCache | None = None) -> Principal | None:
    """The key's principal, or None for an unknown, revoked or expired key."""
    key_hash = hash_key(plaintext)
    if cache is not None:
        return cache.cached(key_hash) or await cache.principal(key_hash)
    found = await _lookup(key_hash, time.time())
    return None if found is None else found[0]


async def _lookup(key_hash: str, now: float) -> tuple[Principal, float | None] | None:
    """The live key with this hash, and when it expires (``time.time()``)."""
    row = await repository.find_unrevoked_by_hash(key_hash)
    if row is None:
        return None
    expires = expires_at(row["expires_on"])
    until = None if expires is None else expires.timestamp()
    if until is not None and now >= until:
        return None
    return Principal(key_id=row["id"], name=row["name"], role=Role(row["role"])), until
