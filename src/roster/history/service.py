"""Append-only record history: the roster as it stood at any past instant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from roster.audit import service as audit
from roster.history import repository


async def record(
    *, entity: str, entity_id: UUID, physician_id: UUID, data: dict[str, Any], at: datetime, deleted: bool = False
) -> None:
    """Close the open version of this record and open a new one; call inside the write transaction."""
    await repository.close_open(entity=entity, entity_id=entity_id, at=at)
    await repository.insert(
        id=uuid.uuid4(),
        entity=entity,
        entity_id=entity_id,
        physician_id=physician_id,
        recorded_from=at,
        recorded_to=None,
        deleted=deleted,
        data=data,
    )


async def physician_file_as_of(physician_id: UUID, at: datetime) -> dict[str, list[dict[str, Any]]]:
    """Every record of one physician as recorded at ``at``: ``{entity: [data, ...]}``, deletions omitted."""
    rows = await repository.versions_at(physician_id=physician_id, at=at)
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if not row["deleted"]:
            out.setdefault(row["entity"], []).append(row["data"])
    return out


async def record_change(
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: UUID,
    physician_id: UUID,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> None:
    """Audit a roster write and keep its version; ``after=None`` records a deletion."""
    await audit.record(actor=actor, action=action, entity=entity, entity_id=entity_id, before=before, after=after)
    await record(
        entity=entity,
        entity_id=entity_id,
        physician_id=physician_id,
        data=after if after is not None else (before or {}),
        at=at,
        deleted=after is None,
    )
