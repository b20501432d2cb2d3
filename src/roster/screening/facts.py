"""A physician's standing on each list, readable as of any instant (input to the compliance rules)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from roster.compliance.facts import ScreeningFact
from roster.config import SOURCES
from roster.screening import repository


async def screening_facts(
    physician_id: UUID, physician_created_at: datetime, at: datetime
) -> tuple[ScreeningFact, ...]:
    """Per source: the snapshot of the newest run that screened this physician, and hits open at ``at``.

    A run only screened the physician if it started after the physician joined the roster; a list
    never screened against yields no snapshot, which the rules treat as stale, never as clear.
    """
    runs = await repository.finished_runs_between(physician_created_at, at)
    latest: dict[str, UUID] = {}
    for run in runs:
        for source in run["sources"]:
            snapshot_id = (run["snapshots"] or {}).get(source)
            if source not in latest and snapshot_id:
                latest[source] = UUID(str(snapshot_id))
    loaded = await repository.snapshots_loaded_at(list(latest.values()))
    pending: dict[str, int] = {}
    confirmed: dict[str, int] = {}
    for hit in await repository.hits_for(physician_id, at):
        decided = hit["decided_at"] is not None and hit["decided_at"] <= at
        if not decided:
            pending[hit["source"]] = pending.get(hit["source"], 0) + 1
        elif hit["status"] == "confirmed":
            confirmed[hit["source"]] = confirmed.get(hit["source"], 0) + 1
    return tuple(
        ScreeningFact(
            source=source,
            snapshot_loaded_on=loaded[latest[source]].date() if source in latest and latest[source] in loaded else None,
            pending_hits=pending.get(source, 0),
            confirmed_hits=confirmed.get(source, 0),
        )
        for source in SOURCES
    )
