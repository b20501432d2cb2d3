from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from roster.history.tables import RecordVersion


async def close_open(*, entity: str, entity_id: UUID, at: datetime) -> None:
    await (
        RecordVersion.update({RecordVersion.recorded_to: at})
        .where(
            (RecordVersion.entity == entity)
            & (RecordVersion.entity_id == entity_id)
            & RecordVersion.recorded_to.is_null()
        )
        .run()
    )


async def insert(**values: Any) -> None:
    await RecordVersion.insert(RecordVersion(**values)).run()


async def versions_at(*, physician_id: UUID, at: datetime) -> list[dict[str, Any]]:
    return (
        await RecordVersion.select(RecordVersion.entity, RecordVersion.deleted, RecordVersion.data)
        .where(
            (RecordVersion.physician_id == physician_id)
            & (RecordVersion.recorded_from <= at)
            & (RecordVersion.recorded_to.is_null() | (RecordVersion.recorded_to > at))
        )
        .output(load_json=True)
        .run()
    )
