"""Try a case with time: urgency, received_at, at and available_now on the form, answered as the API answers."""

from __future__ import annotations

import html as markup
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import case, ok, reviewer
from tests.integration.web.browser import Browser

NY = ZoneInfo("America/New_York")  # the suite's organization zone (ROSTER_DEFAULT_TIME_ZONE's default)
MONDAY = factories.TODAY + timedelta(days=7 - factories.TODAY.weekday())
API = "/api/v1"


def ny(days: int, hour: int) -> datetime:
    return datetime.combine(MONDAY + timedelta(days=days), time(hour), NY)


def shown(at: str | None) -> str:
    assert at is not None
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(NY).strftime("%a %Y-%m-%d %H:%M %Z")


@pytest.fixture
async def team(app_api: tuple[Litestar, Api]) -> dict[str, dict[str, Any]]:
    """Day (Mon-Fri 9-5 New York), away (9-5, PTO all Monday) and night, on call 19:00-07:00 every day."""
    _, api = app_api
    team = {
        name: await reviewer(api, n, time_zone="America/New_York") for n, name in enumerate(("day", "away", "night"), 1)
    }
    weekdays = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    for name in ("day", "away"):
        await ok(await api.post(f"{API}/physicians/{team[name]['id']}/working-hours", json=weekdays), 201)
    leave = {"starts_at": ny(0, 0).isoformat(), "ends_at": ny(1, 0).isoformat()}
    await ok(await api.post(f"{API}/physicians/{team['away']['id']}/time-off", json=leave), 201)
    layer = {"name": "nights", "members": [team["night"]["id"]], "handoff_time": "19:00", "shift_hours": 12,
             "starts_on": factories.TODAY.isoformat()}  # fmt: skip
    body = {"name": "Pre-cert", "time_zone": "America/New_York", "layers": [layer]}
    await ok(await api.post(f"{API}/rotations", json=body), 201)
    return team


def rows(text: str, table: str) -> list[str]:
    found = re.search(rf'<table class="striped" id="{table}">.*?</table>', text, re.S)
    return re.findall(r"<tr><td>.*?</tr>", found.group(0), re.S) if found else []


@pytest.mark.parametrize("available_now", [False, True])
async def test_an_expedited_case_at_night_answers_as_the_api(
    router: Browser, app_api: tuple[Litestar, Api], team: dict[str, dict[str, Any]], available_now: bool
) -> None:
    _, api = app_api
    night = ny(0, 23)
    body = case(
        line_of_business="medicare_advantage",
        urgency="expedited",
        at=night.isoformat(),
        received_at=night.isoformat(),
        explain=True,
    )
    if available_now:
        body["available_now"] = True
    expected = await ok(await api.post(f"{API}/match", json=body, role="router"))
    typed = night.strftime("%Y-%m-%dT%H:%M")  # as a New York wall-clock time
    form = {**body, "at": typed, "received_at": typed}
    form.pop("explain")
    if available_now:
        form["available_now"] = "on"
    page = await router.get("/match?" + urlencode(form))
    assert page.status_code == 200, page.text
    assert f"Availability judged at <strong>{shown(expected['at'])}</strong>" in page.text
    assert f'<strong id="due-at">{shown(expected["due_at"])}</strong>' in page.text
    assert shown(expected["due_at"]) == (night + timedelta(hours=72)).strftime("%a %Y-%m-%d %H:%M %Z")
    eligible = rows(page.text, "eligible")
    assert [re.search(r"/physicians/([0-9a-f-]{36})", r).group(1) for r in eligible] == [  # type: ignore[union-attr]
        e["physician_id"] for e in expected["eligible"]
    ]
    assert expected["eligible"][0]["physician_id"] == team["night"]["id"], "on call first at night"
    assert '<td class="availability">now</td>' in eligible[0]
    for row, want in zip(eligible, expected["eligible"], strict=True):
        if not want["available_now"]:
            assert f"from {shown(want['available_from'])}" in row
    ineligible = rows(page.text, "ineligible")
    by_id = {r["physician_id"]: r for r in expected["ineligible"]}
    assert len(ineligible) == len(by_id)
    for row in ineligible:
        pid = re.search(r"/physicians/([0-9a-f-]{36})", row).group(1)  # type: ignore[union-attr]
        assert re.findall(r'<small class="muted">\((\w+)\)</small>', row) == by_id[pid]["reasons"]
        if by_id[pid].get("available_from"):
            assert shown(by_id[pid]["available_from"]) in row
    reasons = {pid: r["reasons"] for pid, r in by_id.items()}
    assert reasons.get(team["away"]["id"]) == ["on_leave"]
    assert (team["day"]["id"] in reasons) is available_now
    if available_now:
        assert reasons[team["day"]["id"]] == ["off_shift"]
        assert "Neither working nor on call at this time." in page.text


async def test_a_shared_link_may_carry_instants_with_an_offset(
    router: Browser, app_api: tuple[Litestar, Api], team: dict[str, dict[str, Any]]
) -> None:
    _, api = app_api
    at = ny(1, 10).astimezone(UTC)
    body = case(urgency="expedited", at=at.isoformat().replace("+00:00", "Z"), received_at=ny(0, 8).isoformat())
    expected = await ok(await api.post(f"{API}/match", json=body, role="router"))
    page = await router.get("/match?" + urlencode(body))
    assert page.status_code == 200, page.text
    assert f'<strong id="due-at">{shown(expected["due_at"])}</strong>' in page.text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"at": "tonight"}, "at", "not a date and time"),
        ({"received_at": "2027-03-14T02:30"}, "received_at", "does not exist in America/New_York"),
        ({"at": "2027-11-07T01:30"}, "at", "ambiguous"),
        ({"urgency": "soon"}, "urgency", "invalid enum value"),
    ],
)
async def test_bad_time_input_is_a_field_message(router: Browser, query: dict, field: str, message: str) -> None:
    page = await router.get("/match?" + urlencode({**case(), **query}))
    assert page.status_code == 422, page.text
    assert f'aria-invalid="true" aria-describedby="e-{field}"' in page.text
    error = re.search(rf'<small id="e-{field}" class="field-error">(.*?)</small>', page.text)
    assert error and message.lower() in markup.unescape(error.group(1)).lower(), error and error.group(1)


async def test_the_time_fields_are_labelled(router: Browser) -> None:
    page = await router.get("/match")
    for name in ("urgency", "received_at", "at", "available_now"):
        assert f'<label for="f-{name}">' in page.text and f'id="f-{name}" name="{name}"' in page.text
    assert "(America/New_York)" in page.text, "the zone of the local times is named"
