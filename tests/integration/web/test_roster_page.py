"""The roster page and its export against the JSON API on the same filters (api.md "The workspace", page 2)."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from typing import Any

import fastexcel
import pytest
from litestar import Litestar

from roster.physicians import pages
from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import ok, reviewer
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in

TODAY = factories.TODAY
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","a")'
ROW_LINK = re.compile(r'<th scope="row"><a href="/physicians/([0-9a-f-]{36})">')


@pytest.fixture(autouse=True)
async def roster(app_api: tuple[Litestar, Api]) -> None:
    await build(app_api[1])


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


SCREENING_CHECKS = {"oig_exclusion", "sam_exclusion", "cms_preclusion"}


async def standings(api: Api) -> dict[str, dict[str, Any]]:
    """Per physician (all of them, the API's order): compliant today, at risk by day 90, next expiry and NPI,
    from the API's compliance reports today and on day 90."""
    out = {}
    for pid in await api_ids(api):
        now = await ok(await api.get(f"/api/v1/physicians/{pid}/compliance"))
        later = await ok(await api.get(f"/api/v1/physicians/{pid}/compliance", params={"as_of": day(90)}))
        passing = [c for c in now["checks"] if c["ok"] and c["check"] not in SCREENING_CHECKS]
        ends = [c["expires_on"] for c in passing if c.get("expires_on")]
        out[pid] = {
            "compliant": now["compliant"],
            "at_risk": now["compliant"] and not later["compliant"],
            "expiry": min(ends, default=None),
            "npi": (await ok(await api.get(f"/api/v1/physicians/{pid}")))["npi"],
        }
    return out


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def vary_expiries(api: Api) -> None:
    """1: IRR lapses on day 65 (at risk); 2: IRR on day 15 (at risk); 5: IRR on day 300."""
    for n, irr in ((1, day(-300)), (2, day(-350)), (5, day(-65))):
        pid = (await ok(await api.get(f"/api/v1/physicians/npi/{factories.npi(n)}")))["id"]
        await ok(await api.patch(f"/api/v1/physicians/{pid}", json={"irr_passed_on": irr}))


@pytest.mark.parametrize("standing", ["compliant", "at_risk", "non_compliant"])
async def test_the_compliance_filter_holds_across_pages(
    app_api: tuple[Litestar, Api], browser: Browser, monkeypatch: pytest.MonkeyPatch, standing: str
) -> None:
    api = app_api[1]
    await vary_expiries(api)
    known = await standings(api)
    wanted = {
        "compliant": [pid for pid, s in known.items() if s["compliant"]],
        "at_risk": [pid for pid, s in known.items() if s["at_risk"]],
        "non_compliant": [pid for pid, s in known.items() if not s["compliant"]],
    }[standing]
    assert wanted, "the roster has physicians of every standing"
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    assert await all_rows(browser, f"/roster?compliance={standing}") == wanted
    # With a failing reason and a database filter too, and the memberships handed to the scan.
    monkeypatch.setattr("roster.physicians.service.MAX_LISTED_IDS", 0)
    lapsed = [pid for pid in await api_ids(api) if pid in set(wanted)]
    no_cert = set(await standings_failing(api, "no_board_certification"))
    assert await all_rows(browser, f"/roster?compliance={standing}&reason=no_board_certification&status=active") == [
        pid for pid in lapsed if pid in no_cert and pid in await api_ids(api, status="active")
    ]


async def standings_failing(api: Api, reason: str) -> list[str]:
    found = []
    for pid in await api_ids(api):
        if reason in (await ok(await api.get(f"/api/v1/physicians/{pid}/compliance")))["reasons"]:
            found.append(pid)
    return found


def expiry_order(known: dict[str, dict[str, Any]], ids: list[str] | None = None) -> list[str]:
    """Soonest next expiry first, nothing ending last, NPI among equals."""
    chosen = known if ids is None else {pid: known[pid] for pid in ids}
    return sorted(chosen, key=lambda pid: (chosen[pid]["expiry"] or "9999-99-99", chosen[pid]["npi"]))


async def test_sorted_by_next_expiry_across_pages(
    app_api: tuple[Litestar, Api], browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = app_api[1]
    await vary_expiries(api)
    known = await standings(api)
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    expected = expiry_order(known)
    assert await all_rows(browser, "/roster?sort=expiry") == expected
    soonest = [(await ok(await api.get(f"/api/v1/physicians/npi/{factories.npi(n)}")))["id"] for n in (2, 1)]
    assert expected[:2] == soonest
    first = (await browser.get("/roster", params={"sort": "expiry"})).text
    assert "by next expiry" in first and '<option value="expiry" selected>' in first
    shown = re.findall(r'<td class="next-expiry"><time datetime="([\d-]+)">', first)
    assert shown == [known[pid]["expiry"] for pid in expected[:2]]
    # Filtered too: the at-risk physicians, soonest first.
    at_risk = expiry_order(known, [pid for pid, s in known.items() if s["at_risk"]])
    assert await all_rows(browser, "/roster?compliance=at_risk&sort=expiry") == at_risk
    cca = expiry_order(known, await api_ids(api, state="CA"))
    assert await all_rows(browser, "/roster?state=CA&sort=expiry") == cca
    # A page's candidates handed to the list query's scan rather than as ids: the same rows.
    monkeypatch.setattr("roster.physicians.service.MAX_LISTED_IDS", 0)
    assert await all_rows(browser, "/roster?state=CA&sort=expiry") == cca
    active = expiry_order(known, await api_ids(api, status="active"))
    assert await all_rows(browser, "/roster?status=active&sort=expiry") == active


async def test_the_expiry_order_follows_a_write(app_api: tuple[Litestar, Api], browser: Browser) -> None:
    """The next expiries are remembered per physician; a write to one is seen on the next request."""
    api = app_api[1]
    before = row_ids((await browser.get("/roster", params={"sort": "expiry"})).text)
    last = before[-1]
    await ok(await api.patch(f"/api/v1/physicians/{last}", json={"irr_passed_on": day(-364)}))
    after = row_ids((await browser.get("/roster", params={"sort": "expiry"})).text)
    assert after[0] == last and sorted(after) == sorted(before)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"state": "ZZ"}, "state", "&#39;ZZ&#39; is not a USPS code"),
        ({"specialty": "astrology"}, "specialty", "unknown specialty &#39;astrology&#39;"),
        ({"cursor": "not-a-cursor"}, "cursor", "not a cursor returned by this API"),
        ({"reason": "bad_karma"}, "reason", "unknown reason &#39;bad_karma&#39;"),
        ({"compliance": "saintly"}, "compliance", "unknown standing &#39;saintly&#39;"),
        ({"compliance": "x" * 33}, "compliance", "Expected `str` of length &lt;= 32"),
        ({"sort": "expiry", "cursor": "not-a-cursor"}, "cursor", "not a cursor returned by this API"),
        ({"sort": "expiry", "state": "ZZ", "compliance": "at_risk"}, "state", "&#39;ZZ&#39; is not a USPS code"),
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


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_the_export_holds_the_standings_physicians(
    app_api: tuple[Litestar, Api], browser: Browser, fmt: str
) -> None:
    api = app_api[1]
    await vary_expiries(api)
    known = await standings(api)
    page = (await browser.get("/roster", params={"compliance": "at_risk", "sort": "expiry"})).text
    link = re.search(r'href="(/roster/export\?[^"]*format=csv)"', page)
    assert link and html.unescape(link.group(1)) == "/roster/export?compliance=at_risk&sort=expiry&format=csv"
    response = await browser.get("/roster/export", params={"compliance": "at_risk", "sort": "expiry", "format": fmt})
    assert response.status_code == 200, response.text
    npis = {r["npi"] for r in cells(fmt, response.content)}
    assert npis == {s["npi"] for s in known.values() if s["at_risk"]} == {factories.npi(1), factories.npi(2)}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_the_export_sorted_by_expiry_keeps_the_pages_order(
    app_api: tuple[Litestar, Api], browser: Browser, fmt: str
) -> None:
    await vary_expiries(app_api[1])
    known = await standings(app_api[1])
    wanted = [known[pid]["npi"] for pid in expiry_order(known)]
    assert wanted != sorted(wanted), "the fixture must order by expiry differently from NPI"
    response = await browser.get("/roster/export", params={"sort": "expiry", "format": fmt})
    assert response.status_code == 200, response.text
    rows = cells(fmt, response.content)
    assert [r["npi"] for r in rows if r["record"] in ("physician", "physicians")] == wanted
    place = {npi: i for i, npi in enumerate(wanted)}
    for record in {r["record"] for r in rows}:
        places = [place[r["npi"]] for r in rows if r["record"] == record]
        assert places == sorted(places), f"{record}: grouped by physician in the page's order"
    if fmt == "csv":
        grouped = list(dict.fromkeys(r["npi"] for r in rows))
        assert grouped == wanted, "each physician's licenses and certifications follow it"


async def test_a_bad_export_filter_is_422_and_exports_nothing(browser: Browser) -> None:
    for params in ({"format": "pdf"}, {"state": "ZZ"}, {"reason": "nope"}, {"compliance": "nope"}, {"sort": "x"}):
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
