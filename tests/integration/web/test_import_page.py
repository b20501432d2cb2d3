"""The import page: preview (dry run) with the per-row error table, then load; limits, CSRF, roles."""

from __future__ import annotations

import html as markup
import re
from dataclasses import replace

import pytest
from litestar import Litestar

from roster.audit.tables import AuditEvent
from roster.config import PROJECT_ROOT, Settings
from roster.physicians.tables import Physician
from tests.conftest import Api
from tests.integration.imports import roster_files as files
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in

TEMPLATES = PROJECT_ROOT / "fixtures" / "templates"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIMIT = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, max_roster_file_bytes=LIMIT)


async def preview(browser: Browser, data: bytes, name: str = "roster.csv", *, token: str | None = "") -> object:
    fields = {} if token is None else {"_csrf_token": token or await browser.csrf("/imports")}
    mime = XLSX if name.endswith(".xlsx") else "text/csv"
    return await browser.post("/imports", data=fields, files={"file": (name, data, mime)})


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


def table_rows(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, f"no table {table_id}"
    body = table.group(0).split("<tbody>", 1)[1]
    return [
        [
            markup.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


async def test_the_page_has_a_labelled_upload_form_and_template_links(browser: Browser) -> None:
    page = await browser.get("/imports")
    assert page.status_code == 200
    html = page.text
    assert '<form method="post" action="/imports" enctype="multipart/form-data">' in html
    assert '<label for="f-file">' in html and 'id="f-file" name="file" type="file"' in html
    assert html.index('name="_csrf_token"') < html.index('name="file"'), "the token comes before the file part"
    for name in ("roster_template.csv", "roster_template.xlsx"):
        assert f'href="/imports/{name}"' in html
        download = await browser.get(f"/imports/{name}")
        assert download.status_code == 200 and download.content == (TEMPLATES / name).read_bytes()
        assert name in download.headers["content-disposition"]


async def test_a_bad_row_is_shown_by_row_and_column_and_nothing_is_written_then_a_good_file_loads(
    browser: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    rows = files.roster_rows(2)
    rows[3]["date_of_birth"] = "17/05/1970"  # the second physician's row: spreadsheet row 5
    before = await Physician.count().run()
    page = await preview(browser, files.csv_bytes(rows))
    assert page.status_code == 422, page.text
    assert "nothing was imported" in page.text
    errors = table_rows(page.text, "row-errors")
    assert ["5", "date_of_birth"] == errors[0][:2] and errors[0][2], errors
    api_errors = (
        await api.post(
            "/api/v1/imports/roster?dry_run=true",
            role="credentialing",
            files={"file": ("roster.csv", files.csv_bytes(rows), "text/csv")},
        )
    ).json()["errors"]
    assert [[str(e["row"]), e["column"], e["message"]] for e in api_errors] == errors, "the API's own errors"
    assert await Physician.count().run() == before == 0

    good = files.csv_bytes(files.roster_rows(2))
    page = await preview(browser, good)
    assert page.status_code == 200, page.text
    assert "Nothing has been written yet" in page.text
    assert table_rows(page.text, "changes")[0] == ["Physicians", "2", "2", "0", "0"]
    assert await Physician.count().run() == 0, "a preview writes nothing"

    token = hidden(page.text, "_csrf_token")
    form = {"_csrf_token": token, "sha256": hidden(page.text, "sha256"), "file_name": hidden(page.text, "file_name")}
    loaded = await browser.post("/imports/load", data=form)
    assert loaded.status_code == 200, loaded.text
    assert "Loaded roster.csv" in loaded.text
    assert table_rows(loaded.text, "changes")[1] == ["Licenses", "2", "2", "0", "0"]
    assert await Physician.count().run() == 2
    actors = await AuditEvent.select(AuditEvent.actor).where(AuditEvent.entity == "physician").run()
    assert {a["actor"] for a in actors} == {"credentialing@example.org"}

    again = await browser.post("/imports/load", data=form)
    assert again.status_code == 409 and "Upload the file again" in again.text, "a preview loads once"
    assert await Physician.count().run() == 2


async def test_an_xlsx_file_previews_and_loads(browser: Browser) -> None:
    page = await preview(browser, (TEMPLATES / "roster_template.xlsx").read_bytes(), "roster_template.xlsx")
    assert page.status_code == 200, page.text
    form = {k: hidden(page.text, k) for k in ("_csrf_token", "sha256", "file_name")}
    assert form["file_name"] == "roster_template.xlsx"
    assert (await browser.post("/imports/load", data=form)).status_code == 200
    assert await Physician.count().run() == 3


async def test_a_load_must_name_a_previewed_file(browser: Browser) -> None:
    token = await browser.csrf("/imports")
    bad = await browser.post("/imports/load", data={"_csrf_token": token, "sha256": "../../etc/passwd"})
    assert bad.status_code == 422
    unknown = await browser.post("/imports/load", data={"_csrf_token": token, "sha256": "a" * 64, "file_name": "x.csv"})
    assert unknown.status_code == 409
    assert await Physician.count().run() == 0


async def test_too_large_is_413_and_empty_or_wrong_type_is_422_on_the_page(browser: Browser) -> None:
    big = await preview(browser, b"x" * (LIMIT + 1))
    assert big.status_code == 413, big.text
    assert "larger than this endpoint&#39;s limit" in big.text and 'role="alert"' in big.text
    empty = await preview(browser, b"")
    assert empty.status_code == 422 and "the file is empty" in empty.text
    png = await preview(browser, b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "photo.png")
    assert png.status_code == 422 and "row-errors" in png.text
    no_file = await browser.post(
        "/imports", data={"_csrf_token": await browser.csrf("/imports")}, files={"other": ("a", b"a")}
    )
    assert no_file.status_code == 422
    assert await Physician.count().run() == 0


async def test_an_upload_without_the_csrf_token_is_refused(browser: Browser) -> None:
    data = files.csv_bytes(files.roster_rows(1))
    missing = await preview(browser, data, token=None)
    assert missing.status_code == 403
    wrong = await preview(browser, data, token="x" * 43)
    assert wrong.status_code == 403
    load = await browser.post("/imports/load", data={"sha256": "a" * 64})
    assert load.status_code == 403
    # htmx sends the header instead of the field
    token = await browser.csrf("/imports")
    by_header = await browser.post(
        "/imports", headers={"x-csrf-token": token}, files={"file": ("roster.csv", data, "text/csv")}
    )
    assert by_header.status_code == 200, by_header.text
    assert await Physician.count().run() == 0


async def test_a_router_and_an_auditor_cannot_open_the_import_page(app_api: tuple[Litestar, Api]) -> None:
    for role in ("router", "auditor"):
        async with await signed_in(app_api[0], role) as other:
            page = await other.get("/imports")
            assert page.status_code == 403 and "does not open this page" in page.text
            assert (await other.get("/imports/roster_template.csv")).status_code == 403


async def test_a_script_in_a_cell_is_shown_inert(browser: Browser) -> None:
    rows = files.roster_rows(1)
    rows[0]["last_name"] = "<script>alert(1)</script>"
    rows[0]["npi"] = "<script>alert(1)</script>"
    page = await preview(browser, files.csv_bytes(rows))
    assert page.status_code == 422
    assert "<script>alert(1)</script>" not in page.text
