"""The roster index follows writes by patching in only the physicians they touched, and rebuilds when
what changed cannot be told from the record history."""

from __future__ import annotations

from typing import Any

import pytest

from roster import clock
from roster.db import write_tx
from roster.db.tx import claim_roster_version
from roster.history import service as history
from roster.history.tables import ROSTER, RecordVersion, RosterVersion
from roster.matching import service
from roster.matching.index import RosterIndex
from tests.conftest import Api
from tests.integration.matching.roster import PHYSICIANS, case, match, ok, reviewer


@pytest.fixture
def refreshes(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Records every full build (its version), every patch (the physicians it reloaded) and every
    recomputation of everyone's screening (the physicians whose standing changed)."""
    seen: dict[str, list[Any]] = {"builds": [], "patches": [], "rescreens": []}
    real_build, real_patched, real_rescreened = service.RosterCache._build, RosterIndex.patched, RosterIndex.rescreened

    async def build(self: service.RosterCache, version: int | None) -> service.RosterState:
        seen["builds"].append(version)
        return await real_build(self, version)

    def patched(self: RosterIndex, changes: dict) -> RosterIndex:
        seen["patches"].append(set(changes))
        return real_patched(self, changes)

    def rescreened(self: RosterIndex, screening: dict) -> RosterIndex:
        out = real_rescreened(self, screening)
        seen["rescreens"].append(
            {r.id for r, before in zip(out.reviewers, self.reviewers, strict=True) if r is not before}
        )
        return out

    monkeypatch.setattr(service.RosterCache, "_build", build)
    monkeypatch.setattr(RosterIndex, "patched", patched)
    monkeypatch.setattr(RosterIndex, "rescreened", rescreened)
    return seen


async def counter() -> int:
    row = await RosterVersion.select(RosterVersion.version).where(RosterVersion.id == ROSTER).first().run()
    return int(row["version"])


async def test_a_license_write_reloads_only_its_physician(api: Api, refreshes: dict[str, list[Any]]) -> None:
    first, second = await reviewer(api, 1), await reviewer(api, 2)
    assert len((await match(api))["eligible"]) == 2
    assert len(refreshes["builds"]) == 1 and not refreshes["patches"]

    license_id = first["licenses"][0]["id"]
    await ok(await api.patch(f"/api/v1/licenses/{license_id}", json={"restricted": True}))
    result = await match(api)
    assert [e["physician_id"] for e in result["eligible"]] == [second["id"]]
    assert result["ineligible"] == {"license_restricted": 1}
    assert len(refreshes["builds"]) == 1, "no full rebuild for one write"
    assert [{str(pid) for pid in p} for p in refreshes["patches"]] == [{first["id"]}]
    # The write's record version carries the roster version it committed as.
    stamps = await RecordVersion.select(RecordVersion.roster_version).where(RecordVersion.entity_id == license_id).run()
    assert sorted(s["roster_version"] for s in stamps)[-1] == await counter()

    third = await reviewer(api, 3)
    await ok(await api.patch(f"{PHYSICIANS}/{second['id']}", json={"lines_of_business": ["medicaid"]}))
    result = await match(api)
    assert [e["physician_id"] for e in result["eligible"]] == [third["id"]]
    assert result["ineligible"] == {"license_restricted": 1, "line_of_business": 1}
    assert result["evaluated"] == 3
    assert len(refreshes["builds"]) == 1
    assert {str(pid) for pid in refreshes["patches"][-1]} == {second["id"], third["id"]}


async def test_a_version_that_recorded_no_physician_rebuilds(api: Api, refreshes: dict[str, list[Any]]) -> None:
    """Reference data, for one, records no physician: all may have changed."""
    await reviewer(api, 1)
    await match(api)
    async with write_tx():
        pass  # a roster change that left no record version
    version = await counter()
    await match(api)
    assert refreshes["builds"][-1] == version and not refreshes["patches"]


async def test_many_changed_physicians_rebuild(
    api: Api, refreshes: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_PATCHED_PHYSICIANS", 1)
    await reviewer(api, 1)
    await match(api)
    await reviewer(api, 2)
    await reviewer(api, 3)
    assert (await match(api))["evaluated"] == 3
    assert len(refreshes["builds"]) == 2 and not refreshes["patches"]


async def test_a_write_that_is_no_roster_change_is_stamped_zero(api: Api, refreshes: dict[str, list[Any]]) -> None:
    physician = await reviewer(api, 1)
    await match(api)
    before = await counter()
    snapshot = {k: v for k, v in physician.items() if k not in ("licenses", "certifications")}
    async with write_tx(roster_change=False):
        await history.record(
            entity="physician",
            entity_id=physician["id"],
            physician_id=physician["id"],
            data=snapshot,
            at=clock.now(),
        )
    assert await counter() == before
    rows = await RecordVersion.select(RecordVersion.roster_version).where(RecordVersion.roster_version.is_null()).run()
    assert rows == [], "every committed version is stamped"
    newest = (
        await RecordVersion.select(RecordVersion.roster_version)
        .where(RecordVersion.entity_id == physician["id"])
        .order_by(RecordVersion.recorded_from, ascending=False)
        .first()
        .run()
    )
    assert newest["roster_version"] == 0
    await match(api)
    assert len(refreshes["builds"]) == 1 and not refreshes["patches"], "nothing to refresh"


async def test_a_failed_write_stamps_nothing(api: Api, refreshes: dict[str, list[Any]]) -> None:
    physician = await reviewer(api, 1)
    await match(api)
    before = await counter()
    with pytest.raises(RuntimeError):
        async with write_tx():
            await history.record(
                entity="physician",
                entity_id=physician["id"],
                physician_id=physician["id"],
                data={},
                at=clock.now(),
            )
            raise RuntimeError("rolled back")
    assert await counter() == before
    await match(api)
    assert len(refreshes["builds"]) == 1 and not refreshes["patches"]


async def test_open_cases_stay_with_their_physicians_across_patches(api: Api) -> None:
    busy, other = await reviewer(api, 1, max_open_cases=1), await reviewer(api, 2, max_open_cases=1)
    await match(api)
    await ok(
        await api.post(
            "/api/v1/assignments", role="router", json={**case(), "case_id": "C-1", "physician_id": busy["id"]}
        ),
        201,
    )
    assert (await match(api))["ineligible"] == {"at_capacity": 1}
    # Writes to either physician patch the index; the open case stays counted against ``busy``.
    await ok(await api.patch(f"{PHYSICIANS}/{other['id']}", json={"languages": ["en", "es"]}))
    result = await match(api)
    assert result["ineligible"] == {"at_capacity": 1}
    assert [e["physician_id"] for e in result["eligible"]] == [other["id"]]
    await ok(await api.patch(f"{PHYSICIANS}/{busy['id']}", json={"max_open_cases": 2}))
    result = await match(api)
    assert result["ineligible"] == {}
    assert {e["physician_id"]: e["open_cases"] for e in result["eligible"]} == {busy["id"]: 1, other["id"]: 0}


async def test_bulk_history_is_stamped_as_inserted_with_the_version_it_commits_as(
    api: Api, refreshes: dict[str, list[Any]]
) -> None:
    """``record_changes`` (imports) claims the version up front; it is the one the commit publishes."""
    physician = await reviewer(api, 1)
    await match(api)
    before = await counter()
    snapshot = {k: v for k, v in physician.items() if k not in ("licenses", "certifications")}
    change = history.Change("update", "physician", physician["id"], physician["id"], snapshot, snapshot)
    async with write_tx():
        await history.record_changes([change], actor="test", at=clock.now())
        pending = await RecordVersion.select(RecordVersion.roster_version).where(RecordVersion.roster_version.is_null())
        assert pending == [], "inserted stamped, not left for the commit"
        assert await history.record_changes([change], actor="test", at=clock.now()) is None
    assert await counter() == before + 1, "claimed once per transaction"
    stamps = await RecordVersion.select(RecordVersion.roster_version).where(RecordVersion.entity_id == physician["id"])
    assert sorted(s["roster_version"] for s in stamps)[-2:] == [before + 1, before + 1]
    await match(api)
    assert len(refreshes["builds"]) == 1 and [{str(p) for p in ids} for ids in refreshes["patches"]] == [
        {physician["id"]}
    ]


async def test_a_claimed_version_of_a_rolled_back_write_is_not_published(api: Api) -> None:
    await reviewer(api, 1)
    before = await counter()
    with pytest.raises(RuntimeError):
        async with write_tx():
            await claim_roster_version()
            raise RuntimeError("rolled back")
    assert await counter() == before
    async with write_tx(roster_change=False):
        assert await claim_roster_version() is None, "not a roster change: stamped 0 at commit"


async def test_a_record_version_is_stamped_as_inserted_and_never_rewritten(
    api: Api, refreshes: dict[str, list[Any]]
) -> None:
    """A roster change's version is inserted with the version it commits as (the commit rewrites nothing);
    a version inserted before its transaction became a roster change is stamped at commit, by its id."""
    physician = await reviewer(api, 1)
    await match(api)
    before = await counter()
    snapshot = {k: v for k, v in physician.items() if k not in ("licenses", "certifications")}

    async def record() -> None:
        await history.record(
            entity="physician", entity_id=physician["id"], physician_id=physician["id"], data=snapshot, at=clock.now()
        )

    async def newest_stamps(count: int) -> list[int | None]:
        rows = (
            await RecordVersion.select(RecordVersion.roster_version)
            .where(RecordVersion.entity_id == physician["id"])
            .order_by(RecordVersion.recorded_from, ascending=False)
            .limit(count)
            .run()
        )
        return [r["roster_version"] for r in rows]

    async with write_tx():
        await record()
        assert await newest_stamps(1) == [before + 1], "stamped as inserted"
    assert await newest_stamps(1) == [before + 1] and await counter() == before + 1

    async with write_tx(roster_change=False):
        await record()
        assert await newest_stamps(1) == [None], "not (yet) a roster change: stamped at commit"
        async with write_tx():  # a later write in the same transaction makes it one
            await record()
    assert await counter() == before + 2
    assert await newest_stamps(2) == [before + 2, before + 2]
    assert await RecordVersion.count().where(RecordVersion.roster_version.is_null()).run() == 0
    await match(api)
    assert len(refreshes["builds"]) == 1, "both writes are patched in from their stamps"
    assert [{str(p) for p in ids} for ids in refreshes["patches"]] == [{physician["id"]}]


async def test_the_first_physician_of_an_empty_roster_is_matched_after_a_match_on_none(
    api: Api, refreshes: dict[str, list[Any]]
) -> None:
    """A router asking before anyone is on the roster, then again after the first physician is added:
    the patched index carries the (no) open cases over from the empty one."""
    assert (await match(api))["eligible"] == []
    first = await reviewer(api, 1)
    assert [e["physician_id"] for e in (await match(api))["eligible"]] == [first["id"]]
    assert len(refreshes["builds"]) == 1, "the empty index was patched, not rebuilt"
    assert [{str(pid) for pid in p} for p in refreshes["patches"]] == [{first["id"]}]


async def test_a_build_runs_without_the_cyclic_collector_and_turns_it_back_on(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building the index keeps every object it makes alive: the collector waits until it is done (and
    the index is then frozen out of its way), on success and on failure."""
    import gc

    seen: list[bool] = []
    real_build = service.RosterCache._build

    async def build(self: service.RosterCache, version: int | None) -> service.RosterState:
        seen.append(gc.isenabled())
        return await real_build(self, version)

    monkeypatch.setattr(service.RosterCache, "_build", build)
    await reviewer(api, 1)
    assert len((await match(api))["eligible"]) == 1
    assert seen == [False] and gc.isenabled()

    async def broken(self: service.RosterCache, version: int | None) -> service.RosterState:
        seen.append(gc.isenabled())
        raise RuntimeError("database went away")

    monkeypatch.setattr(service.RosterCache, "_build", broken)
    monkeypatch.setattr(service.RosterCache, "_patch", lambda *_: _none())
    await reviewer(api, 2)
    assert (await api.post("/api/v1/match", json=case())).status_code == 500
    assert seen == [False, False] and gc.isenabled()


async def _none() -> None:
    return None
