"""Every write records who did what to which record, with the state before and after."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.api.pagination import Page, cursor_key, page_of
from roster.audit import repository
from roster.audit.schemas import AuditEventRead
from roster.db.bulk import new_id_texts


async def record(
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: UUID | str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Call inside the write transaction it describes, so the event and the change commit together."""
    await repository.insert(
        id=uuid.uuid4(),
        occurred_at=clock.now(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )


async def list_page(
    *, entity: str | None, entity_id: str | None, cursor: str | None, limit: int
) -> Page[AuditEventRead]:
    after = cursor_key(cursor, datetime.fromisoformat, UUID)
    rows = await repository.page(entity=entity, entity_id=entity_id, after=after, limit=limit + 1)
    return page_of(
        [msgspec.convert(r, AuditEventRead) for r in rows], limit, lambda e: (e.occurred_at.isoformat(), str(e.id))
    )


async def for_records(entity_ids: list[UUID | str], *, limit: int = 100) -> list[AuditEventRead]:
    """The newest ``limit`` events about any of these records, newest first."""
    rows = await repository.for_entities([str(i) for i in entity_ids], limit) if entity_ids else []
    return [msgspec.convert(r, AuditEventRead) for r in rows]


class AuditEntry(msgspec.Struct, frozen=True):
    action: str
    entity: str
    entity_id: UUID | str
    #: A document, or its JSON text when the caller has already encoded it.
    before: dict[str, Any] | str | None = None
    after: dict[str, Any] | str | None = None


async def record_many(entries: list[AuditEntry], *, actor: str, at: datetime) -> None:
    """``record`` for a bulk load: one event per entry, written in bulk, all at the same instant."""
    await repository.insert_many(
        [
            {
                "id": event_id,
                "occurred_at": at,
                "actor": actor,
                "action": e.action,
                "entity": e.entity,
                "entity_id": str(e.entity_id),
                "before": e.before,
                "after": e.after,
            }
            for e, event_id in zip(entries, new_id_texts(len(entries)), strict=True)
        ]
    )
