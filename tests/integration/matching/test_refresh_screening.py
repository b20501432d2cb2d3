"""Screening and the roster index: a hit decision changes one physician's eligibility at once, and the
index reloads that physician; a run changes everyone's screening, and the index recomputes just that; a
list loaded but not yet screened against changes no one's. None of them rebuilds the whole roster."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from roster.config import Settings
from roster.screening.tables import ScreeningHit
from tests.conftest import Api, TempDatabase
from tests.integration.matching.roster import match, ok, reviewer
from tests.integration.matching.test_refresh import counter, refreshes  # noqa: F401  (fixture)
from tests.integration.screening.test_routes import FILLER, leie_file, leie_row, upload


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings(required_sources=("oig_leie",))


async def decide(api: Api, hit_id: str, decision: str) -> dict[str, Any]:
    return await ok(
        await api.post(
            f"/api/v1/screening/hits/{hit_id}/decision",
            role="credentialing",
            json={"decision": decision, "note": "checked against the license file"},
        )
    )


async def test_decisions_patch_their_physicians_in(api: Api, refreshes: dict[str, list[Any]]) -> None:  # noqa: F811
    first, second = await reviewer(api, 1, last_name="Quill"), await reviewer(api, 2, last_name="Marsh")
    third = await reviewer(api, 3, last_name="Okafor")
    assert (await match(api))["ineligible"] == {"screening_stale": 3}, "never screened"
    listed = [leie_row(name, "ADA", dob="19700517") for name in ("QUILL", "MARSH")]
    await ok(await upload(api, leie_file(*FILLER, *listed)), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    result = await match(api)
    assert [e["physician_id"] for e in result["eligible"]] == [third["id"]]
    assert result["ineligible"] == {"screening_pending": 2}
    assert len(refreshes["builds"]) == 1, "a run recomputes everyone's screening, not the whole index"
    assert refreshes["rescreens"] == [{UUID(p["id"]) for p in (first, second, third)}]
    assert not refreshes["patches"]

    hits = (await api.get("/api/v1/screening/hits", params={"status": "pending"})).json()["items"]
    by_physician = {h["physician_id"]: h["id"] for h in hits}
    await decide(api, by_physician[first["id"]], "dismissed")
    result = await match(api)
    assert {e["physician_id"] for e in result["eligible"]} == {first["id"], third["id"]}
    assert result["ineligible"] == {"screening_pending": 1}
    assert len(refreshes["builds"]) == 1, "a decision is patched in, not rebuilt"
    assert [{str(p) for p in ids} for ids in refreshes["patches"]] == [{first["id"]}]

    await decide(api, by_physician[second["id"]], "confirmed")
    result = await match(api)
    assert {e["physician_id"] for e in result["eligible"]} == {first["id"], third["id"]}
    assert result["ineligible"] == {"excluded_oig": 1}, "a confirmed hit makes the physician ineligible at once"
    assert len(refreshes["builds"]) == 1
    assert {str(p) for p in refreshes["patches"][-1]} == {second["id"]}

    stamps = await ScreeningHit.select(ScreeningHit.physician, ScreeningHit.roster_version).run()
    assert max(s["roster_version"] for s in stamps) == await counter()
    assert {str(s["physician"]) for s in stamps if s["roster_version"]} == {first["id"], second["id"]}

    # A new run against the same list: the decided hits stay decided, the screening is fresh again.
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    result = await match(api)
    assert result["ineligible"] == {"excluded_oig": 1}
    assert len(refreshes["builds"]) == 1 and len(refreshes["rescreens"]) == 2


async def test_a_refused_decision_stamps_nothing(api: Api, refreshes: dict[str, list[Any]]) -> None:  # noqa: F811
    await reviewer(api, 1, last_name="Quill")
    await ok(await upload(api, leie_file(*FILLER, leie_row("QUILL", "ADA", dob="19700517"))), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    [hit] = (await api.get("/api/v1/screening/hits")).json()["items"]
    await decide(api, hit["id"], "dismissed")
    await match(api)
    before = await counter()
    again = await api.post(
        f"/api/v1/screening/hits/{hit['id']}/decision", json={"decision": "confirmed", "note": "second thoughts"}
    )
    assert again.status_code == 409
    assert await counter() == before
    [stamped] = await ScreeningHit.select(ScreeningHit.roster_version).run()
    assert stamped["roster_version"] <= before
    await match(api)
    assert len(refreshes["builds"]) == 1 and not refreshes["patches"], "nothing to refresh"


async def test_a_loaded_list_changes_nothing_until_a_run(
    api: Api,
    refreshes: dict[str, list[Any]],  # noqa: F811
) -> None:
    await reviewer(api, 1, last_name="Quill")
    await ok(await upload(api, leie_file(*FILLER)), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert (await match(api))["ineligible"] == {}
    before = await counter()
    await ok(await upload(api, leie_file(*FILLER, leie_row("QUILL", "ADA", dob="19700517"))), 201)
    assert await counter() == before, "loading a list is not a roster change"
    assert (await match(api))["ineligible"] == {}
    assert len(refreshes["builds"]) == 1 and not refreshes["patches"]
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert (await match(api))["ineligible"] == {"screening_pending": 1}, "the run against it is"
    assert len(refreshes["builds"]) == 1 and len(refreshes["rescreens"]) == 1
