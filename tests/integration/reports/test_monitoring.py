"""GET /api/v1/reports/monitoring: months of the period without a run against that month's list."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from tests import factories
from tests.conftest import Api

REPORT = "/api/v1/reports/monitoring"
PERIOD = {"period_start": "2026-01-01", "period_end": "2026-03-31"}


async def upload_and_run(api: Api, content: bytes) -> None:
    response = await api.post(
        "/api/v1/screening/oig_leie/snapshots", files={"file": ("UPDATED.csv", content, "text/csv")}
    )
    assert response.status_code in (200, 201), response.text
    run = await api.post("/api/v1/screening/runs", json={"sources": ["oig_leie"]})
    assert run.status_code in (200, 201), run.text


async def history(api: Api) -> dict[str, Any]:
    """Ada joins in January, Bo in March, Cy leaves in February. LEIE: January's list run in January;
    February only re-runs January's list; March loads and runs its own. SAM and preclusion: never."""
    ids: dict[str, Any] = {}
    with time_machine.travel(datetime(2026, 1, 5, 15, tzinfo=UTC), tick=False):
        for key, n in (("ada", 1), ("cy", 3)):
            response = await api.post(
                "/api/v1/physicians",
                json=factories.physician(n, credentialed_on="2025-06-01", irr_passed_on="2025-06-01"),
            )
            assert response.status_code == 201, response.text
            ids[key] = response.json()["id"]
    with time_machine.travel(datetime(2026, 1, 20, 15, tzinfo=UTC), tick=False):
        await upload_and_run(api, factories.leie_file("1999999992", "JANUARY"))
    with time_machine.travel(datetime(2026, 2, 10, 15, tzinfo=UTC), tick=False):
        assert (await api.delete(f"/api/v1/physicians/{ids['cy']}")).status_code in (200, 204)
        run = await api.post("/api/v1/screening/runs", json={"sources": ["oig_leie"]})
        assert run.status_code in (200, 201), run.text
    with time_machine.travel(datetime(2026, 3, 2, 15, tzinfo=UTC), tick=False):
        response = await api.post(
            "/api/v1/physicians", json=factories.physician(2, credentialed_on="2025-06-01", irr_passed_on="2025-06-01")
        )
        ids["bo"] = response.json()["id"]
        await upload_and_run(api, factories.leie_file("1999999992", "MARCH"))
    return ids


async def test_gaps_are_the_months_without_a_run_on_that_months_list(api: Api) -> None:
    ids = await history(api)
    with time_machine.travel(datetime(2026, 4, 2, 15, tzinfo=UTC), tick=False):
        response = await api.get(REPORT, params=PERIOD, role="auditor")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["months"] == ["2026-01", "2026-02", "2026-03"]
    leie = sorted((g["physician_id"], g["month"]) for g in body["gaps"] if g["source"] == "oig_leie")
    # February re-ran January's list: no proof for February (Cy was still on the roster on Feb 1).
    assert leie == sorted([(ids["ada"], "2026-02"), (ids["cy"], "2026-02")])
    sam = sorted((g["physician_id"], g["month"]) for g in body["gaps"] if g["source"] == "sam")
    assert sam == sorted(
        [(ids["ada"], m) for m in body["months"]]
        + [(ids["cy"], "2026-01"), (ids["cy"], "2026-02"), (ids["bo"], "2026-03")]
    )
    assert body["gap_count"] == len(body["gaps"]) and not body["truncated"]
    counts = {(m["source"], m["month"]): m["physicians"] for m in body["by_month"]}
    assert counts[("oig_leie", "2026-02")] == 2 and ("oig_leie", "2026-01") not in counts
    assert counts[("cms_preclusion", "2026-03")] == 2


async def test_csv_lists_every_gap(api: Api) -> None:
    await history(api)
    with time_machine.travel(datetime(2026, 4, 2, 15, tzinfo=UTC), tick=False):
        body = (await api.get(REPORT, params=PERIOD)).json()
        response = await api.get(REPORT, params=PERIOD, headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == body["gap_count"]
    assert {tuple(r.values()) for r in rows} == {(g["physician_id"], g["source"], g["month"]) for g in body["gaps"]}


async def test_default_period_is_the_last_twelve_whole_months(api: Api) -> None:
    with time_machine.travel(datetime(2026, 4, 2, 15, tzinfo=UTC), tick=False):
        body = (await api.get(REPORT)).json()
    assert body["period_start"] == "2025-04-01" and body["period_end"] == "2026-03-31"
    assert len(body["months"]) == 12 and body["gaps"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period_start": "2026-03-01", "period_end": "2026-02-01"}, "period_end"),
        ({"period_start": "2020-01-01", "period_end": "2026-02-01"}, "period_end"),
        ({"period_start": "2026-13-01"}, "period_start"),
    ],
)
async def test_bad_periods_are_422_naming_the_field(api: Api, params: dict[str, str], field: str) -> None:
    response = await api.get(REPORT, params=params)
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_routers_may_not_read_it(api: Api) -> None:
    assert (await api.get(REPORT, role="router")).status_code == 403
