"""The screening standing as a pure reading of runs, snapshots and hits at an instant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from roster.screening.facts import latest_screenings, standing

JOINED = datetime(2026, 1, 10, tzinfo=UTC)
AT = datetime(2026, 3, 1, tzinfo=UTC)
OLD, NEW = uuid.uuid4(), uuid.uuid4()


def run(started: datetime, snapshots: dict[str, uuid.UUID], minutes: int = 5) -> dict:
    return {
        "sources": list(snapshots),
        "snapshots": {k: str(v) for k, v in snapshots.items()},
        "started_at": started,
        "finished_at": started + timedelta(minutes=minutes),
    }


def test_the_newest_run_that_started_after_joining_and_finished_by_at_counts() -> None:
    runs = [
        run(AT - timedelta(minutes=1), {"oig_leie": uuid.uuid4()}),  # finishes after AT
        run(datetime(2026, 2, 1, tzinfo=UTC), {"oig_leie": NEW}),
        run(datetime(2026, 1, 15, tzinfo=UTC), {"oig_leie": OLD, "sam": OLD}),
        run(datetime(2026, 1, 5, tzinfo=UTC), {"cms_preclusion": OLD}),  # before they joined
    ]
    latest = latest_screenings(runs, JOINED, AT)
    assert {source: snapshot for source, (snapshot, _) in latest.items()} == {"oig_leie": NEW, "sam": OLD}
    assert latest["oig_leie"][1] == datetime(2026, 2, 1, 0, 5, tzinfo=UTC)


def test_hits_pending_until_decided_and_unscreened_lists_have_no_snapshot() -> None:
    latest = {"oig_leie": (NEW, datetime(2026, 2, 1, tzinfo=UTC))}
    hits = [
        {"source": "oig_leie", "status": "confirmed", "created_at": JOINED, "decided_at": AT + timedelta(days=1)},
        {"source": "oig_leie", "status": "confirmed", "created_at": JOINED, "decided_at": JOINED},
        {"source": "sam", "status": "dismissed", "created_at": JOINED, "decided_at": JOINED},
        {"source": "sam", "status": "pending", "created_at": AT + timedelta(seconds=1), "decided_at": None},
    ]
    by_source = {fact.source: (fact, at) for fact, at in standing(latest, {NEW: JOINED}, hits, AT)}
    leie, leie_at = by_source["oig_leie"]
    assert (leie.snapshot_loaded_on, leie.pending_hits, leie.confirmed_hits) == (JOINED.date(), 1, 1)
    assert leie_at == datetime(2026, 2, 1, tzinfo=UTC)
    sam, sam_at = by_source["sam"]
    assert (sam.snapshot_loaded_on, sam.pending_hits, sam.confirmed_hits, sam_at) == (None, 0, 0, None)


def test_a_snapshot_that_is_gone_is_not_a_screening() -> None:
    ((fact, at), *_) = standing({"oig_leie": (NEW, AT)}, {}, [], AT)
    assert fact.snapshot_loaded_on is None and at is None
