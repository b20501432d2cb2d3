"""GET /api/v1/reports/um-decisions: completed cases whose recorded evidence shows an eligible reviewer."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import time_machine

from roster.assignments.tables import Assignment
from roster.db import write_tx
from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import case, ok, reviewer

REPORT = "/api/v1/reports/um-decisions"
T0 = datetime.combine(factories.TODAY + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=14)


@pytest.fixture
def settings(migrated: Any) -> Any:
    return migrated.settings(required_sources=())


async def assign(api: Api, physician: dict[str, Any], case_id: str) -> dict[str, Any]:
    body = case(case_id=case_id, physician_id=physician["id"], line_of_business="commercial")
    return await ok(await api.post("/api/v1/assignments", json=body, role="router"), 201)


async def close(api: Api, assignment: dict[str, Any], status: str = "completed") -> None:
    await ok(await api.patch(f"/api/v1/assignments/{assignment['id']}", json={"status": status}, role="router"))


async def rewrite_evidence(assignment: dict[str, Any], **changes: Any) -> None:
    """What an older release, or an import of past assignments, may have recorded."""
    evidence = {**assignment["evidence"], **changes}
    async with write_tx(roster_change=False):
        await Assignment.update({Assignment.evidence: evidence}).where(Assignment.id == UUID(assignment["id"])).run()


async def test_share_and_exceptions_from_the_recorded_evidence(api: Api) -> None:
    reviewers = [await reviewer(api, n, max_open_cases=50) for n in (1, 2, 3)]
    with time_machine.travel(T0, tick=False):
        sound = await assign(api, reviewers[0], "UM-1")
        lapsed = await assign(api, reviewers[1], "UM-2")
        bare = await assign(api, reviewers[2], "UM-3")
        dropped = await assign(api, reviewers[0], "UM-4")
        still_open = await assign(api, reviewers[1], "UM-5")
    assert sound["evidence"]["license"]["state"] == "AZ" and sound["evidence"]["certifications"]
    expired_license = {**lapsed["evidence"]["license"], "expires_on": (T0.date() - timedelta(days=1)).isoformat()}
    await rewrite_evidence(lapsed, license=expired_license)
    await rewrite_evidence(bare, license=None, certifications=[])
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        for done in (sound, lapsed, bare):
            await close(api, done)
        await close(api, dropped, "cancelled")
        period = {"period_start": T0.date().isoformat(), "period_end": T0.date().isoformat()}
        report = await ok(await api.get(REPORT, params=period, role="auditor"))
        table = await api.get(REPORT, params=period, headers={"Accept": "text/csv"}, role="manager")
        next_day = (T0.date() + timedelta(days=1)).isoformat()
        later = await ok(await api.get(REPORT, params={"period_start": next_day, "period_end": next_day}))
    assert (report["completed"], report["eligible"]) == (3, 1)
    assert report["share"] == pytest.approx(1 / 3, abs=1e-4)
    found = {e["case_id"]: e for e in report["exceptions"]}
    assert set(found) == {"UM-2", "UM-3"}, "cancelled and open assignments are not judged"
    assert found["UM-2"]["reasons"] == ["license_expired"]
    assert found["UM-3"]["reasons"] == ["no_license_in_state", "no_board_certification"]
    assert found["UM-2"]["physician_id"] == reviewers[1]["id"] and found["UM-2"]["assignment_id"] == lapsed["id"]
    assert datetime.fromisoformat(found["UM-2"]["assigned_at"]) == T0
    assert still_open["status"] == "open"
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert table.headers["content-type"].startswith("text/csv")
    assert {r["case_id"]: r["reasons"] for r in rows} == {
        "UM-2": "license_expired",
        "UM-3": "no_license_in_state;no_board_certification",
    }
    assert (later["completed"], later["share"], later["exceptions"]) == (0, None, [])


async def test_a_license_from_another_state_is_an_exception_where_the_case_needs_an_in_state_one(api: Api) -> None:
    physician = await reviewer(api, 7)
    with time_machine.travel(T0, tick=False):
        assignment = await assign(api, physician, "UM-7")
    await rewrite_evidence(assignment, license={**assignment["evidence"]["license"], "state": "NM"})
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        await close(api, assignment)
        day = T0.date().isoformat()
        report = await ok(await api.get(REPORT, params={"period_start": day, "period_end": day}))
    assert [e["reasons"] for e in report["exceptions"]] == [["no_license_in_state"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period_start": "2027-02-01", "period_end": "2027-01-01"}, "period_end"),
        ({"period_start": "2025-01-01", "period_end": "2027-01-01"}, "period_end"),
        ({"period_start": "yesterday"}, "period_start"),
        ({"period_end": "2027-13-01"}, "period_end"),
    ],
)
async def test_bad_input_is_422_naming_the_field(api: Api, params: dict[str, str], field: str) -> None:
    response = await api.get(REPORT, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


async def test_routers_may_not_read_it(api: Api) -> None:
    assert (await api.get(REPORT, role="router")).status_code == 403
