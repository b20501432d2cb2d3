"""Alerts (rules.md §3): raised once per (kind, subject, threshold); listed and acknowledged by people."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.alerts import repository
from roster.alerts.schemas import AlertKind, AlertRead
from roster.api.pagination import Page, cursor_key, page_of
from roster.audit import service as audit
from roster.db import write_tx
from roster.errors import NotFound

ALERT_KINDS: tuple[str, ...] = AlertKind.__args__  # type: ignore[attr-defined]


def alert_row(
    *,
    kind: str,
    physician_id: UUID | None,
    subject_type: str,
    subject_id: UUID | str,
    threshold: str,
    due_on: date | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "kind": kind,
        "physician": physician_id,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "threshold": threshold,
        "due_on": due_on,
        "status": "open",
        "detail": detail or {},
        "created_at": clock.now(),
        "acknowledged_at": None,
        "acknowledged_by": None,
    }


async def raise_alerts(rows: list[dict[str, Any]]) -> None:
    """Call inside the write transaction that caused them."""
    await repository.insert_if_new(rows)


# -- reading and acknowledging (GET /alerts, POST /alerts/{id}/acknowledge) --------------------


def to_read(row: dict[str, Any]) -> AlertRead:
    return msgspec.convert(row, AlertRead)


async def get(alert_id: UUID) -> AlertRead:
    row = await repository.get(alert_id)
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return to_read(row)


async def list_page(
    *, status: str | None, kind: str | None, physician_id: UUID | None, cursor: str | None, limit: int
) -> Page[AlertRead]:
    after = cursor_key(cursor, datetime.fromisoformat, UUID)
    rows = await repository.page(status=status, kind=kind, physician_id=physician_id, after=after, limit=limit + 1)
    return page_of([to_read(r) for r in rows], limit, lambda a: (a.created_at.isoformat(), str(a.id)))


async def open_by_kind() -> dict[str, int]:
    """Open alerts per kind, in the vocabulary's order (kinds with none left out)."""
    counts = await repository.open_counts_by_kind()
    return {kind: counts[kind] for kind in ALERT_KINDS if counts.get(kind)} | {
        kind: n for kind, n in sorted(counts.items()) if kind not in ALERT_KINDS
    }


async def physician_names(alerts: list[AlertRead]) -> dict[UUID, str]:
    """Who a page of alerts is about, by physician id."""
    return await repository.physician_names(sorted({a.physician_id for a in alerts if a.physician_id is not None}))


async def acknowledge(alert_id: UUID, *, actor: str) -> AlertRead:
    """Idempotent: acknowledging an acknowledged alert returns it unchanged (who and when stay the first
    acknowledgement's) and records nothing, so a client may safely retry."""
    now = clock.now()
    async with write_tx(roster_change=False):
        current = await get(alert_id)
        if current.status != "open" or not await repository.acknowledge(alert_id, at=now, by=actor):
            return await get(alert_id)
        acknowledged = msgspec.structs.replace(
            current, status="acknowledged", acknowledged_at=now, acknowledged_by=actor
        )
        await audit.record(
            actor=actor,
            action="acknowledge",
            entity="alert",
            entity_id=alert_id,
            before={"status": current.status},
            after={"status": "acknowledged", "acknowledged_at": now.isoformat(), "acknowledged_by": actor},
        )
    return acknowledged
