"""Schedules in a real Chromium: working hours and time off for a physician, on call now on the demo
rotation, and an expedited case tried at night that finds the on-call reviewer first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests import factories
from tests.e2e.conftest import DemoServer, assert_accessible, shot, sign_in

ORGANIZATION = ZoneInfo("America/New_York")  # the demo's ROSTER_DEFAULT_TIME_ZONE
DEMO_ROTATION = "Pre-certification 24x7"


def rotation_of(api: Any) -> dict[str, Any]:
    return next(r for r in api.get("/rotations", params={"limit": 500}).json()["items"] if r["name"] == DEMO_ROTATION)


def test_working_hours_and_time_off_for_a_physician(page: Any, demo_server: DemoServer) -> None:
    with demo_server.api() as api:
        rotation = rotation_of(api)
        members = {m for layer in rotation["layers"] for m in layer["members"]}
        doc = next(
            p for p in api.get("/physicians", params={"limit": 100}).json()["items"][::-1] if p["id"] not in members
        )
    zone = doc["time_zone"]
    sign_in(page, demo_server, "credentialing")
    page.goto(f"/physicians/{doc['id']}")
    page.get_by_role("link", name="Schedule and time off").click()
    page.wait_for_url(f"**/physicians/{doc['id']}/schedule")
    assert page.locator("#time-zone").inner_text().find(zone) >= 0
    assert page.locator("#week tbody tr").count() == 7

    page.locator("#add-hours summary").click()
    for day in ("Saturday", "Sunday"):
        page.get_by_label(day).check()
    page.get_by_label(f"Start ({zone})").fill("10:00")
    page.get_by_label(f"End ({zone})").fill("14:00")
    page.get_by_role("button", name="Add working hours").click()
    page.wait_for_url(f"**/physicians/{doc['id']}/schedule")
    row = page.locator("#working-hours tbody tr", has_text="sat, sun")
    assert row.locator("td").all_inner_texts()[1:3] == ["10:00", "14:00"]

    page.locator("#add-time-off summary").click()
    page.get_by_label(f"Starts ({zone})").fill("2027-01-12T09:00")
    page.get_by_label(f"Ends ({zone})").fill("2027-01-12T08:00")
    page.get_by_role("button", name="Add time off").click()
    assert page.locator("#e-to-ends_at").inner_text() == "must be after starts_at"
    page.get_by_label(f"Ends ({zone})").fill("2027-01-12T13:00")
    page.get_by_label("Reason").select_option("training")
    page.get_by_role("button", name="Add time off").click()
    page.wait_for_url(f"**/physicians/{doc['id']}/schedule")
    local = datetime(2027, 1, 12, 9, tzinfo=ZoneInfo(zone))
    assert page.locator("#time-off tbody tr", has_text=local.strftime("%a %Y-%m-%d %H:%M %Z")).count() == 1
    with demo_server.api() as api:
        [leave] = [
            t
            for t in api.get(f"/physicians/{doc['id']}/time-off").json()["items"]
            if t["reason"] == "training" and t["starts_at"].startswith("2027-01-12")
        ]
    assert datetime.fromisoformat(leave["starts_at"].replace("Z", "+00:00")) == local.astimezone(UTC)
    assert_accessible(page)
    shot(page, "schedule")


def test_who_is_on_call_now_on_the_rotation(page: Any, demo_server: DemoServer) -> None:
    with demo_server.api("manager") as api:
        rotation = rotation_of(api)
        [now] = api.get("/oncall", params={"rotation": rotation["id"]}).json()["on_call"]
    sign_in(page, demo_server, "manager")
    page.goto("/rotations")
    page.get_by_role("link", name=DEMO_ROTATION).click()
    page.wait_for_url(f"**/rotations/{rotation['id']}")
    current = page.locator("#on-call-now").inner_text()
    until = datetime.fromisoformat(now["until"].replace("Z", "+00:00")).astimezone(ZoneInfo(rotation["time_zone"]))
    assert now["name"] in current and until.strftime("%Y-%m-%d %H:%M %Z") in current
    assert page.locator("#layer-1 tbody tr").count() >= 28, "12-hour shifts over two weeks"
    assert_accessible(page)
    shot(page, "rotation")


def test_an_expedited_case_at_night_goes_to_the_on_call_reviewer(page: Any, demo_server: DemoServer) -> None:
    night = datetime.combine(factories.TODAY + timedelta(days=2), time(2), ORGANIZATION)
    with demo_server.api("router") as api:
        rotation = rotation_of(api)
        [on_call] = api.get("/oncall", params={"rotation": rotation["id"], "at": night.isoformat()}).json()["on_call"]
        doc = api.get(f"/physicians/{on_call['physician_id']}").json()
        [license_] = api.get("/licenses", params={"physician_id": doc["id"], "limit": 1}).json()["items"]
        body = {
            "state": license_["state"],
            "line_of_business": doc["lines_of_business"][0],
            "specialty": doc["specialties"][0],
            "review_type": "initial",
            "urgency": "expedited",
            "at": night.isoformat(),
            "available_now": True,
            "explain": True,
        }
        expected = api.post("/match", json=body).json()
    assert expected["eligible"] and expected["eligible"][0]["physician_id"] == doc["id"], expected["eligible"][:2]
    sign_in(page, demo_server, "router")
    page.goto("/match")
    page.get_by_label("State").select_option(body["state"])
    page.get_by_label("Line of business").select_option(body["line_of_business"])
    page.get_by_label("Specialty").select_option(body["specialty"])
    page.get_by_label("Review type").select_option("initial")
    page.get_by_label("Urgency").select_option("expedited")
    page.get_by_label(re.compile("^Judge availability at")).fill(night.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Only reviewers working or on call then").check()
    page.get_by_role("button", name="Match").click()
    page.get_by_role("heading", name="Not eligible").wait_for()
    first = page.locator("#eligible tbody tr").first
    assert first.locator("a").get_attribute("href") == f"/physicians/{doc['id']}"
    assert first.locator("td.availability").inner_text() == "now"
    assert page.locator("#ineligible ul.reasons li", has_text="(off_shift)").count() > 0
    assert "Neither working nor on call" in page.locator("#ineligible").inner_text()
    assert_accessible(page)
    shot(page, "match-at-night")
