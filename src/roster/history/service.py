"""Append-only record history: the roster as it stood at any past instant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec

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


class _Owned(Protocol):
    id: UUID
    physician_id: UUID


async def record_owned_change(
    entity: str, action: str, before: _Owned | None, after: _Owned | None, *, actor: str, at: datetime
) -> None:
    """``record_change`` for a physician's license or certification, given its read schemas."""
    subject = after or before
    if subject is None:
        raise ValueError("a change needs a before or an after")
    await record_change(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=subject.id,
        physician_id=subject.physician_id,
        before=msgspec.to_builtins(before) if before else None,
        after=msgspec.to_builtins(after) if after else None,
        at=at,
    )
