"""A physician's schedule page and the rotation pages, against the JSON API for the same records."""

from __future__ import annotations

import html as markup
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import case, ok, reviewer
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in

API = "/api/v1"
SCRIPT = "<script>alert(1)</script>"
#: January: no DST change near it, so Chicago is UTC-6 throughout.
JAN = "2027-01-12"


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def field_error(text: str, field: str) -> str:
    """The message shown beside ``field`` (ids ``e-<prefix><field>``), unescaped; fails when none is."""
    found = re.search(rf'<small id="e-[a-z-]*{field}" class="field-error">(.*?)</small>', text, re.S)
    assert found, f"no message beside {field}"
    assert re.search(rf'aria-invalid="true" aria-describedby="e-[a-z-]*{field}"', text), "the field is not marked"
    return markup.unescape(found.group(1))


async def chicago(api: Api, n: int = 1, **overrides: Any) -> dict[str, Any]:
    return await reviewer(api, n, time_zone="America/Chicago", **overrides)


async def items(api: Api, url: str) -> list[dict[str, Any]]:
    return (await ok(await api.get(url)))["items"]


# ------------------------------------------------------------------------------------- the schedule


async def test_the_schedule_shows_the_zone_rules_time_off_and_the_week(
    browser: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    doc = await chicago(api, last_name=SCRIPT)
    pid = doc["id"]
    rule = {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "09:00", "end": "17:00"}
    await ok(await api.post(f"{API}/physicians/{pid}/working-hours", json=rule), 201)
    leave = {"starts_at": f"{JAN}T15:00:00Z", "ends_at": f"{JAN}T23:00:00Z", "reason": "training"}
    await ok(await api.post(f"{API}/physicians/{pid}/time-off", json=leave), 201)
    page = await browser.get(f"/physicians/{pid}/schedule")
    assert page.status_code == 200, page.text
    assert "Time zone: <strong>America/Chicago</strong>" in page.text
    assert SCRIPT not in page.text and "&lt;script&gt;" in page.text
    hours = re.search(r'<table id="working-hours".*?</table>', page.text, re.S)
    assert hours and "<td>09:00</td><td>17:00</td>" in hours.group(0)
    leave_table = re.search(r'<table id="time-off".*?</table>', page.text, re.S)
    assert leave_table and "Tue 2027-01-12 09:00 CST" in leave_table.group(0), "15:00Z read in Chicago"
    week = re.search(r'<table id="week".*?</table>', page.text, re.S)
    assert week
    days = re.findall(r'<th scope="row">(\w{3} \d{4}-\d\d-\d\d)</th>', week.group(0))
    assert len(days) == 7
    assert week.group(0).count('data-state="working">09:00\u201317:00') == 7, "every day of the rule, local hours"
    assert 'data-state="off">00:00\u201309:00' in week.group(0)
    assert f'href="/physicians/{pid}/schedule"' in (await browser.get(f"/physicians/{pid}")).text, "linked"
    feed = await browser.get(f"/physicians/{pid}/calendar.ics")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in feed.text


async def test_a_physician_without_a_schedule_is_shown_always_available(
    browser: Browser, app_api: tuple[Litestar, Api]
) -> None:
    doc = await reviewer(app_api[1], 1)
    page = await browser.get(f"/physicians/{doc['id']}/schedule")
    assert page.status_code == 200
    assert page.text.count('data-state="unscheduled">00:00\u201324:00') == 7


async def test_every_role_reads_writers_write_and_strangers_sign_in(app_api: tuple[Litestar, Api]) -> None:
    app, api = app_api
    doc = await chicago(api)
    url = f"/physicians/{doc['id']}/schedule"
    for role in ("router", "manager", "auditor"):
        async with await signed_in(app, role) as b:
            page = await b.get(url)
            assert page.status_code == 200 and "Add working hours" not in page.text, role
            refused = await b.post(
                f"/physicians/{doc['id']}/working-hours",
                data={"_csrf_token": await b.csrf(url), "weekdays": "mon", "start": "09:00", "end": "17:00"},
            )
            assert refused.status_code == 403, role
    async with await signed_in(app, "admin") as b:
        assert "Add working hours" in (await b.get(url)).text
    async with Browser(app) as stranger:
        away = await stranger.get(url)
        assert away.status_code == 303 and away.headers["location"].startswith("/login?next=")
    assert await items(api, f"{API}/physicians/{doc['id']}/working-hours") == []


async def test_working_hours_added_and_removed_through_the_form(
    browser: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    doc = await chicago(api)
    url = f"/physicians/{doc['id']}/schedule"
    token = await browser.csrf(url)
    form = {"_csrf_token": token, "weekdays": ["mon", "wed"], "start": "22:00", "end": "06:00"}
    added = await browser.post(f"/physicians/{doc['id']}/working-hours", data=form)
    assert added.status_code == 303 and added.headers["location"] == url
    [rule] = await items(api, f"{API}/physicians/{doc['id']}/working-hours")
    assert rule["weekdays"] == ["mon", "wed"] and (rule["start"], rule["end"]) == ("22:00", "06:00")
    page = await browser.get(url)
    assert "06:00 (next day)" in page.text
    audit = await ok(await api.get(f"{API}/audit", params={"entity": "working_hours", "entity_id": rule["id"]}))
    assert [e["actor"] for e in audit["items"]] == ["credentialing@example.org"]
    removed = await browser.post(
        f"/physicians/{doc['id']}/working-hours/{rule['id']}/delete", data={"_csrf_token": token}
    )
    assert removed.status_code == 303
    assert await items(api, f"{API}/physicians/{doc['id']}/working-hours") == []


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"start": "09:00", "end": "17:00"}, "weekdays", "length >= 1"),
        ({"weekdays": "mon", "start": "9am", "end": "17:00"}, "start", "regex"),
        ({"weekdays": "mon", "end": "17:00"}, "start", "required"),
        ({"weekdays": "sun", "start": "02:30", "end": "10:00"}, "start", "does not exist in America/Chicago"),
        ({"weekdays": "mon", "start": "09:00", "end": "17:00", "effective_from": "2027-02-01",
          "effective_until": "2027-01-01"}, "effective_until", "before effective_from"),
    ],
)  # fmt: skip
async def test_bad_working_hours_are_shown_beside_the_field_and_nothing_is_written(
    browser: Browser, app_api: tuple[Litestar, Api], form: dict[str, str], field: str, message: str
) -> None:
    _, api = app_api
    doc = await chicago(api)
    token = await browser.csrf(f"/physicians/{doc['id']}/schedule")
    page = await browser.post(f"/physicians/{doc['id']}/working-hours", data={"_csrf_token": token, **form})
    assert page.status_code == 422, page.text
    assert message in field_error(page.text, field)
    assert '<details open id="add-hours">' in page.text, "the form stays open with what was typed"
    assert await items(api, f"{API}/physicians/{doc['id']}/working-hours") == []


async def test_a_form_without_its_csrf_token_is_refused(browser: Browser, app_api: tuple[Litestar, Api]) -> None:
    _, api = app_api
    doc = await chicago(api)
    pid = doc["id"]
    for url, data in (
        (f"/physicians/{pid}/working-hours", {"weekdays": "mon", "start": "09:00", "end": "17:00"}),
        (f"/physicians/{pid}/time-off", {"starts_at": f"{JAN}T09:00", "ends_at": f"{JAN}T17:00"}),
        ("/rotations", {"name": "x"}),
    ):
        assert (await browser.post(url, data=data)).status_code == 403, url
        assert (await browser.post(url, data={**data, "_csrf_token": "forged"})).status_code == 403, url
    assert await items(api, f"{API}/physicians/{pid}/working-hours") == []
    assert await items(api, f"{API}/physicians/{pid}/time-off") == []


async def test_time_off_is_read_in_the_physicians_zone(browser: Browser, app_api: tuple[Litestar, Api]) -> None:
    _, api = app_api
    doc = await chicago(api)
    url = f"/physicians/{doc['id']}/schedule"
    token = await browser.csrf(url)
    form = {"_csrf_token": token, "starts_at": f"{JAN}T09:00", "ends_at": f"{JAN}T13:30", "reason": "training"}
    added = await browser.post(f"/physicians/{doc['id']}/time-off", data=form)
    assert added.status_code == 303, added.text
    [leave] = await items(api, f"{API}/physicians/{doc['id']}/time-off")
    assert (leave["starts_at"], leave["ends_at"]) == (f"{JAN}T15:00:00Z", f"{JAN}T19:30:00Z"), "CST is UTC-6"
    assert leave["reason"] == "training"
    page = await browser.get(url)
    assert "Tue 2027-01-12 09:00 CST" in page.text and "Tue 2027-01-12 13:30 CST" in page.text
    removed = await browser.post(f"/physicians/{doc['id']}/time-off/{leave['id']}/delete", data={"_csrf_token": token})
    assert removed.status_code == 303
    assert await items(api, f"{API}/physicians/{doc['id']}/time-off") == []


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"starts_at": f"{JAN}T09:00", "ends_at": f"{JAN}T09:00"}, "ends_at", "after starts_at"),
        ({"starts_at": f"{JAN}T09:00"}, "ends_at", "required"),
        ({"starts_at": "tomorrow", "ends_at": f"{JAN}T09:00"}, "starts_at", "not a date and time"),
        ({"starts_at": "2027-03-14T02:30", "ends_at": "2027-03-14T09:00"}, "starts_at", "does not exist"),
        ({"starts_at": "2027-11-07T01:30", "ends_at": "2027-11-07T09:00"}, "starts_at", "ambiguous"),
        ({"starts_at": f"{JAN}T09:00", "ends_at": f"{JAN}T10:00", "reason": "vacation"}, "reason", "enum"),
    ],
)
async def test_bad_time_off_is_shown_beside_the_field_and_nothing_is_written(
    browser: Browser, app_api: tuple[Litestar, Api], form: dict[str, str], field: str, message: str
) -> None:
    _, api = app_api
    doc = await chicago(api)
    token = await browser.csrf(f"/physicians/{doc['id']}/schedule")
    page = await browser.post(f"/physicians/{doc['id']}/time-off", data={"_csrf_token": token, **form})
    assert page.status_code == 422, page.text
    assert message in field_error(page.text, field)
    assert await items(api, f"{API}/physicians/{doc['id']}/time-off") == []


async def test_time_off_over_an_open_assignment_shows_it_at_risk_with_replacements(
    browser: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    busy = await chicago(api, 1)
    spare = await reviewer(api, 2)
    now = datetime.now(UTC)
    body = {**case(), "case_id": "C-soon", "physician_id": busy["id"], "due_at": iso(now + timedelta(hours=30))}
    await ok(await api.post(f"{API}/assignments", role="router", json=body), 201)
    token = await browser.csrf(f"/physicians/{busy['id']}/schedule")
    form = {"_csrf_token": token, "starts_at": iso(now + timedelta(hours=1)), "ends_at": iso(now + timedelta(days=3))}
    page = await browser.post(f"/physicians/{busy['id']}/time-off", data=form)
    assert page.status_code == 200, page.text
    risk = re.search(r'<section aria-labelledby="h-at-risk" id="at-risk">.*?</section>', page.text, re.S)
    assert risk and "C-soon" in risk.group(0)
    assert f'<a href="/physicians/{spare["id"]}">{spare["first_name"]} {spare["last_name"]}</a>' in risk.group(0)
    assert len(await items(api, f"{API}/physicians/{busy['id']}/time-off")) == 1
    raised = await items(api, f"{API}/alerts?kind=assignment_at_risk")
    assert [a["detail"]["case_id"] for a in raised] == ["C-soon"], "the alert is raised with the time off"


async def test_another_physicians_record_is_not_removed_through_this_page(
    browser: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    mine, theirs = await chicago(api, 1), await chicago(api, 2)
    rule = {"weekdays": ["mon"], "start": "09:00", "end": "17:00"}
    hours = await ok(await api.post(f"{API}/physicians/{theirs['id']}/working-hours", json=rule), 201)
    token = await browser.csrf(f"/physicians/{mine['id']}/schedule")
    refused = await browser.post(
        f"/physicians/{mine['id']}/working-hours/{hours['id']}/delete", data={"_csrf_token": token}
    )
    assert refused.status_code == 404
    assert len(await items(api, f"{API}/physicians/{theirs['id']}/working-hours")) == 1
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await browser.get(f"/physicians/{missing}/schedule")).status_code == 404


# ---------------------------------------------------------------------------------------- rotations


async def test_a_rotation_shows_who_is_on_call_now_its_shifts_and_its_feed(
    manager: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    first, second = await reviewer(api, 1), await reviewer(api, 2)
    start = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    layer = {"name": "primary", "members": [first["id"], second["id"]], "handoff_time": "07:00"}
    body = {
        "name": "Pre-cert 24x7",
        "time_zone": "America/Phoenix",
        "layers": [{**layer, "shift_hours": 12, "starts_on": start}],
    }
    rotation = await ok(await api.post(f"{API}/rotations", json=body), 201)
    now = await ok(await api.get(f"{API}/oncall", params={"rotation": rotation["id"]}))
    [who] = now["on_call"]
    listing = await manager.get("/rotations")
    assert listing.status_code == 200 and f'href="/rotations/{rotation["id"]}">Pre-cert 24x7</a>' in listing.text
    assert "Add a one-layer rotation" not in listing.text, "managers read"
    page = await manager.get(f"/rotations/{rotation['id']}")
    assert page.status_code == 200, page.text
    current = re.search(r'<div id="on-call-now">.*?</div>', page.text, re.S)
    until = datetime.fromisoformat(who["until"].replace("Z", "+00:00")).astimezone(
        __import__("zoneinfo").ZoneInfo("America/Phoenix")
    )
    assert current and who["name"] in current.group(0) and until.strftime("%Y-%m-%d %H:%M MST") in current.group(0)
    shifts = re.search(r'<table class="striped shifts" id="layer-1">.*?</table>', page.text, re.S)
    assert shifts and len(re.findall(r"<tr><td>", shifts.group(0))) in (28, 29), "12-hour shifts over 14 days"
    assert "07:00 MST" in shifts.group(0) and "19:00 MST" in shifts.group(0)
    feed = await manager.get(f"/rotations/{rotation['id']}/calendar.ics")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in feed.text


async def test_a_rotation_created_through_the_form(browser: Browser, app_api: tuple[Litestar, Api]) -> None:
    _, api = app_api
    first, second = await reviewer(api, 1), await reviewer(api, 2)
    token = await browser.csrf("/rotations")
    form = {
        "_csrf_token": token,
        "name": "Nights",
        "time_zone": "America/New_York",
        "layer_name": "primary",
        "members": f"{first['id']}\n{second['id']}",
        "handoff_time": "19:00",
        "shift_hours": "12",
        "starts_on": factories.TODAY.isoformat(),
        "case_state": "AZ",
        "case_line_of_business": "commercial",
        "case_specialty": "medical_oncology",
        "case_review_type": "initial",
    }
    created = await browser.post("/rotations", data=form)
    assert created.status_code == 303, created.text
    [rotation] = await items(api, f"{API}/rotations")
    assert created.headers["location"] == f"/rotations/{rotation['id']}"
    assert rotation["layers"][0]["members"] == [first["id"], second["id"]]
    assert rotation["case"] == {
        "state": "AZ", "line_of_business": "commercial", "specialty": "medical_oncology", "review_type": "initial"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"handoff_time": "02:30"}, "handoff_time", "does not exist in America/New_York"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not an IANA time zone"),
        ({"members": "00000000-0000-4000-8000-000000000000"}, "members", "no physician"),
        ({"members": "not-an-id"}, "members", "UUID"),
        ({"shift_hours": "0"}, "shift_hours", ">= 1"),
        ({"name": ""}, "name", "required"),
        ({"case_state": "ZZ"}, "case_state", ""),
    ],
)
async def test_a_bad_rotation_is_shown_beside_the_field_and_nothing_is_written(
    browser: Browser, app_api: tuple[Litestar, Api], changes: dict[str, str], field: str, message: str
) -> None:
    _, api = app_api
    first = await reviewer(api, 1)
    form = {
        "_csrf_token": await browser.csrf("/rotations"),
        "name": "Nights",
        "time_zone": "America/New_York",
        "layer_name": "primary",
        "members": first["id"],
        "handoff_time": "19:00",
        "shift_hours": "12",
        "starts_on": factories.TODAY.isoformat(),
        **changes,
    }
    if field == "case_state":
        form.update(case_line_of_business="commercial", case_specialty="medical_oncology", case_review_type="initial")
    page = await browser.post("/rotations", data=form)
    assert page.status_code == 422, page.text
    assert message.lower() in field_error(page.text, field).lower()
    assert await items(api, f"{API}/rotations") == []


async def test_overrides_are_added_refused_with_reasons_and_removed(
    browser: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    first = await reviewer(api, 1)
    lapsed = (factories.TODAY - timedelta(days=3)).isoformat()
    stale = await reviewer(api, 2, licenses=(factories.license(issued_on="2010-01-01", expires_on=lapsed),))
    body = {
        "name": "Pre-cert",
        "time_zone": "America/New_York",
        "case": case(),
        "layers": [{"name": "primary", "members": [first["id"]], "handoff_time": "07:00", "shift_hours": 24,
                    "starts_on": factories.TODAY.isoformat()}],
    }  # fmt: skip
    rotation = await ok(await api.post(f"{API}/rotations", json=body), 201)
    url = f"/rotations/{rotation['id']}"
    token = await browser.csrf(url)
    day = (factories.TODAY + timedelta(days=3)).isoformat()
    window = {"starts_at": f"{day}T08:00", "ends_at": f"{day}T20:00"}
    refused = await browser.post(f"{url}/overrides", data={"_csrf_token": token, "physician_id": stale["id"], **window})
    assert refused.status_code == 409, refused.text
    reasons = re.search(r'<div role="alert" id="refused">.*?</div>', refused.text, re.S)
    assert reasons and "(license_expired)" in reasons.group(0) and "no_license_in_state" not in reasons.group(0)
    assert "not eligible" in field_error(refused.text, "physician_id")
    backwards = {"starts_at": window["ends_at"], "ends_at": window["starts_at"]}
    bad = await browser.post(f"{url}/overrides", data={"_csrf_token": token, "physician_id": first["id"], **backwards})
    assert bad.status_code == 422 and "after starts_at" in field_error(bad.text, "ends_at")
    assert await items(api, f"{API}/rotations/{rotation['id']}/overrides") == []
    added = await browser.post(f"{url}/overrides", data={"_csrf_token": token, "physician_id": first["id"], **window})
    assert added.status_code == 303, added.text
    [override] = await items(api, f"{API}/rotations/{rotation['id']}/overrides")
    offset = datetime.fromisoformat(f"{day}T08:00").replace(tzinfo=__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert override["starts_at"] == iso(offset), "read in the rotation's zone"
    page = await browser.get(url)
    assert re.search(r'<table id="overrides".*?</table>', page.text, re.S)
    removed = await browser.post(f"{url}/overrides/{override['id']}/delete", data={"_csrf_token": token})
    assert removed.status_code == 303
    assert await items(api, f"{API}/rotations/{rotation['id']}/overrides") == []


async def test_only_writers_see_and_use_the_rotation_forms(app_api: tuple[Litestar, Api]) -> None:
    app, api = app_api
    first = await reviewer(api, 1)
    layer = {"name": "primary", "members": [first["id"]], "handoff_time": "07:00", "shift_hours": 24,
             "starts_on": factories.TODAY.isoformat()}  # fmt: skip
    body = {"name": "R", "time_zone": "America/New_York", "layers": [layer]}
    rotation = await ok(await api.post(f"{API}/rotations", json=body), 201)
    for role in ("router", "auditor"):
        async with await signed_in(app, role) as b:
            page = await b.get(f"/rotations/{rotation['id']}")
            assert page.status_code == 200 and "Add an override" not in page.text
            token = await b.csrf(f"/rotations/{rotation['id']}")
            sent = {
                "_csrf_token": token,
                "physician_id": first["id"],
                "starts_at": f"{JAN}T08:00",
                "ends_at": f"{JAN}T09:00",
            }
            assert (await b.post(f"/rotations/{rotation['id']}/overrides", data=sent)).status_code == 403
            assert (await b.post("/rotations", data={"_csrf_token": token, "name": "x"})).status_code == 403
    assert await items(api, f"{API}/rotations/{rotation['id']}/overrides") == []
    assert len(await items(api, f"{API}/rotations")) == 1
    async with Browser(app) as stranger:
        assert (await stranger.get("/rotations")).status_code == 303
