from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from roster.db.engine import read_by_key
from roster.history.tables import KEYS, RosterVersion
from roster.keys.tables import ApiKey

_LISTED = (
    ApiKey.id,
    ApiKey.name,
    ApiKey.role,
    ApiKey.created_at,
    ApiKey.expires_on,
    ApiKey.last_used_at,
    ApiKey.revoked_at,
)


async def insert(
    *, id: UUID, name: str, role: str, prefix: str, key_hash: str, created_at: datetime, expires_on: date | None
) -> None:
    await ApiKey.insert(
        ApiKey(
            id=id,
            name=name,
            role=role,
            prefix=prefix,
            key_hash=key_hash,
            created_at=created_at,
            expires_on=expires_on,
        )
    ).run()


async def find_unrevoked_by_hash(key_hash: str) -> dict[str, Any] | None:
    """The key with this hash unless revoked; whether it has expired is the caller's to judge."""
    return (
        await ApiKey.select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.expires_on)
        .where((ApiKey.key_hash == key_hash) & ApiKey.revoked_at.is_null())
        .first()
        .run()
    )


async def get(key_id: UUID) -> dict[str, Any] | None:
    return await ApiKey.select(*_LISTED).where(ApiKey.id == key_id).first().run()


async def page(
    *, name: str | None, include_revoked: bool, after: tuple[datetime, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = ApiKey.select(*_LISTED)
    if name is not None:
        query = query.where(ApiKey.name == name)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_null())
    if after is not None:
        at, last_id = after
        query = query.where((ApiKey.created_at < at) | ((ApiKey.created_at == at) & (ApiKey.id < last_id)))
    return await query.order_by(ApiKey.created_at, ApiKey.id, ascending=False).limit(limit).run()


async def revoke(key_id: UUID, *, at: datetime) -> bool:
    """Revoke a live key; False when it was revoked already (perhaps concurrently)."""
    changed = await (
        ApiKey.update({ApiKey.revoked_at: at})
        .where((ApiKey.id == key_id) & ApiKey.revoked_at.is_null())
        .returning(ApiKey.id)
        .run()
    )
    return bool(changed)


async def bump_revocations() -> None:
    await RosterVersion.update({RosterVersion.version: RosterVersion.version + 1}).where(RosterVersion.id == KEYS).run()


_REVOCATIONS = f"SELECT version FROM roster_version WHERE id = {KEYS}"


async def revocations() -> int | None:
    """The keys' revocation counter: one read by primary key (inline on SQLite); None without the row."""
    rows = await read_by_key(_REVOCATIONS)
    return int(rows[0]["version"]) if rows else None


async def record_use(used: dict[UUID, datetime]) -> None:
    """Set each key's ``last_used_at``, never moving it back (replicas write independently)."""
    for key_id, at in used.items():
        await (
            ApiKey.update({ApiKey.last_used_at: at})
            .where((ApiKey.id == key_id) & (ApiKey.last_used_at.is_null() | (ApiKey.last_used_at < at)))
            .run()
        )
