"""The alerts page (``/alerts``) through the app, against the alerts API for the same data."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar

from roster.alerts.service import alert_row, raise_alerts
from roster.audit.tables import AuditEvent
from tests import factories
from tests.conftest import Api
from tests.integration.screening.test_routes import physician
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
async def raised(app_api: tuple[Litestar, Api]) -> dict[str, Any]:
    """Two license alerts about a script-named physician, one IRR alert about another."""
    _, api = app_api
    odd = await physician(api, 1, last_name=SCRIPT)
    plain = await physician(api, 2, first_name="Ann", last_name="Plain")
    due = factories.TODAY + timedelta(days=30)
    await raise_alerts(
        [
            alert_row(kind="license_expiring", physician_id=odd["id"], subject_type="license", subject_id="L1",
                      threshold="30", due_on=due, detail={"state": "AZ"}),
            alert_row(kind="license_expired", physician_id=odd["id"], subject_type="license", subject_id="L2",
                      threshold="0", due_on=factories.TODAY),
            alert_row(kind="irr_due", physician_id=plain["id"], subject_type="physician", subject_id=plain["id"],
                      threshold="30", due_on=due),
        ]
    )  # fmt: skip
    items = (await api.get("/api/v1/alerts", role="manager")).json()["items"]
    return {"odd": odd, "plain": plain, "alerts": {a["kind"]: a for a in items}}


def shown(html: str) -> set[str]:
    return set(re.findall(r'<tr id="alert-([0-9a-f-]+)"', html))


async def acknowledge(browser: Browser, *ids: str, next_: str = "/alerts?status=open") -> Any:
    data: dict[str, Any] = {"_csrf_token": await browser.csrf("/alerts"), "next": next_, "alert": list(ids)}
    return await browser.post("/alerts/acknowledge", data=data)


async def test_filters_by_kind_status_and_physician(app_api: tuple[Litestar, Api], raised: dict[str, Any]) -> None:
    app, _ = app_api
    alerts = raised["alerts"]
    async with await signed_in(app, "manager") as browser:
        everything = await browser.get("/alerts")
        assert everything.status_code == 200 and shown(everything.text) == {a["id"] for a in alerts.values()}
        kind = await browser.get("/alerts", params={"kind": "irr_due", "status": "open"})
        assert shown(kind.text) == {alerts["irr_due"]["id"]}
        theirs = await browser.get("/alerts", params={"physician_id": raised["odd"]["id"]})
        assert shown(theirs.text) == {alerts["license_expiring"]["id"], alerts["license_expired"]["id"]}
        paged = await browser.get("/alerts", params={"limit": "2"})
        assert len(shown(paged.text)) == 2 and 'rel="next"' in paged.text
        none = await browser.get("/alerts", params={"status": "acknowledged"})
        assert none.status_code == 200 and not shown(none.text) and 'id="no-alerts"' in none.text
        # A script for a name is text; every checkbox is labelled.
        assert SCRIPT not in everything.text and "&lt;script&gt;" in everything.text
        boxes = re.findall(r'<input type="checkbox"[^>]*>', everything.text)
        assert len(boxes) == 3 and all('aria-label="Select ' in box for box in boxes)

        for params, field in (
            ({"kind": "volcano"}, "kind"),
            ({"status": "closed"}, "status"),
            ({"physician_id": "not-a-uuid"}, "physician_id"),
        ):
            bad = await browser.get("/alerts", params=params)
            assert bad.status_code == 422, params
            assert f'id="e-{field}" class="field-error"' in bad.text and not shown(bad.text)
        bad_cursor = await browser.get("/alerts", params={"cursor": "@@"})
        assert bad_cursor.status_code == 422 and "not a cursor returned by this API" in bad_cursor.text


async def test_acknowledge_many_then_again(app_api: tuple[Litestar, Api], raised: dict[str, Any]) -> None:
    app, api = app_api
    alerts = raised["alerts"]
    first, second = alerts["license_expiring"]["id"], alerts["irr_due"]["id"]
    async with await signed_in(app, "credentialing", "cred@example.org") as browser:
        done = await acknowledge(browser, first, second)
        assert done.status_code == 303 and done.headers["location"] == "/alerts?status=open"
        for alert_id in (first, second):
            alert = (await api.get("/api/v1/alerts", role="manager", params={"status": "acknowledged"})).json()
            row = next(a for a in alert["items"] if a["id"] == alert_id)
            assert row["acknowledged_by"] == "cred@example.org"
        still_open = await browser.get("/alerts", params={"status": "open"})
        assert shown(still_open.text) == {alerts["license_expired"]["id"]}

    async with await signed_in(app, "manager", "boss@example.org") as other:
        again = await acknowledge(other, first)
        assert again.status_code == 303, "acknowledging an acknowledged alert is harmless, as in the API"
    items = (await api.get("/api/v1/alerts", role="manager", params={"status": "acknowledged"})).json()["items"]
    assert next(a for a in items if a["id"] == first)["acknowledged_by"] == "cred@example.org", "the first one stays"
    audited = (
        await AuditEvent.select().where((AuditEvent.entity == "alert") & (AuditEvent.action == "acknowledge")).run()
    )
    assert sorted(str(e["entity_id"]) for e in audited) == sorted([first, second]), "audited once each"


async def test_bad_acknowledgements_write_nothing(app_api: tuple[Litestar, Api], raised: dict[str, Any]) -> None:
    app, api = app_api
    open_id = raised["alerts"]["license_expired"]["id"]
    async with await signed_in(app, "credentialing") as browser:
        nothing = await acknowledge(browser)
        assert nothing.status_code == 422 and "choose at least one alert" in nothing.text
        garbage = await acknowledge(browser, open_id, "not-a-uuid")
        assert garbage.status_code == 422 and 'id="e-alert"' in garbage.text
        unknown = await acknowledge(browser, open_id, "00000000-0000-4000-8000-000000000000")
        assert unknown.status_code == 404 and "no alert 00000000-0000-4000-8000-000000000000" in unknown.text
        forged = await browser.post("/alerts/acknowledge", data={"alert": open_id, "next": "/alerts"})
        assert forged.status_code == 403
        off_site = await acknowledge(browser, open_id, next_="https://evil.example/")
        assert off_site.status_code == 303 and off_site.headers["location"] == "/alerts"
    items = (await api.get("/api/v1/alerts", role="manager", params={"status": "open"})).json()["items"]
    assert len(items) == 2 and open_id not in {a["id"] for a in items}, "only the last (valid) post acknowledged"


async def test_roles(app_api: tuple[Litestar, Api], raised: dict[str, Any]) -> None:
    app, api = app_api
    open_id = raised["alerts"]["irr_due"]["id"]
    async with await signed_in(app, "auditor") as auditor:
        page = await auditor.get("/alerts")
        assert page.status_code == 200 and shown(page.text) and 'type="checkbox"' not in page.text
        assert "Acknowledge selected" not in page.text
        refused = await acknowledge(auditor, open_id)
        assert refused.status_code == 403
    async with await signed_in(app, "router") as router:
        assert (await router.get("/alerts")).status_code == 403
    items = (await api.get("/api/v1/alerts", role="manager", params={"status": "open"})).json()["items"]
    assert open_id in {a["id"] for a in items}
