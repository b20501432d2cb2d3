from __future__ import annotations

from typing import Any

from roster.alerts.tables import Alert


async def insert_if_new(rows: list[dict[str, Any]]) -> None:
    """Insert alerts, skipping any whose (kind, subject_id, threshold) already exists.

    The unique key, not a lock, makes raising an alert idempotent across runs and workers.
    """
    if not rows:
        return
    await (
        Alert.insert(*(Alert(**row) for row in rows))
        .on_conflict(target=(Alert.kind, Alert.subject_id, Alert.threshold), action="DO NOTHING")
        .run()
    )
