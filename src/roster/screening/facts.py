"""A physician's standing on each list, readable as of any instant (input to the compliance rules).

The reading itself is two pure functions, so that one physician (compliance) and a page of them
(FHIR) are answered the same way from rows fetched once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from roster.compliance.facts import ScreeningFact
from roster.config import SOURCES
from roster.screening import repository

#: Per source: the snapshot a physician was last screened against, and when that run finished.
Latest = dict[str, tuple[UUID, datetime]]


def latest_screenings(runs: Sequence[Mapping[str, Any]], joined: datetime, at: datetime) -> Latest:
    """The newest run per source that screened a physician who joined the roster at ``joined``.

    ``runs``: succeeded runs, newest first. A run only screened the physician if it started after
    they joined the roster and finished by ``at``; a list never screened against has no entry, which
    the rules treat as stale, never as clear.
    """
    latest: Latest = {}
    for run in runs:
        if run["started_at"] < joined or run["finished_at"] > at:
            continue
        for source in run["sources"]:
            snapshot_id = (run["snapshots"] or {}).get(source)
            if source not in latest and snapshot_id:
                latest[source] = (UUID(str(snapshot_id)), run["finished_at"])
        if len(latest) == len(SOURCES):
            break  # older runs cannot change the answer
    return latest


def standing(
    latest: Latest, loaded_at: Mapping[UUID, datetime], hits: Iterable[Mapping[str, Any]], at: datetime
) -> tuple[tuple[ScreeningFact, datetime | None], ...]:
    """Per source (in ``SOURCES`` order), the fact the rules read and when the physician was screened.

    ``hits``: the physician's hits; those raised after ``at`` are ignored, and a hit decided after
    ``at`` still counts as pending then.
    """
    pending: dict[str, int] = {}
    confirmed: dict[str, int] = {}
    for hit in hits:
        if hit["created_at"] > at:
            continue
        if hit["decided_at"] is None or hit["decided_at"] > at:
            pending[hit["source"]] = pending.get(hit["source"], 0) + 1
        elif hit["status"] == "confirmed":
            confirmed[hit["source"]] = confirmed.get(hit["source"], 0) + 1
    out = []
    for source in SOURCES:
        snapshot_id, finished_at = latest.get(source, (None, None))
        loaded = loaded_at.get(snapshot_id) if snapshot_id is not None else None
        fact = ScreeningFact(
            source=source,
            snapshot_loaded_on=loaded.date() if loaded is not None else None,
            pending_hits=pending.get(source, 0),
            confirmed_hits=confirmed.get(source, 0),
        )
        out.append((fact, finished_at if loaded is not None else None))
    return tuple(out)


async def screening_facts(
    physician_id: UUID, physician_created_at: datetime, at: datetime
) -> tuple[ScreeningFact, ...]:
    """Per source: the snapshot of the newest run that screened this physician, and hits open at ``at``."""
    runs = await repository.finished_runs_between(physician_created_at, at)
    latest = latest_screenings(runs, physician_created_at, at)
    loaded = await repository.snapshots_loaded_at([snapshot_id for snapshot_id, _ in latest.values()])
    hits = await repository.hits_for(physician_id, at)
    return tuple(fact for fact, _ in standing(latest, loaded, hits, at))
