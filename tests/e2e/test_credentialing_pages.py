"""The credentialing file and policy updates in a real Chromium: a verification recorded with a PDF, a
decision judged late with its late element listed, and an attestation recorded on a demo policy update."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from roster.physicians.npi import check_digit
from tests import factories
from tests.e2e.conftest import DemoServer, assert_accessible, shot, sign_in

TODAY = factories.TODAY
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
#: The demo's update past its attest-by date, which some reviewers have not attested.
OVERDUE_UPDATE = "Oncology drug coverage policy: 2nd-line immunotherapy criteria"


def own_physician(demo_server: DemoServer, n: int) -> dict[str, Any]:
    """A physician of this module's own (NPIs 17990xxxx), so the demo's files are left as they are."""
    first_nine = f"17990{n:04d}"
    npi = first_nine + check_digit(first_nine)
    with demo_server.api() as api:
        found = api.get(f"/physicians/npi/{npi}")
        if found.status_code == 200:
            return found.json()
        created = api.post("/physicians", json=factories.physician(n, npi=npi, last_name=f"Filewright{n}"))
        assert created.status_code == 201, created.text
        return created.json()


def test_record_a_verification_with_a_pdf(page: Any, demo_server: DemoServer) -> None:
    doc = own_physician(demo_server, 1)
    sign_in(page, demo_server, "credentialing")
    page.goto(f"/physicians/{doc['id']}")
    page.get_by_role("link", name="Credentialing file").click()
    page.wait_for_url(f"**/physicians/{doc['id']}/file")
    page.locator("#add-verification summary").click()
    form = page.get_by_role("form", name="Record a verification")
    form.get_by_label("Element").select_option("malpractice_history")
    form.get_by_role("textbox", name=re.compile("^Source")).fill("NPDB query")
    form.get_by_label("Method").select_option("npdb")
    form.get_by_label("Verified on").fill((TODAY - timedelta(days=3)).isoformat())
    form.get_by_label(re.compile("Evidence file")).set_input_files(
        files=[{"name": "npdb.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    form.get_by_role("button", name="Record verification").click()
    page.wait_for_url(f"**/physicians/{doc['id']}/file#h-ver")
    group = page.locator('tbody[data-element="malpractice_history"]')
    assert "NPDB query" in group.inner_text()
    link = group.get_by_role("link", name=re.compile("evidence for malpractice history"))
    downloaded = page.request.get(link.get_attribute("href"))
    assert downloaded.status == 200 and downloaded.body() == PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    assert_accessible(page)
    shot(page, "credentialing-file")


def test_record_a_decision_and_see_it_judged_late(page: Any, demo_server: DemoServer) -> None:
    doc = own_physician(demo_server, 2)
    with demo_server.api("credentialing") as api:
        for element in ("license", "board_certification", "work_history", "malpractice_history", "education"):
            body = {
                "element": element,
                "source": "Arizona Medical Board",
                "method": "primary_source",
                "verified_on": (TODAY - timedelta(days=10)).isoformat(),
                "outcome": "verified",
            }
            assert api.post(f"/physicians/{doc['id']}/verifications", json=body).status_code == 201
    sign_in(page, demo_server, "credentialing")
    page.goto(f"/physicians/{doc['id']}/file")
    page.locator("#add-decision summary").click()
    form = page.get_by_role("form", name="Record a decision")
    form.get_by_label("Kind").select_option("initial")
    form.get_by_label("Committee date").fill((TODAY + timedelta(days=1)).isoformat())
    form.get_by_role("button", name="Record decision").click()
    assert page.locator("#e-dec-decided_on").inner_text() == "is in the future"
    page.get_by_label("Committee date").fill((TODAY - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(re.compile(r"/file\?decided="))
    result = page.locator("#decision-result").inner_text()
    assert "late" in result and "sanctions" in result and "attestation" in result and "license" not in result
    row = page.locator("#decisions tbody tr").first
    assert "late" in row.inner_text() and "sanctions: not verified" in row.inner_text()
    assert_accessible(page)


def test_attest_a_policy_update(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "credentialing")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Policy updates").click()
    page.wait_for_url("**/policy-updates")
    page.get_by_role("link", name=OVERDUE_UPDATE).click()
    page.wait_for_url(re.compile(r"/policy-updates/[0-9a-f-]{36}$"))
    overdue = page.locator("#roll tbody tr.overdue")
    assert overdue.count() > 0 and "overdue" in overdue.first.inner_text()
    outstanding = int(page.locator("#count-outstanding").inner_text().split()[0])
    picker = page.get_by_label("Physician")
    chosen = picker.locator("option").first.get_attribute("value")
    picker.select_option(chosen)
    page.get_by_label("Attested on").fill(TODAY.isoformat())
    page.get_by_role("button", name="Record attestation").click()
    page.wait_for_url(re.compile(r"\?show=attested$"))
    assert page.locator(f'#roll tr[data-physician="{chosen}"]').count() == 1
    assert int(page.locator("#count-outstanding").inner_text().split()[0]) == outstanding - 1
    assert_accessible(page)
    shot(page, "policy-update")
