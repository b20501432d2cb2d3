"""Every write records who did what to which record, with the state before and after."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.api.pagination import Page, decode_cursor, encode_cursor
from roster.audit import repository
from roster.audit.schemas import AuditEventRead
from roster.errors import InvalidInput


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


async def list_page(*, entity: str | None, entity_id: str | None, cursor: str | None, limit: int) -> Page[AuditEventRead]:
    key = decode_cursor(cursor, 2)
    after = None
    if key is not None:
        try:
            after = (datetime.fromisoformat(str(key[0])), UUID(str(key[1])))
        except ValueError:
            raise InvalidInput.on("cursor", "not a cursor returned by this API") from None
    rows = await repository.page(entity=entity, entity_id=entity_id, after=after, limit=limit + 1)
    items = [msgspec.convert(r, AuditEventRead) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1].occurred_at.isoformat(), str(items[-1].id)) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)
