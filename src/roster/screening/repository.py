from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from roster.screening.tables import ListSnapshot, ScreeningHit, ScreeningRun


async def finished_runs_between(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Succeeded runs that started at/after ``start`` and finished by ``end``, newest first."""
    return (
        await ScreeningRun.select(ScreeningRun.sources, ScreeningRun.snapshots, ScreeningRun.finished_at)
        .where(
            (ScreeningRun.status == "succeeded")
            & (ScreeningRun.started_at >= start)
            & (ScreeningRun.finished_at <= end)
        )
        .order_by(ScreeningRun.finished_at, ascending=False)
        .output(load_json=True)
        .run()
    )


async def snapshots_loaded_at(snapshot_ids: list[UUID]) -> dict[UUID, datetime]:
    if not snapshot_ids:
        return {}
    rows = (
        await ListSnapshot.select(ListSnapshot.id, ListSnapshot.loaded_at)
        .where(ListSnapshot.id.is_in(snapshot_ids))
        .run()
    )
    return {row["id"]: row["loaded_at"] for row in rows}


async def hits_for(physician_id: UUID, created_by: datetime) -> list[dict[str, Any]]:
    return (
        await ScreeningHit.select(ScreeningHit.source, ScreeningHit.status, ScreeningHit.decided_at)
        .where((ScreeningHit.physician == physician_id) & (ScreeningHit.created_at <= created_by))
        .run()
    )
