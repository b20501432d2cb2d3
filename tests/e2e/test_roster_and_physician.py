"""The roster and a physician's page in a real Chromium: search, open, add a license (a bad date, then a
good one), with axe-core on both pages."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

from roster.physicians.npi import check_digit
from tests import factories
from tests.e2e.conftest import DemoServer, assert_accessible, shot, sign_in


def npi(n: int) -> str:
    """NPIs of this module's own physicians (the demo roster's are other numbers)."""
    first_nine = f"17880{n:04d}"
    return first_nine + check_digit(first_nine)


def own_physician(demo_server: DemoServer, n: int) -> dict[str, Any]:
    """A physician of this test's own, with only an expired license (so adding one changes the checklist)."""
    with demo_server.api() as api:
        found = api.get(f"/physicians/npi/{npi(n)}")
        if found.status_code == 200:
            return found.json()
        body = factories.physician(n, npi=npi(n), last_name=f"Browserova{n}", first_name="Erin")
        created = api.post("/physicians", json=body)
        assert created.status_code == 201, created.text
        physician = created.json()
        expired = factories.license(
            number=f"EXP{n}", issued_on="2010-01-01", expires_on=(factories.TODAY - timedelta(days=2)).isoformat()
        )
        assert api.post(f"/physicians/{physician['id']}/licenses", json=expired).status_code == 201
        return physician


def license_badge(page: Any) -> str:
    return page.locator('#checklist tr[data-check="license"] .badge').inner_text()


def test_search_the_roster_open_a_physician_and_add_a_license(page: Any, demo_server: DemoServer) -> None:
    physician = own_physician(demo_server, 1)
    sign_in(page, demo_server, "credentialing")
    page.goto("/roster")
    assert page.locator("#roster tbody tr").count() > 0
    assert_accessible(page)
    shot(page, "roster")

    page.get_by_label("Name or NPI").fill("Browserova1")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"/roster\?q=Browserova1"))
    rows = page.locator("#roster tbody tr")
    assert rows.count() == 1
    assert "fails" in rows.first.inner_text()
    rows.first.get_by_role("link", name=re.compile("Browserova1")).click()
    page.wait_for_url(f"**/physicians/{physician['id']}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Erin")
    assert license_badge(page) == "fails"
    assert_accessible(page)

    page.locator("#add-license summary").click()
    form = page.get_by_role("form", name="Add a license")
    form.get_by_label("State").fill("CA")
    form.get_by_label("License number").fill("E2E777")
    form.get_by_label("Issued on").fill("2015-01-01")
    form.get_by_label("Expires on").fill("2014-01-01")  # before it was issued
    form.get_by_role("button", name="Add license").click()
    page.wait_for_load_state()
    error = page.locator("#e-lic-expires_on")
    assert error.inner_text() == "must be after issued_on"
    assert page.locator("#f-lic-expires_on").get_attribute("aria-invalid") == "true"
    assert license_badge(page) == "fails", "nothing was written"
    assert_accessible(page)
    shot(page, "physician-license-error")

    form = page.get_by_role("form", name="Add a license")
    form.get_by_label("Expires on").fill((factories.TODAY + timedelta(days=700)).isoformat())
    form.get_by_role("button", name="Add license").click()
    page.wait_for_url(f"**/physicians/{physician['id']}")
    assert license_badge(page) in ("ok",) or license_badge(page).startswith("until")
    assert page.locator("#licenses").get_by_text("E2E777").is_visible()
    assert_accessible(page)
    shot(page, "physician")


def test_a_router_sees_the_physician_without_forms(page: Any, demo_server: DemoServer) -> None:
    physician = own_physician(demo_server, 2)
    sign_in(page, demo_server, "router")
    page.goto(f"/physicians/{physician['id']}")
    assert page.locator("#checklist").is_visible()
    assert page.locator("#add-license").count() == 0
    page.goto(f"/physicians/{physician['id']}?as_of=1800-01-01")
    assert "must be between" in page.locator("#e-as_of").inner_text()
    assert_accessible(page)


def test_filter_the_roster_by_standing_sort_it_by_next_expiry_and_export_it(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "credentialing")
    at_risk = int(page.locator("#count-at-risk strong").inner_text())
    assert at_risk > 0, "the demo roster has physicians at risk"
    page.goto("/roster")
    page.get_by_label("Compliance").select_option("at_risk")
    page.get_by_label("Sort by").select_option("expiry")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"/roster\?.*compliance=at_risk&sort=expiry"))
    assert page.get_by_label("Compliance").input_value() == "at_risk"
    rows = page.locator("#roster tbody tr")
    assert rows.count() == min(at_risk, 50), "the home page's count, listed"
    ends = page.locator("#roster td.next-expiry time").evaluate_all("(ts) => ts.map(t => t.dateTime)")
    horizon = (factories.TODAY + timedelta(days=90)).isoformat()
    assert len(ends) == rows.count() and ends == sorted(ends) and ends[-1] <= horizon, ends
    npis = set(page.locator("#roster tbody tr td:nth-child(2)").all_inner_texts())
    assert_accessible(page)
    shot(page, "roster-at-risk-by-expiry")

    link = page.locator("#export-csv")
    assert link.get_attribute("href") == "/roster/export?compliance=at_risk&sort=expiry&format=csv"
    with page.expect_download() as download:
        link.click()
    text = download.value.path().read_text()
    exported = {row["npi"] for row in csv.DictReader(io.StringIO(text))}
    if at_risk <= 50:
        assert exported == npis
    assert len(exported) == at_risk

    page.goto("/roster?compliance=saintly")
    assert "unknown standing" in page.locator("#e-compliance").inner_text()
    assert page.get_by_label("Compliance").get_attribute("aria-invalid") == "true"


def test_emptying_an_optional_field_in_the_edit_form_clears_it(page: Any, demo_server: DemoServer) -> None:
    physician = own_physician(demo_server, 3)
    with demo_server.api() as api:
        verified = factories.license(
            number="E2ECLR3",
            verified_on=(factories.TODAY - timedelta(days=30)).isoformat(),
            verification_source="CA Medical Board",
        )
        created = api.post(f"/physicians/{physician['id']}/licenses", json=verified)
        assert created.status_code == 201, created.text
        license_id = created.json()["id"]
    sign_in(page, demo_server, "credentialing")
    page.goto(f"/physicians/{physician['id']}")
    row = page.locator("#licenses tr", has_text="E2ECLR3")
    assert "CA Medical Board" in row.inner_text()
    row.get_by_role("link", name=re.compile("Edit license")).click()
    page.wait_for_url(f"**/licenses/{license_id}/edit")
    form = page.get_by_role("form", name="Edit license")
    assert form.get_by_label("Verification source").input_value() == "CA Medical Board"
    form.get_by_label("Verified on").fill("")
    form.get_by_label("Verification source").fill("")
    assert_accessible(page)
    form.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/physicians/{physician['id']}")
    row = page.locator("#licenses tr", has_text="E2ECLR3")
    assert "CA Medical Board" not in row.inner_text()
    with demo_server.api() as api:
        stored = api.get(f"/licenses/{license_id}").json()
    assert stored["verified_on"] is None and stored["verification_source"] is None, stored
