"""The home page: its counts against what the API reports for the same physicians, its links, and what
each role is shown."""

from __future__ import annotations

import html as markup
import re
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import time_machine
from litestar import Litestar

from roster.alerts.service import alert_row, raise_alerts
from roster.web.home import LINES_OF_BUSINESS
from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import ok, reviewer
from tests.integration.web.pages import signed_in

TODAY = factories.TODAY


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def small_roster(api: Api) -> list[str]:
    """Compliant; at risk (license lapses in 30 days, the only AZ oncologist then); expired license;
    IRR overdue; no certification and IRR overdue; inactive."""
    ids = [
        (await reviewer(api, 1))["id"],
        (await reviewer(api, 2, licenses=(factories.license(number="B2", expires_on=day(30)),)))["id"],
        (await reviewer(api, 3, licenses=(factories.license(number="B3", expires_on=day(-5)),)))["id"],
        (await reviewer(api, 4, irr_passed_on=day(-400)))["id"],
        (await reviewer(api, 5, certifications=(), irr_passed_on=day(-380)))["id"],
    ]
    inactive = await reviewer(api, 6)
    assert (await api.delete(f"/api/v1/physicians/{inactive['id']}")).status_code == 200
    return [*ids, inactive["id"]]


def count(html: str, id_: str) -> int:
    match = re.search(rf'id="{id_}"><strong>(\d+)</strong>', html)
    assert match, f"no count {id_}"
    return int(match.group(1))


async def test_counts_match_the_api_per_physician_and_link_to_their_lists(app_api: tuple[Litestar, Api]) -> None:
    app, api = app_api
    ids = await small_roster(api)
    now = [await ok(await api.get(f"/api/v1/physicians/{pid}/compliance")) for pid in ids]
    later = [await ok(await api.get(f"/api/v1/physicians/{pid}/compliance", params={"as_of": day(90)})) for pid in ids]
    reasons = Counter(reason for report in now for reason in report["reasons"])
    async with await signed_in(app, "manager") as browser:
        page = await browser.get("/")
        assert page.status_code == 200, page.text
        html = page.text
        # Each standing's count links to the roster filtered on it, which lists exactly those physicians.
        listed = {}
        for id_ in ("count-compliant", "count-at-risk", "count-non-compliant"):
            link = re.search(rf'<a href="([^"]+)" id="{id_}">', html)
            assert link, id_
            roster = await browser.get(markup.unescape(link.group(1)))
            assert roster.status_code == 200, roster.text
            listed[id_] = set(re.findall(r'<th scope="row"><a href="/physicians/([0-9a-f-]{36})">', roster.text))
    assert count(html, "count-total") == len(ids)
    assert count(html, "count-compliant") == sum(r["compliant"] for r in now) == 2
    assert listed["count-compliant"] == {pid for pid, r in zip(ids, now, strict=True) if r["compliant"]}
    assert count(html, "count-non-compliant") == sum(not r["compliant"] for r in now) == 4
    assert listed["count-non-compliant"] == {pid for pid, r in zip(ids, now, strict=True) if not r["compliant"]}
    at_risk = {pid for pid, a, b in zip(ids, now, later, strict=True) if a["compliant"] and not b["compliant"]}
    assert count(html, "count-at-risk") == len(at_risk) == 1
    assert listed["count-at-risk"] == at_risk
    assert 'href="/roster?compliance=at_risk&amp;sort=expiry" id="count-at-risk"' in html
    shown = dict(re.findall(r'<a href="/roster\?reason=(\w+)" data-reason="\w+">(\d+)</a>', html))
    assert {k: int(v) for k, v in shown.items()} == dict(reasons)
    assert {"license_expired", "irr_overdue", "no_board_certification", "inactive"} <= set(shown)
    assert 'href="/reports/expirations?within_days=90" id="expirations-link"' in html
    # The coverage forecast: AZ loses its last eligible oncologists (for both lines the roster reviews).
    assert re.search(r'data-line="commercial">\d+ gaps?</a>', html)
    assert 'href="/reports/coverage?line_of_business=commercial"' in html


async def api_gaps(api: Api) -> dict[str, int]:
    """Per line of business, the cells the coverage API says lose coverage within 90 days."""
    out = {}
    for line in LINES_OF_BUSINESS:
        report = await ok(await api.get("/api/v1/reports/coverage", role="manager", params={"line_of_business": line}))
        out[line] = sum(row["loses_coverage"] for row in report["rows"])
    return out


def page_gaps(html: str) -> dict[str, int]:
    return {line: int(n) for line, n in re.findall(r'data-line="(\w+)">(\d+) gaps?</a>', html)}


async def test_the_coverage_panel_follows_every_roster_write(app_api: tuple[Litestar, Api]) -> None:
    """The panel is kept per roster version: a write (here through the API, as another replica would)
    is seen by the next page, and a page without a write in between shows the same panel."""
    app, api = app_api
    ids = await small_roster(api)
    async with await signed_in(app, "manager") as browser:
        first = page_gaps((await browser.get("/")).text)
        assert first == await api_gaps(api) and first["commercial"] == 0, "1 keeps AZ covered"
        assert page_gaps((await browser.get("/")).text) == first
        # Physician 1's IRR now lapses on day 65, and 2's license on day 30: AZ loses its oncologists.
        await ok(await api.patch(f"/api/v1/physicians/{ids[0]}", json={"irr_passed_on": day(-300)}))
        lapsing = page_gaps((await browser.get("/")).text)
        assert lapsing == await api_gaps(api) and lapsing["commercial"] >= 1
        # A new day is another forecast on the same roster version: on day 100 both have lapsed.
        with time_machine.travel(datetime.combine(TODAY + timedelta(days=100), time(12), UTC), tick=False):
            async with await signed_in(app, "manager", "later@example.org") as again:  # sessions have expired
                later = page_gaps((await again.get("/")).text)
            assert later == await api_gaps(api) and later["commercial"] == 0


async def test_each_role_sees_only_what_it_may_open(app_api: tuple[Litestar, Api]) -> None:
    app, api = app_api
    doc = await reviewer(api, 1)
    await raise_alerts(
        [
            alert_row(kind="irr_due", physician_id=doc["id"], subject_type="physician", subject_id=doc["id"],
                      threshold="30", due_on=TODAY),
            alert_row(kind="license_expiring", physician_id=doc["id"], subject_type="license", subject_id="L9",
                      threshold="60", due_on=TODAY),
            alert_row(kind="license_expiring", physician_id=doc["id"], subject_type="license", subject_id="L8",
                      threshold="60", due_on=TODAY),
        ]
    )  # fmt: skip
    async with await signed_in(app, "credentialing") as browser:
        html = (await browser.get("/")).text
        assert re.search(r'href="/hits\?status=pending" id="count-pending-hits"><strong>0</strong>', html)
        assert 'href="/alerts?kind=license_expiring&amp;status=open" data-kind="license_expiring">2</a>' in html
        assert 'href="/alerts?kind=irr_due&amp;status=open" data-kind="irr_due">1</a>' in html
        assert "Coverage gaps" not in html, "credentialing does not open the coverage report"
    async with await signed_in(app, "router") as router:
        page = await router.get("/")
        assert page.status_code == 200 and 'id="count-compliant"' in page.text
        for hidden in ("/hits", "/alerts", "/reports/coverage", "/reports/expirations", "Coverage gaps"):
            assert hidden not in page.text, hidden
    async with await signed_in(app, "auditor") as auditor:
        html = (await auditor.get("/")).text
        assert "/hits?status=pending" in html and "/alerts?kind=" in html and "Coverage gaps" in html
