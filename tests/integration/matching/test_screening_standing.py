"""The matcher's bulk screening standing (``facts_loader``) reads exactly what the compliance report reads,
for the whole roster and for the few physicians an index patch reloads."""

from __future__ import annotations

from roster import clock
from roster.matching.facts_loader import current_reviewers
from roster.physicians.tables import Physician
from roster.screening.facts import screening_facts
from tests import factories
from tests.conftest import Api
from tests.integration.fhir.test_practitioner import created
from tests.integration.fhir.test_standing import screen

P = "/api/v1/physicians"


async def test_bulk_standing_equals_per_physician_facts(api: Api) -> None:
    early = await created(await api.post(P, json=factories.physician(1)))
    listed = await created(await api.post(P, json=factories.physician(2)))
    await screen(api, listed["npi"])
    [hit] = (await api.get("/api/v1/screening/hits")).json()["items"]
    decided = await api.post(
        f"/api/v1/screening/hits/{hit['id']}/decision", json={"decision": "confirmed", "note": "x"}
    )
    assert decided.status_code == 200, decided.text
    middle = await created(await api.post(P, json=factories.physician(3)))
    await screen(api, listed["npi"], middle["npi"])  # middle: a pending hit on the second run
    late = await created(await api.post(P, json=factories.physician(4)))

    now = clock.now()
    joined = {str(row["id"]): row["created_at"] for row in await Physician.select(Physician.id, Physician.created_at)}
    reviewers = {str(r.id): r for r in await current_reviewers(now)}
    assert set(reviewers) == {early["id"], listed["id"], middle["id"], late["id"]}
    for pid, reviewer in reviewers.items():
        expected = await screening_facts(reviewer.id, joined[pid], now)
        assert reviewer.compliance.screening == expected, pid
    patched = await current_reviewers(now, physician_ids=[reviewers[listed["id"]].id, reviewers[middle["id"]].id])
    assert [r.compliance.screening for r in patched] == [
        reviewers[r_id].compliance.screening for r_id in (str(r.id) for r in patched)
    ]
    oig = {pid: {f.source: f for f in r.compliance.screening}["oig_leie"] for pid, r in reviewers.items()}
    assert oig[listed["id"]].confirmed_hits == 1 and oig[middle["id"]].pending_hits == 1
    assert oig[early["id"]].snapshot_loaded_on is not None
    assert oig[late["id"]].snapshot_loaded_on is None, "joined after every run"
