from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from roster.audit.tables import AuditEvent
from roster.db.bulk import insert_many as bulk_insert


async def insert(**values: Any) -> None:
    await AuditEvent.insert(AuditEvent(**values)).run()


async def page(
    *, entity: str | None, entity_id: str | None, after: tuple[datetime, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on (occurred_at, id)."""
    query = AuditEvent.select().output(load_json=True)
    if entity is not None:
        query = query.where(AuditEvent.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            (AuditEvent.occurred_at < at) | ((AuditEvent.occurred_at == at) & (AuditEvent.id < last_id))
        )
    return await query.order_by(AuditEvent.occurred_at, AuditEvent.id, ascending=False).limit(limit).run()


async def insert_many(rows: list[dict[str, Any]]) -> None:
    """Bulk insert for large loads; call inside the write transaction."""
    await bulk_insert(AuditEvent, rows)


async def for_entities(entity_ids: list[str], limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` events about any of these records (a physician's timeline)."""
    return (
        await AuditEvent.select()
        .where(AuditEvent.entity_id.is_in(entity_ids))
        .output(load_json=True)
        .order_by(AuditEvent.occurred_at, AuditEvent.id, ascending=False)
        .limit(limit)
        .run()
    )
