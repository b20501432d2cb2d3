"""The roster page and its export against the JSON API on the same filters (api.md "The workspace", page 2)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import fastexcel
import pytest
from litestar import Litestar

from roster.config import Settings
from roster.physicians import pages
from tests import factories
from tests.conftest import Api, TempDatabase
from tests.integration.matching.roster import ok, reviewer
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in, workspace_and_api

TODAY = factories.TODAY
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","a")'
ROW_LINK = re.compile(r'<th scope="row"><a href="/physicians/([0-9a-f-]{36})">')


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    """No list required: screening passes, so the other checks decide who is compliant."""
    return migrated.settings(required_sources=())


@pytest.fixture
async def app_api(settings: Settings) -> AsyncIterator[tuple[Litestar, Api]]:
    async with workspace_and_api(settings) as pair:
        await build(pair[1])
        yield pair


@pytest.fixture
async def browser(app_api: tuple[Litestar, Api]) -> AsyncIterator[Browser]:
    async with await signed_in(app_api[0], "credentialing") as b:
        yield b


async def build(api: Api) -> None:
    """Seven physicians: 3, 5 and 7 without a board certification, 4 overdue on IRR, 2 licensed in CA too,
    6 and 7 with hostile names, 6 inactive."""
    await reviewer(api, 1, specialties=["cardiology"])
    await reviewer(
        api, 2, licenses=(factories.license(number="A2"), factories.license(state="CA", number="C2")), first_name="Bo"
    )
    await reviewer(api, 3, certifications=(), lines_of_business=["medicaid"])
    await reviewer(api, 4, irr_passed_on=(TODAY - timedelta(days=500)).isoformat())
    await reviewer(api, 5, certifications=())
    six = await reviewer(api, 6, last_name=SCRIPT)
    await ok(await api.client.delete(f"/api/v1/physicians/{six['id']}", headers=api.auth()))
    await reviewer(api, 7, certifications=(), last_name=FORMULA)


async def api_ids(api: Api, **params: Any) -> list[str]:
    """Every physician the JSON API lists on these filters, in its order, over all its pages."""
    ids, cursor = [], None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await ok(await api.get("/api/v1/physicians", role="router", params=query))
        ids += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def row_ids(text: str) -> list[str]:
    return ROW_LINK.findall(text)


async def all_rows(browser: Browser, url: str) -> list[str]:
    """The rows of every page, following "Next page" as a person would."""
    ids: list[str] = []
    for _ in range(20):
        response = await browser.get(url)
        assert response.status_code == 200, response.text
        ids += row_ids(response.text)
        following = re.search(r'<a href="([^"]+)" rel="next">', response.text)
        if following is None:
            return ids
        url = "/roster" + html.unescape(following.group(1))
    raise AssertionError("too many pages")


FILTERS: list[dict[str, str]] = [
    {},
    {"q": "Reviewer0002"},
    {"q": factories.npi(3)},
    {"q": "bo"},
    {"state": "CA"},
    {"specialty": "cardiology"},
    {"specialty": "medical_oncology", "state": "AZ"},
    {"line_of_business": "medicaid"},
    {"status": "inactive"},
    {"status": "active", "line_of_business": "commercial"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "all")
async def test_filters_give_the_apis_rows_in_its_order(
    app_api: tuple[Litestar, Api], browser: Browser, filters: dict[str, str]
) -> None:
    api = app_api[1]
    response = await browser.get("/roster", params=filters)
    assert response.status_code == 200, response.text
    assert row_ids(response.text) == await api_ids(api, **filters)
    for name, value in filters.items():  # the view is its URL: the form shows the filter it applied
        assert re.search(rf'id="f-{name}"[^>]*value="{re.escape(value)}"', response.text) or re.search(
            rf'<option value="{re.escape(value)}" selected>', response.text
        ), name


async def test_pages_follow_the_cursor_through_the_same_rows(
    app_api: tuple[Litestar, Api], browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first = await browser.get("/roster")
    assert len(row_ids(first.text)) == 2 and 'rel="next"' in first.text
    assert await all_rows(browser, "/roster") == await api_ids(app_api[1])
    # Sorting by NPI is another keyset, paged the same way.
    by_npi = await all_rows(browser, "/roster?sort=npi")
    npi_of = {}
    for pid in by_npi:
        npi_of[pid] = (await ok(await app_api[1].get(f"/api/v1/physicians/{pid}")))["npi"]
    assert sorted(by_npi) == sorted(await api_ids(app_api[1]))
    assert [npi_of[p] for p in by_npi] == sorted(npi_of.values())


async def test_a_row_has_a_badge_per_compliance_check(app_api: tuple[Litestar, Api], browser: Browser) -> None:
    api = app_api[1]
    five = (await ok(await api.get(f"/api/v1/physicians/npi/{factories.npi(5)}")))["id"]
    report = await ok(await api.get(f"/api/v1/physicians/{five}/compliance"))
    text = (await browser.get("/roster", params={"q": factories.npi(5)})).text
    row = text.split(f'href="/physicians/{five}"', 1)[1].split("</tr>", 1)[0]
    badges = re.findall(r'<span class="badge badge-(\w+)" title="([^"]*)">', row)
    assert len(badges) == len(report["checks"]) == len(pages.CHECK_LABELS)
    for (status, title), check in zip(badges, report["checks"], strict=True):
        assert (status == "fail") == (not check["ok"]) and html.unescape(title) == check["detail"]
    assert "Reviewer0005" in row and factories.npi(5) in row and "Medical Oncology" in row and ">AZ<" in row


@pytest.mark.parametrize("reason", ["no_board_certification", "irr_overdue", "inactive", "license_expired"])
async def test_the_reason_filter_holds_across_pages(
    app_api: tuple[Litestar, Api], browser: Browser, monkeypatch: pytest.MonkeyPatch, reason: str
) -> None:
    api = app_api[1]
    failing = []
    for pid in await api_ids(api):
        report = await ok(await api.get(f"/api/v1/physicians/{pid}/compliance"))
        if reason in report["reasons"]:
            failing.append(pid)
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    assert await all_rows(browser, f"/roster?reason={reason}") == failing
    if reason == "no_board_certification":
        assert len(failing) == 3, "two pages: the filter is applied before paginating"
    # With another filter too (and the membership handed to the scan instead of the database).
    monkeypatch.setattr("roster.physicians.service.MAX_LISTED_IDS", 0)
    assert await all_rows(browser, f"/roster?reason={reason}&status=active") == [
        pid for pid in failing if pid in await api_ids(api, status="active")
    ]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"state": "ZZ"}, "state", "&#39;ZZ&#39; is not a USPS code"),
        ({"specialty": "astrology"}, "specialty", "unknown specialty &#39;astrology&#39;"),
        ({"cursor": "not-a-cursor"}, "cursor", "not a cursor returned by this API"),
        ({"reason": "bad_karma"}, "reason", "unknown reason &#39;bad_karma&#39;"),
        ({"line_of_business": "pets"}, "line_of_business", "Invalid enum value"),
        ({"status": "asleep"}, "status", "Invalid enum value"),
        ({"sort": "shoe_size"}, "sort", "Invalid enum value"),
        ({"q": "x" * 101}, "q", "Expected `str` of length &lt;= 100"),
    ],
)
async def test_a_bad_filter_is_422_with_the_apis_message_beside_it(
    app_api: tuple[Litestar, Api], browser: Browser, params: dict[str, str], field: str, message: str
) -> None:
    response = await browser.get("/roster", params=params)
    assert response.status_code == 422, response.text
    assert message in response.text
    if field != "cursor":
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true" aria-describedby="e-{field}"', response.text)
        assert f'<small id="e-{field}" class="field-error">' in response.text
    if field in ("state", "specialty", "cursor"):  # the API says the same
        api_params = {
            "state": params.get("state"),
            "specialty": params.get("specialty"),
            "cursor": params.get("cursor"),
        }
        problem = await app_api[1].get("/api/v1/physicians", params={k: v for k, v in api_params.items() if v})
        assert problem.status_code == 422 and html.unescape(message) in problem.text
    assert not row_ids(response.text)


async def test_hostile_names_render_inert(browser: Browser) -> None:
    text = (await browser.get("/roster", params={"status": "inactive"})).text
    assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    text = (await browser.get("/roster")).text
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;a&#34;)" in text or "=HYPERLINK(&quot;http://x&quot;" in text


# --- export ----------------------------------------------------------------------------------------


def cells(fmt: str, content: bytes) -> list[dict[str, str]]:
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode(), newline="")))
    reader = fastexcel.read_excel(content)
    return [
        {**{k: v or "" for k, v in row.items()}, "record": sheet}
        for sheet in reader.sheet_names
        for row in reader.load_sheet(sheet, dtypes="string").to_polars().to_dicts()
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_the_export_holds_just_the_filters_physicians(browser: Browser, fmt: str) -> None:
    response = await browser.get("/roster/export", params={"format": fmt, "state": "CA"})
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["content-type"].startswith(pages.exports.MEDIA_TYPES[fmt].split(";")[0])
    rows = cells(fmt, response.content)
    assert {r["npi"] for r in rows} == {factories.npi(2)}
    assert {r["state"] for r in rows if r.get("state")} == {"AZ", "CA"}, "all of the physician's licenses"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_the_export_of_a_reason_neutralises_formulas(browser: Browser, fmt: str) -> None:
    response = await browser.get("/roster/export", params={"format": fmt, "reason": "no_board_certification"})
    assert response.status_code == 200, response.text
    rows = cells(fmt, response.content)
    assert {r["npi"] for r in rows} == {factories.npi(n) for n in (3, 5, 7)}
    names = {r["last_name"] for r in rows if r.get("last_name")}
    assert "'" + FORMULA in names, names
    assert not [v for r in rows for v in r.values() if v and v[0] in "=+-@\t\r"]


async def test_a_bad_export_filter_is_422_and_exports_nothing(browser: Browser) -> None:
    for params in ({"format": "pdf"}, {"state": "ZZ"}, {"reason": "nope"}):
        response = await browser.get("/roster/export", params=params)
        assert response.status_code == 422, (params, response.text)
        assert "attachment" not in response.headers.get("content-disposition", "")


async def test_the_roster_page_links_to_the_export_of_its_filter(browser: Browser) -> None:
    text = (await browser.get("/roster", params={"state": "CA", "reason": "irr_overdue"})).text
    assert 'href="/roster/export?state=CA&amp;reason=irr_overdue&amp;format=csv"' in text


async def test_a_router_reads_the_roster_but_cannot_export_it(app_api: tuple[Litestar, Api]) -> None:
    async with await signed_in(app_api[0], "router") as router:
        page = await router.get("/roster")
        assert page.status_code == 200 and len(row_ids(page.text)) == 7
        assert "/roster/export" not in page.text
        assert (await router.get("/roster/export", params={"format": "csv"})).status_code == 403


async def test_signed_out_the_roster_asks_for_sign_in(app_api: tuple[Litestar, Api]) -> None:
    async with Browser(app_api[0]) as anonymous:
        response = await anonymous.get("/roster?state=CA")
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/roster")
