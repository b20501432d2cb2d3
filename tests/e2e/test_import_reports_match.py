"""Import (a bad file, then a good one), both reports, and trying a case, in a real Chromium."""

from __future__ import annotations

import re
from typing import Any

from roster.physicians.npi import check_digit
from tests.e2e.conftest import DemoServer, assert_accessible, shot, sign_in
from tests.integration.imports import roster_files as files


def npi(n: int) -> str:
    """NPIs of this module's own physicians (the demo roster's are other numbers)."""
    first_nine = f"17770{n:04d}"
    return first_nine + check_digit(first_nine)


def roster_csv(*, bad: bool) -> bytes:
    rows: list[dict[str, Any]] = []
    for n in (1, 2):
        rows += [
            files.physician(n, npi=npi(n), last_name=f"Importe{n}", email=f"importe{n}@example.org"),
            files.license(n, npi=npi(n), number=f"E2E{n:04d}"),
            files.certification(n, npi=npi(n)),
        ]
    if bad:
        rows[3]["date_of_birth"] = "31/12/1970"  # spreadsheet row 5
    return files.csv_bytes(rows)


def upload(page: Any, name: str, data: bytes) -> None:
    page.goto("/imports")
    page.get_by_label(re.compile("Roster file")).set_input_files({"name": name, "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()


def test_import_a_bad_file_then_a_good_one(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "credentialing")
    page.goto("/imports")
    assert_accessible(page)
    with demo_server.api() as api:
        assert api.get(f"/physicians/npi/{npi(1)}").status_code == 404

        upload(page, "bad.csv", roster_csv(bad=True))
        table = page.locator("#row-errors")
        assert table.is_visible()
        cells = table.locator("tbody tr").first.locator("td").all_inner_texts()
        assert cells[:2] == ["5", "date_of_birth"] and cells[2]
        assert page.get_by_role("alert").is_visible()
        assert_accessible(page)
        assert api.get(f"/physicians/npi/{npi(1)}").status_code == 404, "a file with errors writes nothing"

        upload(page, "good.csv", roster_csv(bad=False))
        assert page.get_by_role("heading", name="Preview of good.csv").is_visible()
        assert api.get(f"/physicians/npi/{npi(1)}").status_code == 404, "a preview writes nothing"
        page.get_by_role("button", name="Load").click()
        page.get_by_role("heading", name="Loaded good.csv").wait_for()
        assert_accessible(page)
        shot(page, "import")
        loaded = api.get(f"/physicians/npi/{npi(2)}")
        assert loaded.status_code == 200 and loaded.json()["last_name"] == "Importe2"
        audit = api.get("/audit", params={"entity": "physician", "entity_id": loaded.json()["id"]}).json()
        email, _ = demo_server.users["credentialing"]
        assert email in {e["actor"] for e in audit["items"]}


def test_the_reports(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "credentialing")
    page.goto("/reports/expirations")
    assert page.get_by_role("heading", level=1, name="Expirations").is_visible()
    assert page.get_by_role("img", name=re.compile("Items lapsing per week")).is_visible()
    assert page.locator("#weeks tbody tr").count() == 90 // 7 + 2
    assert_accessible(page)
    shot(page, "expirations")
    page.get_by_label("Lapsing within (days)").fill("30")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"within_days=30"))
    assert page.locator("#weeks tbody tr").count() == 30 // 7 + 2

    sign_in(page, demo_server, "manager")
    page.goto("/reports/coverage?line_of_business=commercial")
    assert page.get_by_role("heading", name=re.compile(r"^Now")).is_visible()
    assert page.get_by_role("heading", name=re.compile(r"^At the horizon")).is_visible()
    assert_accessible(page)
    shot(page, "coverage")
    cell = page.locator("#heat-now td a").filter(has_text=re.compile(r"^[1-9]\d*$")).first
    count = int(cell.inner_text())
    cell.click()
    page.get_by_role("heading", name=re.compile("Eligible reviewers")).wait_for()
    assert page.locator("#reviewers tbody tr").count() == count


def shown_ineligible(page: Any) -> list[str]:
    links = page.locator("#ineligible tbody tr td:first-child a")
    return [href.rsplit("/", 1)[1] for href in links.evaluate_all("(as) => as.map(a => a.getAttribute('href'))")]


def test_a_router_tries_a_case_and_cannot_import(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "router")
    page.goto("/match")
    assert_accessible(page)
    page.get_by_label("State").select_option("TX")
    page.get_by_label("Line of business").select_option("commercial")
    page.get_by_label("Specialty").select_option("internal_medicine")
    page.get_by_label("Review type").select_option("initial")
    page.get_by_role("button", name="Match").click()
    page.get_by_role("heading", name="Not eligible").wait_for()
    with demo_server.api("router") as api:
        body = {"state": "TX", "line_of_business": "commercial", "specialty": "internal_medicine"}
        expected = api.post("/match", json={**body, "review_type": "initial", "explain": True}).json()
    assert page.locator("#eligible tbody tr").count() == len(expected["eligible"])
    ineligible = [r["physician_id"] for r in expected["ineligible"]]
    assert len(ineligible) > 50, "the demo roster fills more than one page"
    assert shown_ineligible(page) == ineligible[:50]
    first = page.locator("#ineligible ul.reasons li").first.inner_text()
    assert not re.fullmatch(r"[a-z_]+", first.split(" (")[0]), "reasons in words, not codes"
    assert_accessible(page)
    shot(page, "match")

    # The next page of ineligible reviewers answers the same case: it is kept in the link.
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url(re.compile(r"/match\?.*state=TX.*cursor="))
    assert page.get_by_label("State").input_value() == "TX"
    assert shown_ineligible(page) == ineligible[50:100]
    assert page.locator("#eligible tbody tr").count() == len(expected["eligible"])
    page.get_by_role("link", name="First page").click()
    page.wait_for_url(re.compile(r"/match\?(?!.*cursor=)"))
    assert shown_ineligible(page) == ineligible[:50]

    page.get_by_label("State").select_option("AZ")
    page.get_by_label("Reviewers to rank").fill("0")
    page.get_by_label("Reviewers to rank").evaluate("el => el.removeAttribute('min')")
    page.get_by_role("button", name="Match").click()
    assert page.locator("#e-limit").is_visible()

    response = page.goto("/imports")
    assert response.status == 403
    assert page.get_by_role("heading", level=1, name="Not allowed").is_visible()
