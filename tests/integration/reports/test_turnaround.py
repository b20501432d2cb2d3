"""GET /api/v1/reports/turnaround: decided within the clock, by line of business x review type x urgency."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from roster.availability.clocks import turnaround_outcome
from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import case, ok, reviewer

REPORT = "/api/v1/reports/turnaround"
T0 = datetime.combine(factories.TODAY + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=14)


@pytest.fixture
def settings(migrated: Any) -> Any:
    return migrated.settings(required_sources=())


async def assign(api: Api, physician: dict[str, Any], case_id: str, **overrides: Any) -> dict[str, Any]:
    body = case(
        **{"line_of_business": "medicare_advantage", "case_id": case_id, "physician_id": physician["id"], **overrides}
    )
    return await ok(await api.post("/api/v1/assignments", json=body, role="router"), 201)


async def close(api: Api, assignment: dict[str, Any], status: str = "completed") -> None:
    await ok(await api.patch(f"/api/v1/assignments/{assignment['id']}", json={"status": status}, role="router"))


async def test_on_time_late_overdue_and_pending_by_clock(api: Api) -> None:
    reviewers = [await reviewer(api, n, max_open_cases=50) for n in (1, 2)]
    with time_machine.travel(T0, tick=False):
        fast = await assign(api, reviewers[0], "E-1", urgency="expedited")  # due T0 + 72 h
        slow = await assign(api, reviewers[0], "E-2", urgency="expedited")
        open_late = await assign(api, reviewers[1], "E-3", urgency="expedited")
        standard = await assign(api, reviewers[1], "S-1")  # due T0 + 7 days
        dropped = await assign(api, reviewers[1], "S-2")
        other = await assign(api, reviewers[1], "C-1", line_of_business="commercial")
    with time_machine.travel(T0 + timedelta(hours=70), tick=False):
        await close(api, fast)
    with time_machine.travel(T0 + timedelta(hours=80), tick=False):
        await close(api, slow)
        await close(api, dropped, "cancelled")
        period = {"from": T0.date().isoformat(), "to": T0.date().isoformat()}
        report = await ok(await api.get(REPORT, params=period, role="manager"))
        only_ma = await ok(await api.get(REPORT, params={**period, "line_of_business": "medicare_advantage"}))
        table = await api.get(REPORT, params=period, headers={"Accept": "text/csv"})
    groups = {(g["line_of_business"], g["review_type"], g["urgency"]): g for g in report["groups"]}
    expedited = groups[("medicare_advantage", "initial", "expedited")]
    assert (expedited["decided"], expedited["on_time"], expedited["overdue"], expedited["pending"]) == (2, 1, 1, 0)
    assert expedited["share_on_time"] == pytest.approx(1 / 3, abs=1e-4)
    assert groups[("medicare_advantage", "initial", "standard")]["pending"] == 1
    assert groups[("medicare_advantage", "initial", "standard")]["share_on_time"] is None
    assert ("commercial", "initial", "standard") in groups and other["urgency"] == "standard"
    assert {g["line_of_business"] for g in only_ma["groups"]} == {"medicare_advantage"}
    late = {c["case_id"]: c for c in report["late"]}
    assert set(late) == {"E-2", "E-3"}
    assert late["E-2"]["outcome"] == "late" and late["E-2"]["hours_late"] == 8.0
    assert late["E-3"]["outcome"] == "overdue" and late["E-3"]["decided_at"] is None
    assert open_late["received_at"] is not None and standard["due_at"] > fast["due_at"]
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert sorted(r["case_id"] for r in rows) == ["E-2", "E-3"]


def test_outcomes() -> None:
    due = datetime(2027, 1, 4, tzinfo=UTC)
    assert turnaround_outcome("completed", due, due, due) == "on_time"
    assert turnaround_outcome("completed", due, due + timedelta(seconds=1), due) == "late"
    assert turnaround_outcome("open", due, None, due) == "pending"
    assert turnaround_outcome("open", due, None, due + timedelta(seconds=1)) == "overdue"
    assert turnaround_outcome("cancelled", due, due, due) is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2027-02-01", "to": "2027-01-01"}, "to"),
        ({"from": "2025-01-01", "to": "2027-01-01"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"line_of_business": "dental"}, "line_of_business"),
    ],
)
async def test_bad_input_is_422_naming_the_field(api: Api, params: dict[str, str], field: str) -> None:
    response = await api.get(REPORT, params=params)
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_routers_may_not_read_it(api: Api) -> None:
    assert (await api.get(REPORT, role="router")).status_code == 403
