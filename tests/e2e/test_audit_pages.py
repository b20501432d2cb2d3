"""The audit pack in a real Chromium: an auditor draws a sample of the demo's credentialing files for a period,
reads the seed, and downloads the pack (one PDF per file on screen)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from roster.compliance.dates import add_months
from tests import factories
from tests.e2e.conftest import DemoServer, assert_accessible, shot, sign_in

#: The longest period the pack allows, ending today: the demo's decisions fall in it.
PERIOD_START = add_months(factories.TODAY.replace(day=1), -35)


def test_an_auditor_draws_a_sample_and_downloads_the_pack(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "auditor")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Audit pack").click()
    page.wait_for_url("**/audits")
    form = page.get_by_role("form", name="Audit sample")
    form.get_by_label("Period start").fill(PERIOD_START.isoformat())
    form.get_by_label("Period end").fill(factories.TODAY.isoformat())
    form.get_by_label("Sample size").fill("4")
    form.get_by_role("button", name="Draw the sample").click()
    page.wait_for_url(re.compile(r"/audits\?period_start="))
    seed = page.locator("#seed").inner_text()
    assert seed.isdigit()
    rows = page.locator("#files tbody > tr")
    assert rows.count() == 4
    assert int(page.locator("#population article").first.locator("strong").inner_text()) >= 4
    assert_accessible(page)
    shot(page, "audit-pack")

    link = page.locator("#download-zip")
    assert f"seed={seed}" in (link.get_attribute("href") or "")
    with page.expect_download() as download:
        link.click()
    saved = download.value
    assert saved.suggested_filename.endswith(f"-seed-{seed}.zip")
    with zipfile.ZipFile(io.BytesIO(saved.path().read_bytes())) as pack:
        pdfs = [n for n in pack.namelist() if n.endswith(".pdf")]
        assert "index.html" in pack.namelist() and len(pdfs) == 4
        assert all(pack.read(n).startswith(b"%PDF-") for n in pdfs)
    # The same seed and period draw the same files again.
    page.reload()
    assert page.locator("#seed").inner_text() == seed
    npis = [n.split("-")[1] for n in sorted(pdfs)]
    shown = [rows.nth(i).locator("td").first.inner_text() for i in range(4)]
    assert all(npi in text for npi, text in zip(npis, shown, strict=True))


def test_a_manager_reads_monitoring_and_um_decisions(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "manager")
    nav = page.get_by_role("navigation", name="Workspace")
    nav.get_by_role("link", name="Monitoring").click()
    page.wait_for_url("**/reports/monitoring")
    assert page.locator("#months tbody tr").count() == 3, "one row per required list"
    assert page.locator("#gap-count").inner_text().isdigit()
    assert_accessible(page)
    shot(page, "report-monitoring")
    nav.get_by_role("link", name="UM decisions").click()
    page.wait_for_url("**/reports/um-decisions")
    assert page.locator("#completed").inner_text().isdigit()
    page.get_by_label("Period start").fill("2026-02-01")
    page.get_by_label("Period end").fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    assert page.locator("#e-period_end").inner_text() == "must be on or after period_start"
    assert_accessible(page)
    shot(page, "report-um-decisions")
