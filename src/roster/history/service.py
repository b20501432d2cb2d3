"""Append-only record history: the roster as it stood at any past instant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec

from roster.audit import service as audit
from roster.db.bulk import new_id_texts
from roster.db.tx import version_stamp
from roster.history import repository


async def record(
    *,
    entity: str,
    entity_id: UUID,
    physician_id: UUID,
    data: dict[str, Any],
    at: datetime,
    deleted: bool = False,
    new: bool = False,
) -> None:
    """Close the open version of this record and open a new one; call inside the write transaction.
    A ``new`` record (just created, under a new id) has no version to close."""
    values = {
        "id": uuid.uuid4(),
        "entity": entity,
        "entity_id": entity_id,
        "physician_id": physician_id,
        "recorded_from": at,
        "recorded_to": None,
        "deleted": deleted,
        "data": data,
    }
    if new:
        await repository.insert(**values)
    else:
        await repository.replace_open(**values)


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
    """Audit a roster write and keep its version; ``before=None`` records a creation, ``after=None`` a
    deletion."""
    await audit.record(actor=actor, action=action, entity=entity, entity_id=entity_id, before=before, after=after)
    await record(
        entity=entity,
        entity_id=entity_id,
        physician_id=physician_id,
        data=after if after is not None else (before or {}),
        at=at,
        deleted=after is None,
        new=before is None,
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


class Change(msgspec.Struct, frozen=True):
    """One roster write of a bulk load: ``before=None`` is a creation, ``after=None`` a deletion.

    ``before``/``after`` are the record's read-schema documents, or their JSON text when the caller
    has encoded them already (a bulk load encodes straight from its rows)."""

    action: str
    entity: str
    #: A new record's id may be its canonical text (bulk loads make ids as text: see ``new_id_texts``).
    entity_id: UUID | str
    physician_id: UUID | str
    before: dict[str, Any] | str | None
    after: dict[str, Any] | str | None


async def record_changes(changes: list[Change], *, actor: str, at: datetime) -> None:
    """``record_change`` for many writes at once (bulk import): every change audited and versioned,
    with the inserts batched. Call inside the write transaction."""

    def text(document: dict[str, Any] | str | None) -> str | None:
        if document is None or isinstance(document, str):
            return document
        return msgspec.json.encode(document).decode()

    # The audit's "after" and the version's data are the same document: encode it once.
    encoded = [(text(c.before), text(c.after)) for c in changes]
    await audit.record_many(
        [
            audit.AuditEntry(c.action, c.entity, c.entity_id, before, after)
            for c, (before, after) in zip(changes, encoded, strict=True)
        ],
        actor=actor,
        at=at,
    )
    reopened: dict[str, list[UUID | str]] = {}
    for c in changes:
        if c.before is not None:
            reopened.setdefault(c.entity, []).append(c.entity_id)
    for entity, ids in reopened.items():
        await repository.close_open_many(entity=entity, entity_ids=ids, at=at)
    version_ids = new_id_texts(len(changes))
    stamp = await version_stamp(version_ids)  # stamped as inserted: no rewrite of them all at commit
    await repository.insert_many(
        [
            {
                "id": version_id,
                "entity": c.entity,
                "entity_id": c.entity_id,
                "physician_id": c.physician_id,
                "recorded_from": at,
                "recorded_to": None,
                "deleted": c.after is None,
                "data": after if after is not None else (before or "{}"),
                "roster_version": stamp,
            }
            for c, (before, after), version_id in zip(changes, encoded, version_ids, strict=True)
        ]
    )
