"""The FHIR export's bulk screening standing reads exactly what the compliance report reads."""

from __future__ import annotations

from typing import Any

from roster import clock
from roster.fhir import repository, service
from roster.screening.facts import screening_facts
from tests import factories
from tests.conftest import Api
from tests.factories import leie_file
from tests.integration.fhir.test_practitioner import created

P = "/api/v1/physicians"


async def screen(api: Api, *npis: str) -> None:
    """Load an LEIE file listing ``npis`` and screen the roster against it."""
    header = leie_file(npis[0]).decode().splitlines()[0]
    rows = [leie_file(npi).decode().splitlines()[1] for npi in npis]
    content = ("\n".join([header, *rows]) + "\n").encode()
    files = {"file": ("UPDATED.csv", content, "text/csv")}
    await created(await api.post("/api/v1/screening/oig_leie/snapshots", files=files))
    await created(await api.post("/api/v1/screening/runs", json={"sources": ["oig_leie"]}))


async def screening_history(api: Api) -> dict[str, dict[str, Any]]:
    """Four physicians with different screening histories: ``early`` (screened clear twice), ``listed``
    (a confirmed hit, then listed again), ``middle`` (joined between the runs: a pending hit on the second)
    and ``late`` (joined after every run: never screened)."""
    early = await created(await api.post(P, json=factories.physician(1)))
    listed = await created(await api.post(P, json=factories.physician(2)))
    await screen(api, listed["npi"])
    [hit] = (await api.get("/api/v1/screening/hits")).json()["items"]
    decided = await api.post(
        f"/api/v1/screening/hits/{hit['id']}/decision", json={"decision": "confirmed", "note": "x"}
    )
    assert decided.status_code == 200, decided.text
    middle = await created(await api.post(P, json=factories.physician(3)))
    await screen(api, listed["npi"], middle["npi"], factories.npi(9))
    late = await created(await api.post(P, json=factories.physician(4)))
    return {"early": early, "listed": listed, "middle": middle, "late": late}


async def test_bulk_standing_equals_per_physician_facts(api: Api) -> None:
    history = await screening_history(api)
    early, listed, middle, late = (history[name] for name in ("early", "listed", "middle", "late"))

    rows = await repository.physicians_page(ids=None, npis=None, after=None, limit=10)
    files = await service.practitioner_files(rows)
    now = clock.now()
    for row, file in zip(rows, files, strict=True):
        expected = await screening_facts(row["id"], row["created_at"], now)
        assert tuple(s.fact for s in file.screening) == expected, row["last_name"]
    standing: dict[str, Any] = {
        str(row["id"]): {s.fact.source: s.fact for s in file.screening} for row, file in zip(rows, files, strict=True)
    }
    assert standing[listed["id"]]["oig_leie"].confirmed_hits == 1
    assert standing[early["id"]]["oig_leie"].snapshot_loaded_on is not None
    assert standing[middle["id"]]["oig_leie"].snapshot_loaded_on is not None, "screened by the second run"
    assert standing[middle["id"]]["oig_leie"].pending_hits == 1
    assert standing[late["id"]]["oig_leie"].snapshot_loaded_on is None, "joined after every run"
