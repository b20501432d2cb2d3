"""Screening through the real endpoints: stale, pending and cleared lists, and the snapshot kept as evidence."""

from __future__ import annotations

import pytest

from roster.config import Settings
from tests import factories
from tests.conftest import Api, TempDatabase
from tests.integration.matching.roster import case, match, ok, reviewer


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings(required_sources=("oig_leie",))


async def test_screening_blocks_until_cleared_and_the_snapshot_is_evidence(api: Api) -> None:
    physician = await reviewer(api, 1)
    assert (await match(api))["ineligible"] == {"screening_stale": 1}, "never screened is never clear"

    files = {"file": ("UPDATED.csv", factories.leie_file(physician["npi"]), "text/csv")}
    snapshot = await ok(await api.post("/api/v1/screening/oig_leie/snapshots", files=files), 201)
    run = await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    assert (await match(api))["ineligible"] == {"screening_pending": 1}
    blocked = await api.post(
        "/api/v1/assignments", role="router", json={**case(), "case_id": "S-1", "physician_id": physician["id"]}
    )
    assert blocked.status_code == 409 and [e["message"] for e in blocked.json()["errors"]] == ["screening_pending"]

    [hit] = (await ok(await api.get("/api/v1/screening/hits")))["items"]
    await ok(
        await api.post(
            f"/api/v1/screening/hits/{hit['id']}/decision", json={"decision": "dismissed", "note": "DOB differs"}
        )
    )
    assert [e["physician_id"] for e in (await match(api))["eligible"]] == [physician["id"]]
    created = await ok(
        await api.post(
            "/api/v1/assignments", role="router", json={**case(), "case_id": "S-1", "physician_id": physician["id"]}
        ),
        201,
    )
    [evidence] = created["evidence"]["screening"]
    assert evidence["source"] == "oig_leie"
    assert evidence["snapshot_id"] == snapshot["id"] and evidence["run_id"] == run["id"]
    assert evidence["sha256"] == snapshot["sha256"]


async def test_a_confirmed_hit_excludes(api: Api) -> None:
    physician = await reviewer(api, 1)
    files = {"file": ("UPDATED.csv", factories.leie_file(physician["npi"]), "text/csv")}
    await ok(await api.post("/api/v1/screening/oig_leie/snapshots", files=files), 201)
    await ok(await api.post("/api/v1/screening/runs", json={}), 201)
    [hit] = (await ok(await api.get("/api/v1/screening/hits")))["items"]
    await ok(
        await api.post(
            f"/api/v1/screening/hits/{hit['id']}/decision", json={"decision": "confirmed", "note": "same person"}
        )
    )
    assert (await match(api))["ineligible"] == {"excluded_oig": 1}
