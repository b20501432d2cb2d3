"""The turnaround and on-call gaps report pages against the JSON API for the same data."""

from __future__ import annotations

import csv
import html as markup
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from litestar import Litestar

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import case, ok, reviewer
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in
from tests.integration.web.test_import_page import table_rows

T0 = datetime.combine(factories.TODAY + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=14)
API = "/api/v1"


async def assign(api: Api, physician: dict[str, Any], case_id: str, **overrides: Any) -> dict[str, Any]:
    body = case(
        **{"line_of_business": "medicare_advantage", "case_id": case_id, "physician_id": physician["id"], **overrides}
    )
    return await ok(await api.post(f"{API}/assignments", json=body, role="router"), 201)


async def close(api: Api, assignment: dict[str, Any]) -> None:
    await ok(await api.patch(f"{API}/assignments/{assignment['id']}", json={"status": "completed"}, role="router"))


def field_error(text: str, field: str) -> str:
    found = re.search(rf'<small id="e-{field}" class="field-error">(.*?)</small>', text, re.S)
    assert found, f"no message beside {field}"
    return markup.unescape(found.group(1))


async def test_turnaround_shares_and_late_cases_match_the_api(app_api: tuple[Litestar, Api]) -> None:
    app, api = app_api
    reviewers = [await reviewer(api, n, max_open_cases=50) for n in (1, 2)]
    with time_machine.travel(T0, tick=False):
        fast = await assign(api, reviewers[0], "E-1", urgency="expedited")
        slow = await assign(api, reviewers[0], "E-2", urgency="expedited")
        await assign(api, reviewers[1], "E-3", urgency="expedited")
        await assign(api, reviewers[1], "C-1", line_of_business="commercial")
    with time_machine.travel(T0 + timedelta(hours=70), tick=False):
        await close(api, fast)
    with time_machine.travel(T0 + timedelta(hours=80), tick=False):
        await close(api, slow)
        period = {"from": T0.date().isoformat(), "to": T0.date().isoformat()}
        report = await ok(await api.get(f"{API}/reports/turnaround", params=period, role="manager"))
        async with await signed_in(app, "manager") as manager:
            page = await manager.get("/reports/turnaround?" + urlencode(period))
            only_ma = await manager.get(
                "/reports/turnaround?" + urlencode({**period, "line_of_business": "commercial"})
            )
            table = await manager.get("/reports/turnaround.csv?" + urlencode(period))
    assert page.status_code == 200, page.text
    groups = table_rows(page.text, "groups")
    want = [
        [
            g["line_of_business"].replace("_", " "),
            g["review_type"].replace("_", " "),
            g["urgency"],
            str(g["decided"]),
            str(g["on_time"]),
            str(g["overdue"]),
            str(g["pending"]),
            "—" if g["share_on_time"] is None else f"{g['share_on_time'] * 100:.1f}%",
        ]
        for g in report["groups"]
    ]
    assert groups == want and "33.3%" in page.text
    late = table_rows(page.text, "late")
    assert [row[0] for row in late] == [c["case_id"] for c in report["late"]]
    by_case = {row[0]: row for row in late}
    assert set(by_case) == {"E-2", "E-3"}
    assert by_case["E-3"][6] == "still open" and by_case["E-2"][7] == "8.0"
    assert by_case["E-2"][5].endswith((" EST", " EDT")), "times in the organization's zone, named"
    assert [row[0] for row in table_rows(only_ma.text, "groups")] == ["commercial"]
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert sorted(r["case_id"] for r in csv.DictReader(io.StringIO(table.text))) == ["E-2", "E-3"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "2027-02-01", "to": "2027-01-01"}, "to", "on or after from"),
        ({"from": "yesterday"}, "from", "date"),
        ({"line_of_business": "dental"}, "line_of_business", "Invalid enum value"),
    ],
)
async def test_a_bad_turnaround_filter_is_shown_beside_it(
    manager: Browser, query: dict[str, str], field: str, message: str
) -> None:
    page = await manager.get("/reports/turnaround?" + urlencode(query))
    assert page.status_code == 422, page.text
    assert message in field_error(page.text, field)


async def test_on_call_gaps_match_the_api(manager: Browser, app_api: tuple[Litestar, Api]) -> None:
    _, api = app_api
    first, second = await reviewer(api, 1), await reviewer(api, 2)
    later = (factories.TODAY + timedelta(days=3)).isoformat()
    layer = {
        "name": "primary",
        "members": [first["id"]],
        "handoff_time": "07:00",
        "shift_hours": 24,
        "starts_on": later,
    }
    late = await ok(
        await api.post(
            f"{API}/rotations", json={"name": "Late start", "time_zone": "America/Phoenix", "layers": [layer]}
        ),
        201,
    )
    always = {**layer, "members": [second["id"]], "starts_on": (factories.TODAY - timedelta(days=1)).isoformat()}
    await ok(
        await api.post(f"{API}/rotations", json={"name": "Always", "time_zone": "America/Phoenix", "layers": [always]}),
        201,
    )
    leave = {
        "starts_at": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
        "ends_at": (datetime.now(UTC) + timedelta(days=6)).isoformat(),
    }
    await ok(await api.post(f"{API}/physicians/{second['id']}/time-off", json=leave), 201)
    report = await ok(await api.get(f"{API}/reports/oncall-gaps", params={"days": 10}, role="manager"))
    page = await manager.get("/reports/oncall-gaps?days=10")
    assert page.status_code == 200, page.text
    rows = table_rows(page.text, "gaps")
    assert [(r[0], r[3]) for r in rows] == [(g["rotation"], str(g["hours"])) for g in report["gaps"]]
    assert {r[4] for r in rows} == {"nobody on call", "on leave"}
    assert all("MST" in r[1] for r in rows), "in the rotation's zone, named"
    one = await manager.get("/reports/oncall-gaps?" + urlencode({"rotation": late["id"], "days": 10}))
    assert {r[0] for r in table_rows(one.text, "gaps")} == {"Late start"}
    assert f'<option value="{late["id"]}" selected>' in one.text, "the filter is kept"
    table = await manager.get("/reports/oncall-gaps.csv?days=10")
    assert len(list(csv.DictReader(io.StringIO(table.text)))) == len(report["gaps"])


@pytest.mark.parametrize(
    ("query", "field", "status"),
    [
        ({"days": "0"}, "days", 422),
        ({"days": "many"}, "days", 422),
        ({"rotation": "nope"}, "rotation", 422),
        ({"rotation": "00000000-0000-4000-8000-000000000000"}, "rotation", 404),
    ],
)
async def test_a_bad_gaps_filter_is_shown_beside_it(manager: Browser, query: dict, field: str, status: int) -> None:
    page = await manager.get("/reports/oncall-gaps?" + urlencode(query))
    assert page.status_code == status, page.text
    assert field_error(page.text, field)


async def test_routers_may_not_read_the_reports(app_api: tuple[Litestar, Api]) -> None:
    async with await signed_in(app_api[0], "router") as router:
        for url in ("/reports/turnaround", "/reports/oncall-gaps", "/reports/turnaround.csv"):
            assert (await router.get(url)).status_code == 403, url
    async with Browser(app_api[0]) as stranger:
        assert (await stranger.get("/reports/turnaround")).status_code == 303
