"""CME credits and the current cycle's standing: hours earned so far, projected to the cycle's end at the
rate so far, against the strictest requirement among the physician's license states (else the default).

This module's CME table is the project's default row plus three state rows (``settings`` below), so that
a license in TX changes the cycle and a lapsed or inactive license does not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from roster.audit.tables import AuditEvent
from roster.config import Settings
from roster.credentialing.tables import CmeCredit
from tests import factories
from tests.conftest import Api, TempDatabase
from tests.integration.credentialing.helpers import MISSING, PHYSICIANS, TODAY, ago, ok, physician, problem

READERS = ("admin", "credentialing", "manager", "auditor")
#: Dates that hold whatever day the suite runs on.
FIXED = {"credentialed_on": "2020-01-01", "irr_passed_on": "2020-01-01"}
STANDING_DAY = date(2027, 3, 15)
#: TX: 30 hours a year from April (2.5 h/month, stricter than the default's 50 per 24 months);
#: CA and NY are stricter still but apply only to a license held there (active or on probation, unexpired).
STATE_ROWS = 'TX,30,12,2026-04-01,"test row"\nCA,100,12,2026-01-01,"test row"\nNY,200,12,2026-01-01,"test row"\n'


@pytest.fixture
def settings(migrated: TempDatabase, tmp_path: Path) -> Iterator[Settings]:
    base = migrated.settings()
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    for entry in base.fixtures_dir.iterdir():
        if entry.name != "cme_requirements.csv":
            (fixtures / entry.name).symlink_to(entry)
    table = (base.fixtures_dir / "cme_requirements.csv").read_text(encoding="utf-8")
    (fixtures / "cme_requirements.csv").write_text(table.rstrip("\n") + "\n" + STATE_ROWS, encoding="utf-8")
    yield replace(base, fixtures_dir=fixtures)


def credit(completed_on: date | None = None, hours: float = 12.5, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "completed_on": (completed_on or ago(10)).isoformat(),
        "activity": "ASCO Annual Meeting",
        "hours": hours,
        "category": "ama_pra_1",
    }
    body.update(overrides)
    return body


async def add(api: Api, physician_id: str, body: dict[str, Any], role: str = "credentialing") -> dict[str, Any]:
    return await ok(await api.post(f"{PHYSICIANS}/{physician_id}/cme", role=role, json=body), 201)


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def standing(api: Api, physician_id: str, day: date = STANDING_DAY, role: str = "auditor") -> dict[str, Any]:
    with time_machine.travel(at_noon(day), tick=False):
        return await ok(await api.get(f"{PHYSICIANS}/{physician_id}/cme/standing", role=role))


async def test_record_and_list_credits(api: Api) -> None:
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/cme"
    later = await add(api, doc["id"], credit(ago(5), 2.3, category="aoa_1b", activity="  Journal CME  "))
    assert later["hours"] == 2.3 and later["activity"] == "Journal CME" and later["category"] == "aoa_1b"
    assert later["created_by"] == "test-credentialing" and later["physician_id"] == doc["id"]
    earlier = await add(api, doc["id"], credit(ago(50), 200, category="other"), role="admin")
    [event, _] = (
        await AuditEvent.select().where(AuditEvent.entity == "cme_credit").order_by(AuditEvent.occurred_at).run()
    )
    assert event["action"] == "create" and event["entity_id"] == later["id"] and event["actor"] == "test-credentialing"
    for role in READERS:
        listed = await ok(await api.get(url, role=role))
        assert listed == {"items": [earlier, later], "next_cursor": None}, "oldest first, hours read back as sent"
    page = await ok(await api.get(url, params={"limit": 1}))
    assert page["items"] == [earlier] and page["next_cursor"]
    rest = await ok(await api.get(url, params={"limit": 1, "cursor": page["next_cursor"]}))
    assert rest == {"items": [later], "next_cursor": None}


@pytest.mark.parametrize("category", ["ama_pra_1", "ama_pra_2", "aoa_1a", "aoa_1b", "other"])
async def test_every_category_is_accepted(api: Api, category: str) -> None:
    doc = await physician(api)
    assert (await add(api, doc["id"], credit(category=category, hours=0.01)))["category"] == category


async def test_standing_projects_at_the_rate_so_far(api: Api) -> None:
    """Default row: 50 hours per 24 months from 2026-01-01. On 2027-03-15 the cycle is 2026-01-01 to
    2027-12-31 (730 days), 439 of them elapsed counting both ends."""
    doc = await physician(api, **FIXED)
    with time_machine.travel(at_noon(STANDING_DAY), tick=False):
        for day, hours in [("2025-12-31", 20), ("2026-01-01", 10), ("2026-06-30", 4.5), ("2027-03-15", 5.5)]:
            await add(api, doc["id"], credit(date.fromisoformat(day), hours))
    # 2025-12-31 belongs to the previous cycle: 10 + 4.5 + 5.5 = 20 earned; 20 * 730 / 439 = 33.257...
    assert await standing(api, doc["id"]) == {
        "cycle_start": "2026-01-01",
        "cycle_end": "2027-12-31",
        "required_hours": 50.0,
        "earned_hours": 20.0,
        "projected_hours": 33.26,
        "short": True,
    }
    for role in READERS:
        await standing(api, doc["id"], role=role)
    with time_machine.travel(at_noon(STANDING_DAY), tick=False):
        await add(api, doc["id"], credit(date(2026, 8, 1), 10))
    # 30 * 730 / 439 = 49.886...: still short by a little.
    after = await standing(api, doc["id"])
    assert (after["earned_hours"], after["projected_hours"], after["short"]) == (30.0, 49.89, True)
    with time_machine.travel(at_noon(STANDING_DAY), tick=False):
        await add(api, doc["id"], credit(date(2026, 8, 2), 0.1))
    # 30.1 * 730 / 439 = 50.052...: on track.
    after = await standing(api, doc["id"])
    assert (after["earned_hours"], after["projected_hours"], after["short"]) == (30.1, 50.05, False)


async def test_a_new_cycle_starts_empty_and_counts_its_first_day(api: Api) -> None:
    doc = await physician(api, **FIXED)
    with time_machine.travel(at_noon(date(2028, 1, 1)), tick=False):
        await add(api, doc["id"], credit(date(2027, 12, 31), 50))
    fresh = await standing(api, doc["id"], date(2028, 1, 1))
    assert (fresh["cycle_start"], fresh["cycle_end"]) == ("2028-01-01", "2029-12-31")
    assert (fresh["earned_hours"], fresh["projected_hours"], fresh["short"]) == (0.0, 0.0, True)
    with time_machine.travel(at_noon(date(2028, 1, 1)), tick=False):
        await add(api, doc["id"], credit(date(2028, 1, 1), 1))
    # One hour on the cycle's first day, counted as one elapsed day of 731: 731 projected.
    first_day = await standing(api, doc["id"], date(2028, 1, 1))
    assert (first_day["earned_hours"], first_day["projected_hours"], first_day["short"]) == (1.0, 731.0, False)


async def test_the_strictest_held_license_state_sets_the_requirement(api: Api) -> None:
    doc = await physician(api, **FIXED)
    url = f"{PHYSICIANS}/{doc['id']}/licenses"
    lic = {"issued_on": "2010-01-01", "verified_on": "2020-01-02", "expires_on": "2030-01-01"}
    with time_machine.travel(at_noon(STANDING_DAY), tick=False):
        await ok(await api.post(url, json=factories.license("AZ", "AZ1", **lic)), 201)  # no AZ row
        for day, hours in [("2026-01-01", 10), ("2026-06-30", 4.5), ("2027-03-15", 5.5)]:
            await add(api, doc["id"], credit(date.fromisoformat(day), hours))
    assert (await standing(api, doc["id"]))["required_hours"] == 50.0, "no row for AZ: the default"

    with time_machine.travel(at_noon(STANDING_DAY), tick=False):
        await ok(await api.post(url, json=factories.license("TX", "TX1", **lic)), 201)
        # A lapsed CA license and an inactive NY one impose nothing.
        await ok(await api.post(url, json=factories.license("CA", "CA1", **{**lic, "expires_on": "2027-03-14"})), 201)
        await ok(await api.post(url, json=factories.license("NY", "NY1", **{**lic, "status": "inactive"})), 201)
    # TX: 30 hours per 12 months from April: 2026-04-01 to 2027-03-31 (365 days, 349 elapsed);
    # 4.5 + 5.5 = 10 earned (January 2026 is before the cycle); 10 * 365 / 349 = 10.458...
    assert await standing(api, doc["id"]) == {
        "cycle_start": "2026-04-01",
        "cycle_end": "2027-03-31",
        "required_hours": 30.0,
        "earned_hours": 10.0,
        "projected_hours": 10.46,
        "short": True,
    }
    # The day before CA's license lapsed, CA's 100 hours a year applied.
    before = await standing(api, doc["id"], date(2027, 3, 14))
    assert (before["cycle_start"], before["cycle_end"], before["required_hours"]) == ("2027-01-01", "2027-12-31", 100.0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"hours": 0}, "hours"),
        ({"hours": -1}, "hours"),
        ({"hours": 200.01}, "hours"),
        ({"hours": 1.005}, "hours"),
        ({"hours": "many"}, "hours"),
        ({"category": "ama_pra_3"}, "category"),
        ({"category": None}, "category"),
        ({"activity": ""}, "activity"),
        ({"activity": "  "}, "activity"),
        ({"activity": "x" * 201}, "activity"),
        ({"completed_on": (TODAY + timedelta(days=1)).isoformat()}, "completed_on"),
        ({"completed_on": "1960-01-01"}, "completed_on"),
        ({"completed_on": "2026-13-01"}, "completed_on"),
        ({"credits": 3}, "credits"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    doc = await physician(api)
    problem(await api.post(f"{PHYSICIANS}/{doc['id']}/cme", json={**credit(), **overrides}), 422, field)
    body = credit()
    del body["hours"]
    problem(await api.post(f"{PHYSICIANS}/{doc['id']}/cme", json=body), 422, "hours")
    assert await CmeCredit.count().run() == 0
    assert await AuditEvent.count().where(AuditEvent.entity == "cme_credit").run() == 0


async def test_unknown_physician_is_404(api: Api) -> None:
    for url in (f"{PHYSICIANS}/{MISSING}/cme", f"{PHYSICIANS}/{MISSING}/cme/standing"):
        problem(await api.get(url), 404)
    problem(await api.post(f"{PHYSICIANS}/{MISSING}/cme", json=credit()), 404)
    assert await CmeCredit.count().run() == 0


async def test_roles(api: Api) -> None:
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/cme"
    for role in ("router", "manager", "auditor"):
        problem(await api.post(url, role=role, json=credit()), 403)
    problem(await api.get(url, role="router"), 403)
    problem(await api.get(f"{url}/standing", role="router"), 403)
    assert await CmeCredit.count().run() == 0
