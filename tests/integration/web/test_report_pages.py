"""The expirations and coverage pages against the JSON API for the same data."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from litestar import Litestar

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import ok, reviewer
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in
from tests.integration.web.test_import_page import table_rows

TODAY = factories.TODAY
SCRIPT = "<script>alert(1)</script>"


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def roster(api: Api) -> None:
    """Licenses lapsing in weeks 1, 2 and 6, one already lapsed, one far off; a script for a name."""
    await reviewer(api, 1, licenses=(factories.license(number="A1", expires_on=day(3)),))
    await reviewer(api, 2, licenses=(factories.license(number="A2", expires_on=day(9)),), last_name=SCRIPT)
    await reviewer(
        api,
        3,
        licenses=(factories.license(number="A3", expires_on=day(40)), factories.license(state="CA", number="C3")),
    )
    await reviewer(api, 4, licenses=(factories.license(number="A4", issued_on="2010-01-01", expires_on=day(-5)),))
    await reviewer(
        api, 5, specialties=["cardiology"], certifications=(factories.certification(specialty="cardiology"),)
    )


async def api_items(api: Api, within_days: int) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        params: dict[str, Any] = {"within_days": within_days, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await ok(await api.get("/api/v1/reports/expirations", role="manager", params=params))
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def weeks_of(items: list[dict[str, Any]], within_days: int) -> list[list[str]]:
    """The weeks table as the API's rows say it should be (overdue row first)."""
    kinds = ["license", "certification", "recredentialing", "irr"]
    weeks = within_days // 7 + 1
    counts = [dict.fromkeys(kinds, 0) for _ in range(weeks + 1)]
    for item in items:
        if item["status"] == "overdue":
            counts[0][item["kind"]] += 1
        else:
            counts[1 + (date.fromisoformat(item["expires_on"]) - TODAY).days // 7][item["kind"]] += 1
    return [[str(c[k]) for k in kinds] + [str(sum(c.values()))] for c in counts]


async def test_expirations_weeks_and_items_match_the_api(manager: Browser, app_api: tuple[Litestar, Api]) -> None:
    _, api = app_api
    await roster(api)
    for within_days in (90, 30):
        page = await manager.get(f"/reports/expirations?within_days={within_days}")
        assert page.status_code == 200, page.text
        items = await api_items(api, within_days)
        weeks = table_rows(page.text, "weeks")
        assert [row[2:] for row in weeks] == weeks_of(items, within_days)
        assert weeks[0][0] == "Overdue" and weeks[1][0] == "W1" and len(weeks) == within_days // 7 + 2
        assert weeks[1][1] == f"{TODAY} \u2013 {TODAY + timedelta(days=6)}"
        shown = table_rows(page.text, "items")
        assert [(r[1], r[4]) for r in shown] == [(i["npi"], i["expires_on"] or "never done") for i in items]
    page = await manager.get("/reports/expirations")
    assert (
        'role="img" aria-labelledby="chart-title chart-desc"' in page.text and '<title id="chart-title">' in page.text
    )
    assert SCRIPT not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_expirations_pages_through_the_items(manager: Browser, app_api: tuple[Litestar, Api]) -> None:
    _, api = app_api
    for n in range(1, 56):
        await ok(await api.post("/api/v1/physicians", json=factories.physician(n, irr_passed_on=day(-360))), 201)
    first = await manager.get("/reports/expirations")
    assert len(table_rows(first.text, "items")) == 50
    link = re.search(r'href="(\?[^"]*cursor=[^"]*)" rel="next"', first.text)
    assert link, "a next page link"
    second = await manager.get("/reports/expirations" + link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and len(table_rows(second.text, "items")) == 5
    assert "within_days=90" in link.group(1)


async def test_expirations_csv_is_the_apis_csv(manager: Browser, app_api: tuple[Litestar, Api]) -> None:
    _, api = app_api
    await roster(api)
    page = await manager.get("/reports/expirations.csv?within_days=60")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/csv")
    assert "attachment" in page.headers["content-disposition"]
    from_api = await api.get(
        "/api/v1/reports/expirations", role="manager", params={"within_days": 60}, headers={"Accept": "text/csv"}
    )
    assert page.text == from_api.text
    rows = list(csv.DictReader(io.StringIO(page.text)))
    assert any(r["name"].startswith("Ada ") for r in rows)


@pytest.mark.parametrize("bad", ["-1", "3651", "soon"])
async def test_a_bad_window_is_a_field_message(manager: Browser, bad: str) -> None:
    page = await manager.get(f"/reports/expirations?within_days={bad}")
    assert page.status_code == 422
    assert 'aria-invalid="true" aria-describedby="e-within_days"' in page.text
    assert re.search(r'<small id="e-within_days" class="field-error">must be', page.text)
    cursor = await manager.get("/reports/expirations?cursor=nonsense")
    assert cursor.status_code == 422 and "not a cursor" in cursor.text


async def test_coverage_cells_match_the_api_now_and_at_the_horizon(
    manager: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    await roster(api)
    for lob, horizon in (("commercial", 90), ("medicare_advantage", 7)):
        page = await manager.get(f"/reports/coverage?line_of_business={lob}&horizon_days={horizon}")
        assert page.status_code == 200, page.text
        report = await ok(
            await api.get(
                "/api/v1/reports/coverage", role="manager", params={"line_of_business": lob, "horizon_days": horizon}
            )
        )
        for which, key in (("now", "eligible_now"), ("horizon", "eligible_at_horizon")):
            table = re.search(rf'<table class="heat" id="heat-{which}".*?</table>', page.text, re.S)
            assert table
            cells = {
                (state, slug): int(n)
                for state, slug, n in re.findall(
                    r"state=([A-Z]{2})&amp;specialty=([a-z_]+)&amp;at=" + which + r'">(\d+)</a>', table.group(0)
                )
            }
            assert cells == {(r["state"], r["specialty"]): r[key] for r in report["rows"]}
    page = await manager.get("/reports/coverage?line_of_business=commercial")
    losing = table_rows(page.text, "losing")
    assert ["AZ", "Medical Oncology", "3", "0"] in losing, "its three AZ licenses lapse within 90 days"


async def test_a_coverage_cell_lists_the_reviewers_it_counts(manager: Browser, app_api: tuple[Litestar, Api]) -> None:
    _, api = app_api
    await roster(api)
    report = await ok(await api.get("/api/v1/reports/coverage", params={"line_of_business": "commercial"}))
    row = next(r for r in report["rows"] if (r["state"], r["specialty"]) == ("AZ", "hematology"))
    page = await manager.get("/reports/coverage?line_of_business=commercial")
    link = re.search(
        r'href="(/reports/coverage/reviewers\?[^"]*state=AZ&amp;specialty=hematology&amp;at=now)"', page.text
    )
    assert link
    cell = await manager.get(link.group(1).replace("&amp;", "&"))
    assert cell.status_code == 200, cell.text
    assert len(table_rows(cell.text, "reviewers")) == row["eligible_now"] == 3, "similar specialty counts"
    assert SCRIPT not in cell.text
    later = await manager.get(link.group(1).replace("&amp;", "&").replace("at=now", "at=horizon"))
    assert row["eligible_at_horizon"] == 0 and "<p>Nobody.</p>" in later.text, "all three AZ licenses lapse"
    bad = await manager.get("/reports/coverage/reviewers?line_of_business=commercial&state=ZZ&specialty=hematology")
    assert bad.status_code == 422 and "USPS" in bad.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("line_of_business=dental", "line_of_business"),
        ("horizon_days=2000", "horizon_days"),
        ("as_of=yesterday", "as_of"),
    ],
)
async def test_bad_coverage_filters_are_field_messages(manager: Browser, query: str, field: str) -> None:
    page = await manager.get(f"/reports/coverage?{query}")
    assert page.status_code == 422, page.text
    assert f'aria-describedby="e-{field}"' in page.text


async def test_who_may_open_the_reports(app_api: tuple[Litestar, Api]) -> None:
    app, _ = app_api
    for role, expirations, coverage in (
        ("router", 403, 403),
        ("credentialing", 200, 403),
        ("auditor", 200, 200),
    ):
        async with await signed_in(app, role) as b:
            assert (await b.get("/reports/expirations")).status_code == expirations
            assert (await b.get("/reports/coverage")).status_code == coverage
