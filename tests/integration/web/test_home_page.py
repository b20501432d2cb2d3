"""The home page: its counts against what the API reports for the same physicians, its links, and what
each role is shown."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar import Litestar

from roster.alerts.service import alert_row, raise_alerts
from roster.config import Settings
from tests import factories
from tests.conftest import Api, TempDatabase
from tests.integration.matching.roster import ok, reviewer
from tests.integration.web.pages import signed_in, workspace_and_api

TODAY = factories.TODAY


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    """No list required: compliance turns on licenses, certifications and dates (as in the coverage tests)."""
    return migrated.settings(required_sources=())


@pytest.fixture
async def app_api(settings: Settings) -> AsyncIterator[tuple[Litestar, Api]]:
    async with workspace_and_api(settings) as pair:
        yield pair


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
    assert count(html, "count-total") == len(ids)
    assert count(html, "count-compliant") == sum(r["compliant"] for r in now) == 2
    assert count(html, "count-non-compliant") == sum(not r["compliant"] for r in now) == 4
    at_risk = sum(a["compliant"] and not b["compliant"] for a, b in zip(now, later, strict=True))
    assert count(html, "count-at-risk") == at_risk == 1
    shown = dict(re.findall(r'<a href="/roster\?reason=(\w+)" data-reason="\w+">(\d+)</a>', html))
    assert {k: int(v) for k, v in shown.items()} == dict(reasons)
    assert {"license_expired", "irr_overdue", "no_board_certification", "inactive"} <= set(shown)
    assert 'href="/reports/expirations?within_days=90" id="count-at-risk"' in html
    # The coverage forecast: AZ loses its last eligible oncologists (for both lines the roster reviews).
    assert re.search(r'data-line="commercial">\d+ gaps?</a>', html)
    assert 'href="/reports/coverage?line_of_business=commercial"' in html


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
