from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from roster.keys.tables import ApiKey


async def insert(*, id: UUID, name: str, role: str, prefix: str, key_hash: str, created_at: datetime) -> None:
    await ApiKey.insert(
        ApiKey(id=id, name=name, role=role, prefix=prefix, key_hash=key_hash, created_at=created_at)
    ).run()


async def find_active_by_hash(key_hash: str) -> dict[str, Any] | None:
    return (
        await ApiKey.select(ApiKey.id, ApiKey.name, ApiKey.role)
        .where((ApiKey.key_hash == key_hash) & ApiKey.revoked_at.is_null())
        .first()
        .run()
    )
