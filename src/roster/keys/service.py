"""API keys: random 32-byte secrets, stored as SHA-256 (a slow hash buys nothing for random keys)."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid

from roster import clock
from roster.audit import service as audit
from roster.db import write_tx
from roster.errors import InvalidInput
from roster.keys import repository
from roster.keys.schemas import ApiKeyCreated, Principal, Role

KEY_PREFIX = "rst_"


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


async def create_key(*, name: str, role: str, actor: str) -> ApiKeyCreated:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput.on("name", "must be 1-100 characters")
    try:
        role_ = Role(role)
    except ValueError:
        raise InvalidInput.on("role", f"must be one of {', '.join(r.value for r in Role)}") from None
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id, now = uuid.uuid4(), clock.now()
    async with write_tx(roster_change=False):
        await repository.insert(
            id=key_id, name=name, role=role_.value, prefix=plaintext[:12], key_hash=hash_key(plaintext), created_at=now
        )
        await audit.record(
            actor=actor,
            action="create",
            entity="api_key",
            entity_id=key_id,
            after={"id": str(key_id), "name": name, "role": role_.value, "prefix": plaintext[:12]},
        )
    return ApiKeyCreated(id=key_id, name=name, role=role_, created_at=now, key=plaintext)


class KeyCache:
    """Per-process cache of authenticated keys, so a hot read path costs one query, not two."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            self._entries.pop(key_hash, None)
            return None
        return entry[1]

    def put(self, key_hash: str, principal: Principal) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key_hash] = (time.monotonic() + self.ttl, principal)


async def authenticate(plaintext: str, cache: KeyCache | None = None) -> Principal | None:
    key_hash = hash_key(plaintext)
    if cache is not None and (hit := cache.get(key_hash)) is not None:
        return hit
    row = await repository.find_active_by_hash(key_hash)
    if row is None:
        return None
    principal = Principal(key_id=row["id"], name=row["name"], role=Role(row["role"]))
    if cache is not None and cache.ttl > 0:
        cache.put(key_hash, principal)
    return principal
