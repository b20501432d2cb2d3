"""CME shown in the compliance report (issue 15): the cycle's standing as of the report's date, informational
(api.md has no reason code for a short cycle, so it never makes a physician non-compliant)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import time_machine

from tests.conftest import Api
from tests.integration.credentialing.helpers import PHYSICIANS, ok, physician

#: Dates that hold whatever day the suite runs on.
FIXED = {"credentialed_on": "2020-01-01", "irr_passed_on": "2020-01-01"}


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def add_credit(api: Api, physician_id: str, completed_on: date, hours: float, *, recorded: date) -> None:
    body = {
        "completed_on": completed_on.isoformat(),
        "activity": "Tumor board",
        "hours": hours,
        "category": "ama_pra_1",
    }
    with time_machine.travel(at_noon(recorded), tick=False):
        await ok(await api.post(f"{PHYSICIANS}/{physician_id}/cme", json=body), 201)


async def compliance(api: Api, physician_id: str, as_of: date, *, today: date) -> dict[str, Any]:
    with time_machine.travel(at_noon(today), tick=False):
        url = f"{PHYSICIANS}/{physician_id}/compliance"
        return await ok(await api.get(url, params={"as_of": as_of.isoformat()}, role="auditor"))


async def test_the_report_carries_the_cycle_as_it_stood_and_never_fails_on_it(api: Api) -> None:
    """Default row: 50 hours per 24 months from 2026-01-01 (the cycle 2026-01-01 to 2027-12-31)."""
    with time_machine.travel(at_noon(date(2026, 1, 5)), tick=False):
        doc = await physician(api, **FIXED)
    await add_credit(api, doc["id"], date(2026, 2, 1), 5, recorded=date(2026, 3, 1))
    await add_credit(api, doc["id"], date(2026, 2, 15), 30, recorded=date(2026, 6, 1))

    then = await compliance(api, doc["id"], date(2026, 4, 1), today=date(2026, 7, 1))
    assert then["cme"]["earned_hours"] == 5.0, "a credit recorded after the day replayed is not counted"
    assert (then["cme"]["cycle_start"], then["cme"]["cycle_end"]) == ("2026-01-01", "2027-12-31")
    # 5 hours in the cycle's first 91 days: 5 * 730 / 91 = 40.1 projected, short of 50.
    assert then["cme"]["required_hours"] == 50.0 and then["cme"]["projected_hours"] == 40.11
    assert then["cme"]["short"] is True

    now = await compliance(api, doc["id"], date(2026, 7, 1), today=date(2026, 7, 1))
    assert now["cme"]["earned_hours"] == 35.0 and now["cme"]["short"] is False
    assert "cme" not in {c["check"] for c in now["checks"]}
    assert not any("cme" in reason for reason in now["reasons"])

    # Short as of then, and the verdict is the checks' alone.
    assert then["compliant"] == (not then["reasons"])
    assert then["reasons"] == (await compliance(api, doc["id"], date(2026, 4, 1), today=date(2026, 7, 1)))["reasons"]


async def test_a_bad_as_of_is_still_422_naming_it(api: Api) -> None:
    doc = await physician(api, **FIXED)
    response = await api.get(f"{PHYSICIANS}/{doc['id']}/compliance", params={"as_of": "1800-01-01"})
    assert response.status_code == 422 and "as_of" in response.text
