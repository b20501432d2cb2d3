"""Raising alerts (rules.md §3): one per (kind, subject, threshold), whoever raises it and how often."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from uuid import UUID

from roster import clock
from roster.alerts import repository


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
