"""GET /api/v1/reports/coverage: eligible reviewers per state x specialty now and at the horizon."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import ok, reviewer

REPORT = "/api/v1/reports/coverage"
TODAY = factories.TODAY


def rows_by_key(report: dict) -> dict[tuple[str, str], dict]:
    return {(r["state"], r["specialty"]): r for r in report["rows"]}


async def test_forecast_loses_the_last_oncologist_when_a_license_expires(api: Api) -> None:
    soon = (TODAY + timedelta(days=30)).isoformat()
    await reviewer(api, 1, licenses=(factories.license(expires_on=soon),))
    await reviewer(api, 2, licenses=(factories.license(state="CA", number="CA2"),))
    await reviewer(
        api, 3, specialties=["cardiology"], certifications=(factories.certification(specialty="cardiology"),)
    )

    report = await ok(await api.get(REPORT, role="manager", params={"line_of_business": "commercial"}))
    assert report["as_of"] == TODAY.isoformat() and report["horizon_days"] == 90
    assert report["horizon_on"] == (TODAY + timedelta(days=90)).isoformat()
    assert "license" in report["forecast_checks"] and "screening" not in report["forecast_checks"]
    rows = rows_by_key(report)
    az_onc = rows[("AZ", "medical_oncology")]
    assert (az_onc["eligible_now"], az_onc["eligible_at_horizon"], az_onc["loses_coverage"]) == (1, 0, True)
    assert rows[("AZ", "hematology")]["eligible_now"] == 1, "similar specialty counts"
    assert rows[("CA", "medical_oncology")] == {
        "state": "CA",
        "specialty": "medical_oncology",
        "eligible_now": 1,
        "eligible_at_horizon": 1,
        "change": 0,
        "loses_coverage": False,
    }
    assert rows[("AZ", "cardiology")]["eligible_now"] == 1
    assert rows[("TX", "psychiatry")]["eligible_now"] == 0 and not rows[("TX", "psychiatry")]["loses_coverage"]
    assert ("AZ", "clinical_pharmacy") not in rows, "non-physician specialties are never covered"

    short = rows_by_key(await ok(await api.get(REPORT, params={"line_of_business": "commercial", "horizon_days": 29})))
    assert short[("AZ", "medical_oncology")]["eligible_at_horizon"] == 1, "the license is valid until day 30"
    ma = rows_by_key(await ok(await api.get(REPORT, params={"line_of_business": "medicare_advantage"})))
    assert ma[("TX", "medical_oncology")]["eligible_now"] == 2, "MA: any US license covers every state"
    medicaid = rows_by_key(await ok(await api.get(REPORT, params={"line_of_business": "medicaid"})))
    assert medicaid[("AZ", "medical_oncology")]["eligible_now"] == 0


async def test_capacity_is_not_part_of_coverage(api: Api) -> None:
    await reviewer(api, 1, max_open_cases=0)
    rows = rows_by_key(await ok(await api.get(REPORT, params={"line_of_business": "commercial"})))
    assert rows[("AZ", "medical_oncology")]["eligible_now"] == 1


async def test_csv(api: Api) -> None:
    await reviewer(api, 1)
    response = await api.get(
        REPORT, role="auditor", params={"line_of_business": "commercial"}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["state", "specialty", "eligible_now", "eligible_at_horizon", "change", "loses_coverage"]
    az = next(r for r in rows if r["state"] == "AZ" and r["specialty"] == "medical_oncology")
    assert az["eligible_now"] == "1" and az["loses_coverage"] == "false"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "line_of_business"),
        ({"line_of_business": "dental"}, "line_of_business"),
        ({"line_of_business": "commercial", "as_of": "2025-02-30"}, "as_of"),
        ({"line_of_business": "commercial", "as_of": "9999-12-31"}, "as_of"),
        ({"line_of_business": "commercial", "horizon_days": -1}, "horizon_days"),
        ({"line_of_business": "commercial", "horizon_days": 5000}, "horizon_days"),
        ({"line_of_business": "commercial", "state": "AZ"}, "state"),
    ],
)
async def test_bad_input(api: Api, params: dict, field: str) -> None:
    response = await api.get(REPORT, params=params)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_roles(api: Api) -> None:
    for role, status in (("manager", 200), ("auditor", 200), ("admin", 200), ("router", 403), ("credentialing", 403)):
        response = await api.get(REPORT, role=role, params={"line_of_business": "commercial"})
        assert response.status_code == status, role


async def test_past_as_of_replays_history(api: Api) -> None:
    with time_machine.travel(datetime(2025, 1, 10, 15, tzinfo=UTC), tick=False):
        physician = await reviewer(
            api,
            1,
            credentialed_on="2024-12-01",
            irr_passed_on="2024-12-15",
            licenses=(factories.license(expires_on="2025-04-01", verified_on="2025-01-09"),),
            certifications=(factories.certification(verified_on="2025-01-09"),),
        )
    with time_machine.travel(datetime(2025, 3, 20, 9, tzinfo=UTC), tick=False):
        license_id = physician["licenses"][0]["id"]
        await ok(await api.patch(f"/api/v1/licenses/{license_id}", json={"expires_on": "2027-04-01"}))

    params = {"line_of_business": "commercial", "as_of": "2025-03-01", "horizon_days": 60}
    march = rows_by_key(await ok(await api.get(REPORT, params=params)))
    row = march[("AZ", "medical_oncology")]
    assert (row["eligible_now"], row["eligible_at_horizon"], row["loses_coverage"]) == (1, 0, True)
    after = rows_by_key(await ok(await api.get(REPORT, params={**params, "as_of": "2025-03-21"})))
    assert after[("AZ", "medical_oncology")]["eligible_at_horizon"] == 1, "the renewal is seen from that day on"
