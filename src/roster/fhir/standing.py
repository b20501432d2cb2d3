"""Each physician's standing on each exclusion list, for a whole page of physicians at once.

The same reading as ``roster.screening.facts.screening_facts`` (which answers for one physician,
three queries each), over rows fetched once per page: the newest succeeded run that started after
the physician joined the roster and screened that source, and the hits open at ``at``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from roster.compliance.facts import ScreeningFact
from roster.config import SOURCES
from roster.fhir.resources import Screened


def screening_standing(
    physician_created_at: datetime,
    runs: Sequence[Mapping[str, Any]],
    loaded_at: Mapping[UUID, datetime],
    hits: Sequence[Mapping[str, Any]],
    at: datetime,
) -> tuple[Screened, ...]:
    """``runs``: succeeded runs finished by ``at``, newest first; ``hits``: this physician's hits."""
    latest: dict[str, tuple[UUID, datetime]] = {}
    for run in runs:
        if run["started_at"] < physician_created_at or run["finished_at"] > at:
            continue
        for source in run["sources"]:
            snapshot_id = (run["snapshots"] or {}).get(source)
            if source not in latest and snapshot_id:
                latest[source] = (UUID(str(snapshot_id)), run["finished_at"])
        if len(latest) == len(SOURCES):
            break  # older runs cannot change the answer
    pending: dict[str, int] = {}
    confirmed: dict[str, int] = {}
    for hit in hits:
        if hit["created_at"] > at:
            continue
        decided = hit["decided_at"] is not None and hit["decided_at"] <= at
        if not decided:
            pending[hit["source"]] = pending.get(hit["source"], 0) + 1
        elif hit["status"] == "confirmed":
            confirmed[hit["source"]] = confirmed.get(hit["source"], 0) + 1
    standing = []
    for source in SOURCES:
        snapshot_id, finished_at = latest.get(source, (None, None))
        loaded = loaded_at.get(snapshot_id) if snapshot_id is not None else None
        fact = ScreeningFact(
            source=source,
            snapshot_loaded_on=loaded.date() if loaded is not None else None,
            pending_hits=pending.get(source, 0),
            confirmed_hits=confirmed.get(source, 0),
        )
        standing.append(Screened(fact=fact, screened_at=finished_at if loaded is not None else None))
    return tuple(standing)
