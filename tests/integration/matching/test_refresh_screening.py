"""Screening and the roster index: a hit decision changes one physician's eligibility at once, and the
index reloads that physician; a run changes everyone's screening, and the index recomputes just that; a
list loaded but not yet screened against changes no one's. None of them rebuilds the whole roster."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from uuid import UUID

import pytest

from roster.config import Settings
from roster.matching import service
from roster.matching.index import RosterIndex
from roster.matching.repository import freshness
from roster.matching.service import RosterCache, roster_cache
from roster.screening.tables import ScreeningHit
from tests.conftest import Api, TempDatabase
from tests.integration.matching.roster import case, match, ok, reviewer
from tests.integration.matching.test_refresh import counter, refreshes  # noqa: F401  (fixture)
from tests.integration.screening.test_routes import FILLER, leie_file, leie_row, upload
from tests.integration.test_readiness import eventually, replica


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


def cache_of(api: Api) -> RosterCache:
    return roster_cache(api.client._transport.app.state)  # type: ignore[attr-defined]


async def test_with_a_keeper_a_run_patches_its_hits_in_and_the_rest_follows(
    api: Api,
    refreshes: dict[str, list[Any]],  # noqa: F811
) -> None:
    """With an index keeper running, the request that meets a run reloads only the physicians the run found
    hits on; everyone else keeps the previous runs' screening until the keeper recomputes it. Meanwhile no
    one is eligible who would not be after the recompute, and compliance reads the records."""
    quill, marsh = await reviewer(api, 1, last_name="Quill"), await reviewer(api, 2, last_name="Marsh")
    okafor = await reviewer(api, 3, last_name="Okafor")
    await ok(await upload(api, leie_file(*FILLER)), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert (await match(api))["ineligible"] == {}
    cache = cache_of(api)
    cache.defers_rescreen = True  # what keep_index sets when it polls
    late = await reviewer(api, 4, last_name="Lund")  # joins after the run: never screened yet
    assert (await match(api))["ineligible"] == {"screening_stale": 1}

    await ok(await upload(api, leie_file(*FILLER, leie_row("QUILL", "ADA", dob="19700517"))), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    result = await match(api)
    assert result["ineligible"] == {"screening_pending": 1, "screening_stale": 1}, (
        "the hit counts at once; the newcomer waits for the recompute (never more eligible than after it)"
    )
    assert {e["physician_id"] for e in result["eligible"]} == {marsh["id"], okafor["id"]}
    assert not refreshes["rescreens"], "no one's screening was recomputed on the request path"
    assert refreshes["patches"][-1] == {UUID(quill["id"])}, "the run's hit alone was reloaded"
    assert cache._state is not None and cache._state.rescreen_owed
    assert await cache.current_if_fresh() is None, "compliance reads the records until the recompute"
    report = (await api.get(f"/api/v1/physicians/{late['id']}/compliance")).json()
    assert report["compliant"] is True, report["reasons"]

    state = await cache.rescreen()
    assert state is not None and not state.rescreen_owed and state.version == cache._state.version
    assert refreshes["rescreens"] == [{UUID(p["id"]) for p in (marsh, okafor, late)}], "the keeper's recompute"
    result = await match(api)
    assert result["ineligible"] == {"screening_pending": 1}
    assert {e["physician_id"] for e in result["eligible"]} == {marsh["id"], okafor["id"], late["id"]}
    assert await cache.current_if_fresh() is state
    assert await cache.rescreen() is None, "nothing owed"
    assert len(refreshes["builds"]) == 1, "nothing was rebuilt"


async def test_with_a_keeper_a_run_with_many_hits_is_recomputed_at_once(
    api: Api,
    refreshes: dict[str, list[Any]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the patch limit the request recomputes everyone's screening itself, as without a keeper."""
    await reviewer(api, 1, last_name="Quill")
    await reviewer(api, 2, last_name="Marsh")
    await ok(await upload(api, leie_file(*FILLER)), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert (await match(api))["ineligible"] == {}
    cache = cache_of(api)
    cache.defers_rescreen = True
    monkeypatch.setattr(service, "MAX_PATCHED_PHYSICIANS", 1)
    listed = [leie_row(name, "ADA", dob="19700517") for name in ("QUILL", "MARSH")]
    await ok(await upload(api, leie_file(*FILLER, *listed)), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert (await match(api))["ineligible"] == {"screening_pending": 2}
    assert len(refreshes["rescreens"]) == 1 and not cache._state.rescreen_owed
    assert await cache.rescreen() is None


async def test_the_keeper_recomputes_behind_a_run_while_matches_are_answered(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run committed through another replica: this replica's keeper patches the hit in, then recomputes
    everyone's screening off the request path; a match arriving mid-recompute is answered at once."""
    await reviewer(api, 1, last_name="Quill")
    marsh = await reviewer(api, 2, last_name="Marsh")
    await ok(await upload(api, leie_file(*FILLER)), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    release, entered = threading.Event(), threading.Event()
    real_rescreened = RosterIndex.rescreened

    def held(self: RosterIndex, screening: dict) -> RosterIndex:
        entered.set()
        assert release.wait(10), "the test never released the recompute"
        return real_rescreened(self, screening)

    async with replica(settings, warm_index=True, index_poll_seconds=0.05) as (app, client):
        cache: RosterCache = app.state["roster_cache"]
        await eventually(lambda: asyncio.sleep(0, result=cache.built))
        monkeypatch.setattr(RosterIndex, "rescreened", held)
        try:
            await ok(await upload(api, leie_file(*FILLER, leie_row("QUILL", "ADA", dob="19700517"))), 201)
            await ok(await api.post("/api/v1/screening/runs", json={}), 201)
            await eventually(lambda: asyncio.sleep(0, result=entered.is_set()))
            state = cache._state
            assert state is not None and state.rescreen_owed
            assert state.version == (await freshness())[0], "the run is patched in before the recompute"
            key = {"Authorization": f"Bearer {api.keys['router']}"}
            response = await asyncio.wait_for(client.post("/api/v1/match", json=case(), headers=key), 5)
            matched = await ok(response)
            assert [e["physician_id"] for e in matched["eligible"]] == [marsh["id"]]
            assert matched["ineligible"] == {"screening_pending": 1}
        finally:
            release.set()

        async def recomputed() -> bool:
            return cache._state is not None and not cache._state.rescreen_owed

        await eventually(recomputed)
        assert cache._state.index is not state.index


async def test_the_recompute_reads_before_the_lock_and_keeps_what_was_patched_meanwhile(
    api: Api,
    refreshes: dict[str, list[Any]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Everyone's standing is read without holding the cache's lock: a request meeting a newer write is
    patched at once, not held behind the read, and what it patched in (a hit decision) is not overwritten
    by the older standing when the recompute lands; a second run meanwhile leaves the recompute owed."""
    quill, marsh = await reviewer(api, 1, last_name="Quill"), await reviewer(api, 2, last_name="Marsh")
    await ok(await upload(api, leie_file(*FILLER)), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert (await match(api))["ineligible"] == {}
    cache = cache_of(api)
    cache.defers_rescreen = True
    await ok(await upload(api, leie_file(*FILLER, leie_row("QUILL", "ADA", dob="19700517"))), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert (await match(api))["ineligible"] == {"screening_pending": 1}
    assert cache._state is not None and cache._state.rescreen_owed
    [hit] = (await api.get("/api/v1/screening/hits", params={"status": "pending"})).json()["items"]
    real_standing = service.screening_standing

    async def decided_meanwhile(now: Any) -> Any:
        standing = await real_standing(now)  # Quill's hit still pending in it
        await decide(api, hit["id"], "dismissed")
        matched = await asyncio.wait_for(match(api), 5)  # not held behind the recompute
        assert matched["ineligible"] == {} and len(matched["eligible"]) == 2
        return standing

    monkeypatch.setattr(service, "screening_standing", decided_meanwhile)
    state = await cache.rescreen()
    assert state is not None and not state.rescreen_owed
    result = await match(api)
    assert result["ineligible"] == {}, "the decision patched in meanwhile stands"
    assert {e["physician_id"] for e in result["eligible"]} == {quill["id"], marsh["id"]}
    assert refreshes["rescreens"] == [{UUID(marsh["id"])}], "Quill was left as the decision's patch read him"

    # A second run lands while the standing of the first is read: that standing is not applied.
    await ok(await upload(api, leie_file(*FILLER, leie_row("MARSH", "ADA", dob="19700517"))), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert (await match(api))["ineligible"] == {"screening_pending": 1}

    async def another_run_meanwhile(now: Any) -> Any:
        standing = await real_standing(now)
        await ok(await api.post("/api/v1/screening/runs", json={}), 201)
        await asyncio.wait_for(match(api), 5)
        return standing

    monkeypatch.setattr(service, "screening_standing", another_run_meanwhile)
    assert await cache.rescreen() is None and cache._state.rescreen_owed, "still owed: the next call reads it"
    monkeypatch.setattr(service, "screening_standing", real_standing)
    state = await cache.rescreen()
    assert state is not None and not state.rescreen_owed
    assert (await match(api))["ineligible"] == {"screening_pending": 1}
