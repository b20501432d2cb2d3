"""The matcher's bulk screening standing (``facts_loader``) reads exactly what the compliance report reads,
for the whole roster and for the few physicians an index patch reloads."""

from __future__ import annotations

from roster import clock
from roster.matching.facts_loader import current_reviewers
from roster.physicians.tables import Physician
from roster.screening.facts import screening_facts
from tests.conftest import Api
from tests.integration.fhir.test_standing import screening_history


async def test_bulk_standing_equals_per_physician_facts(api: Api) -> None:
    history = await screening_history(api)
    early, listed, middle, late = (history[name] for name in ("early", "listed", "middle", "late"))

    now = clock.now()
    joined = {str(row["id"]): row["created_at"] for row in await Physician.select(Physician.id, Physician.created_at)}
    reviewers = {str(r.id): r for r in await current_reviewers(now)}
    assert set(reviewers) == {early["id"], listed["id"], middle["id"], late["id"]}
    for pid, reviewer in reviewers.items():
        expected = await screening_facts(reviewer.id, joined[pid], now)
        assert reviewer.compliance.screening == expected, pid
    some = [listed["id"], middle["id"]]
    patched = await current_reviewers(now, physician_ids=[reviewers[pid].id for pid in some])
    assert {str(r.id): r.compliance.screening for r in patched} == {
        pid: reviewers[pid].compliance.screening for pid in some
    }, "a patch's few physicians read as in the whole roster"
    oig = {pid: {f.source: f for f in r.compliance.screening}["oig_leie"] for pid, r in reviewers.items()}
    assert oig[listed["id"]].confirmed_hits == 1 and oig[middle["id"]].pending_hits == 1
    assert oig[early["id"]].snapshot_loaded_on is not None
    assert oig[late["id"]].snapshot_loaded_on is None, "joined after every run"
