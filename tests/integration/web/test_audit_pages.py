"""The audit pack and monitoring pages against the JSON API for the same data: the sample drawn, its scores,
the downloads, and every pull recorded with the signed-in user as actor."""

from __future__ import annotations

import csv
import html as markup
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import fastexcel
import pytest
import time_machine
from litestar import Litestar

from roster.audit.tables import AuditEvent
from roster.audits import pages as audit_pages
from roster.reports import pages as report_pages
from tests.conftest import Api
from tests.integration.credentialing.helpers import API, ago, decide, ok, physician, verify, verify_all
from tests.integration.matching.roster import reviewer
from tests.integration.reports.test_monitoring import PERIOD as MONITORING_PERIOD
from tests.integration.reports.test_monitoring import history
from tests.integration.reports.test_um_decisions import T0 as UM_T0
from tests.integration.reports.test_um_decisions import assign as um_assign
from tests.integration.reports.test_um_decisions import close as um_close
from tests.integration.reports.test_um_decisions import rewrite_evidence
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in
from tests.integration.web.test_import_page import table_rows
from tests.integration.web.test_time_report_pages import field_error

PERIOD = {"period_start": ago(60).isoformat(), "period_end": ago(0).isoformat()}
AUDITOR = "auditor@example.org"


@pytest.fixture
async def auditor(app_api: tuple[Litestar, Api]) -> Any:
    async with await signed_in(app_api[0], "auditor") as b:
        yield b


async def files_roster(api: Api) -> dict[str, Any]:
    """Three initial decisions and one recredentialing in the period; ``flawed`` has a late license, a board
    certification from an unaccepted source and no work history."""
    people = {}
    for n in (1, 2):
        doc = await physician(api, n)
        await verify_all(api, doc["id"], ago(40))
        people[f"clean{n}"] = (doc, await decide(api, doc["id"], "initial", ago(30)))
    recred = await physician(api, 3)
    await verify_all(api, recred["id"], ago(40))
    people["recred"] = (recred, await decide(api, recred["id"], "recredentialing", ago(20)))
    flawed = await physician(api, 4, last_name="<b>Flaw</b>")
    await verify_all(api, flawed["id"], ago(40), skip=("license", "board_certification", "work_history"))
    await verify(api, flawed["id"], "license", ago(10) - timedelta(days=121))
    await verify(api, flawed["id"], "board_certification", ago(15), method="nppes", source="NPPES")
    people["flawed"] = (flawed, await decide(api, flawed["id"], "initial", ago(10), decision="deferred"))
    return people


async def pulls(actor: str | None = None) -> list[dict[str, Any]]:
    query = AuditEvent.select().where(AuditEvent.entity == "audit_files")
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    return await query.order_by(AuditEvent.occurred_at).output(load_json=True).run()


def file_rows(page: str) -> list[str]:
    """Each sampled file's row of the page's table (its HTML, between ``<tr ...>`` and ``</tr>``)."""
    table = re.search(r'<table id="files".*?</table>', page, re.S)
    assert table, "no files table"
    return re.findall(r"<tr data-decision=.*?</tr>", table.group(0), re.S)


def decision_of(row: str) -> str:
    found = re.search(r'data-decision="([^"]+)"', row)
    assert found
    return found.group(1)


def download_link(page: str, link_id: str) -> str:
    found = re.search(rf'<a href="([^"]+)" id="{link_id}"', page)
    assert found, f"no link {link_id}"
    return markup.unescape(found.group(1))


async def test_the_page_shows_the_sample_scored_as_the_api_and_records_the_pull(
    auditor: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    people = await files_roster(api)
    body = await ok(await api.get(f"{API}/audits/files", params={**PERIOD, "seed": 7}, role="auditor"))
    page = await auditor.get("/audits?" + urlencode({**PERIOD, "seed": 7}))
    assert page.status_code == 200, page.text
    assert '<strong id="seed">7</strong>' in page.text
    assert re.search(r'data-kind="initial"><strong>3</strong>', page.text)
    assert re.search(r'data-kind="recredentialing"><strong>1</strong>', page.text)
    rows = file_rows(page.text)
    assert [decision_of(r) for r in rows] == [f["decision_id"] for f in body["sample"]]
    by_decision = dict(zip([decision_of(r) for r in rows], rows, strict=True))
    for item in body["sample"]:
        row = by_decision[item["decision_id"]]
        assert f'href="/physicians/{item["physician_id"]}"' in row
        assert f"<td>{item['kind']}</td>" in row and f"<td>{item['decided_on']}</td>" in row
        failing = {e["element"] for e in item["elements"] if not (e["present"] and e["timely"] and e["source_ok"])}
        marked = set(re.findall(r'<li data-element="([a-z_]+)" class="finding">', row))
        assert marked == failing
        assert ('class="finding"' in row.split(">", 1)[0]) is (not item["passes"])
    flawed = by_decision[people["flawed"][1]["id"]]
    license = re.search(r'<li data-element="license".*?</li>', flawed, re.S)
    assert license and "not timely" in license.group(0) and "not present" not in license.group(0)
    work = re.search(r'<li data-element="work_history".*?</li>', flawed, re.S)
    assert work and "not present" in work.group(0)
    board = re.search(r'<li data-element="board_certification".*?</li>', flawed, re.S)
    assert board and "source not accepted" in board.group(0)
    assert "&lt;b&gt;Flaw&lt;/b&gt;" in flawed and "<b>Flaw" not in flawed, "names render inert"
    [event] = await pulls(AUDITOR)
    after = event["after"]
    assert event["action"] == "pull" and after["seed"] == 7 and after["format"] == "html"
    assert after["files"] == [
        {"physician_id": f["physician_id"], "decision_id": f["decision_id"]} for f in body["sample"]
    ]


async def test_a_page_without_a_seed_shows_the_seed_drawn_and_its_links_keep_it(
    auditor: Browser, app_api: tuple[Litestar, Api]
) -> None:
    _, api = app_api
    await files_roster(api)
    drawn = await auditor.get("/audits?" + urlencode({**PERIOD, "sample": 2}))
    assert drawn.status_code == 303 and await pulls() == [], "the seed is chosen before anything is drawn"
    location = drawn.headers["location"]
    seed = re.search(r"[?&]seed=(\d+)", location)
    assert seed and location.startswith("/audits?") and "sample=2" in location
    page = await auditor.get(location)
    assert page.status_code == 200, page.text
    assert f'<strong id="seed">{seed.group(1)}</strong>' in page.text
    assert f'name="seed" type="number" value="{seed.group(1)}"' in page.text, "kept in the form"
    again_page = await auditor.get(location)
    assert [decision_of(r) for r in file_rows(again_page.text)] == [decision_of(r) for r in file_rows(page.text)]
    again = await ok(
        await api.get(f"{API}/audits/files", params={**PERIOD, "sample": 2, "seed": seed.group(1)}, role="auditor")
    )
    assert [decision_of(r) for r in file_rows(page.text)] == [f["decision_id"] for f in again["sample"]]
    for link_id in ("download-zip", "download-xlsx"):
        assert f"seed={seed.group(1)}" in download_link(page.text, link_id)
    events = await pulls(AUDITOR)
    assert [e["after"]["seed"] for e in events] == [int(seed.group(1))] * 2, "each view is a pull"


async def test_the_form_alone_pulls_nothing(auditor: Browser) -> None:
    page = await auditor.get("/audits")
    assert page.status_code == 200, page.text
    assert 'id="f-period_start"' in page.text and 'id="files"' not in page.text
    assert await pulls() == []


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"period_start": ago(10).isoformat(), "period_end": ago(20).isoformat()}, "period_end", "on or after"),
        ({**PERIOD, "sample": "0"}, "sample", ">= 1"),
        ({**PERIOD, "sample": "many"}, "sample", "int"),
        ({**PERIOD, "seed": "-1"}, "seed", ">= 0"),
        ({**PERIOD, "period_start": "yesterday"}, "period_start", "date"),
        ({"period_start": ago(10).isoformat()}, "period_end", "required"),
    ],
)
async def test_bad_input_is_shown_beside_the_field_and_nothing_is_pulled(
    auditor: Browser, query: dict[str, str], field: str, message: str
) -> None:
    page = await auditor.get("/audits?" + urlencode(query), follow_redirects=True)
    assert page.status_code == 422, page.text
    assert message in field_error(page.text, field)
    assert 'id="files"' not in page.text
    assert await pulls() == []


async def test_the_zip_holds_one_pdf_per_file_and_is_audited_with_the_user(
    auditor: Browser, app_api: tuple[Litestar, Api]
) -> None:
    await files_roster(app_api[1])
    page = await auditor.get("/audits?" + urlencode({**PERIOD, "seed": 3}))
    link = download_link(page.text, "download-zip")
    assert link.startswith("/audits/files.zip?")
    response = await auditor.get(link)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert (
        f"audit-files-{PERIOD['period_start']}-{PERIOD['period_end']}-seed-3.zip"
        in (response.headers["content-disposition"])
    )
    shown = [decision_of(r) for r in file_rows(page.text)]
    with zipfile.ZipFile(io.BytesIO(response.content)) as pack:
        pdfs = [n for n in pack.namelist() if n.endswith(".pdf")]
        assert len(pdfs) == len(shown) == 4
        assert all(pack.read(n).startswith(b"%PDF-") for n in pdfs)
        index = list(csv.DictReader(io.StringIO(pack.read("index.csv").decode())))
    assert list(dict.fromkeys(r["decision_id"] for r in index)) == shown, "the files on screen"
    viewed, downloaded = await pulls(AUDITOR)
    assert (viewed["after"]["format"], downloaded["after"]["format"]) == ("html", "zip")
    assert downloaded["actor"] == AUDITOR and downloaded["after"]["seed"] == 3
    assert downloaded["after"]["files"] == viewed["after"]["files"]


async def test_the_xlsx_opens_with_fastexcel(auditor: Browser, app_api: tuple[Litestar, Api]) -> None:
    _, api = app_api
    await files_roster(api)
    body = await ok(await api.get(f"{API}/audits/files", params={**PERIOD, "seed": 5}, role="auditor"))
    response = await auditor.get("/audits/files.xlsx?" + urlencode({**PERIOD, "seed": 5}))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = fastexcel.read_excel(response.content).load_sheet_by_name("files").to_polars()
    assert sheet.height == sum(len(f["elements"]) for f in body["sample"])
    assert list(dict.fromkeys(sheet["decision_id"].to_list())) == [f["decision_id"] for f in body["sample"]]
    assert "<b>Flaw</b>" in " ".join(sheet["name"].to_list())
    [event] = await pulls(AUDITOR)
    assert event["after"]["format"] == "xlsx"


async def test_a_bad_download_link_is_a_422_page_and_pulls_nothing(auditor: Browser) -> None:
    query = {"period_start": ago(10).isoformat(), "period_end": ago(20).isoformat()}
    for path in ("/audits/files.zip", "/audits/files.xlsx"):
        response = await auditor.get(f"{path}?" + urlencode(query))
        assert response.status_code == 422, response.text
        assert "on or after period_start" in response.text and "text/html" in response.headers["content-type"]
    assert await pulls() == []


async def test_the_sample_is_paged_with_its_seed(
    auditor: Browser, app_api: tuple[Litestar, Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    await files_roster(app_api[1])
    monkeypatch.setattr(audit_pages, "PAGE_FILES", 3)
    first = await auditor.get("/audits?" + urlencode(PERIOD), follow_redirects=True)
    seed = re.search(r'<strong id="seed">(\d+)</strong>', first.text)
    assert seed and len(file_rows(first.text)) == 3
    following = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert following and f"seed={seed.group(1)}" in following.group(1)
    second = await auditor.get("/audits" + markup.unescape(following.group(1)))
    assert second.status_code == 200, second.text
    assert '<th scope="row">4</th>' in second.text and len(file_rows(second.text)) == 1
    assert {decision_of(r) for r in file_rows(first.text)}.isdisjoint(decision_of(r) for r in file_rows(second.text))


async def test_who_may_open_the_audit_pack(app_api: tuple[Litestar, Api], auditor: Browser) -> None:
    app, _ = app_api
    assert 'href="/audits"' in (await auditor.get("/")).text, "in the auditor's navigation"
    async with await signed_in(app, "manager") as manager:
        assert (await manager.get("/audits")).status_code == 200
    for role in ("router", "credentialing"):
        async with await signed_in(app, role) as someone:
            assert 'href="/audits"' not in (await someone.get("/")).text
            for url in ("/audits", "/audits/files.zip?" + urlencode(PERIOD), "/audits/files.xlsx?" + urlencode(PERIOD)):
                assert (await someone.get(url)).status_code == 403, (role, url)
    async with Browser(app) as stranger:
        response = await stranger.get("/audits?" + urlencode(PERIOD))
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/audits")
    assert await pulls() == []


# ------------------------------------------------------------------------------------------ monitoring

APRIL = datetime(2026, 4, 2, 15, tzinfo=UTC)


async def test_monitoring_shows_the_months_and_gaps_of_the_api(app_api: tuple[Litestar, Api]) -> None:
    app, api = app_api
    await history(api)
    with time_machine.travel(APRIL, tick=False):
        body = await ok(await api.get(f"{API}/reports/monitoring", params=MONITORING_PERIOD, role="auditor"))
        async with await signed_in(app, "auditor") as auditor:
            page = await auditor.get("/reports/monitoring?" + urlencode(MONITORING_PERIOD))
            table = await auditor.get("/reports/monitoring.csv?" + urlencode(MONITORING_PERIOD))
            default = await auditor.get("/reports/monitoring")
    assert page.status_code == 200, page.text
    assert f'<strong id="gap-count">{body["gap_count"]}</strong>' in page.text
    months = table_rows(page.text, "months")
    counts = {(m["source"], m["month"]): m["physicians"] for m in body["by_month"]}
    labels = {"oig_leie": "OIG LEIE", "sam": "SAM.gov exclusions", "cms_preclusion": "CMS Preclusion List"}
    assert months == [[labels[s]] + [str(counts.get((s, m), 0)) for m in body["months"]] for s in body["sources"]]
    gaps = table_rows(page.text, "gaps")
    assert [(r[1], r[2]) for r in gaps] == [(labels[g["source"]], g["month"]) for g in body["gaps"]]
    for g in body["gaps"]:
        assert f'href="/physicians/{g["physician_id"]}"' in page.text
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(table.text)))) == body["gap_count"]
    assert default.status_code == 200 and "2025-04-01 through 2026-03-31" in default.text
    assert 'name="period_start" type="date" value="2025-04-01"' in default.text, "the default period filled in"


async def test_monitoring_gaps_are_paged(app_api: tuple[Litestar, Api], monkeypatch: pytest.MonkeyPatch) -> None:
    app, api = app_api
    await history(api)
    monkeypatch.setattr(report_pages, "PAGE_ROWS", 4)
    with time_machine.travel(APRIL, tick=False):
        body = await ok(await api.get(f"{API}/reports/monitoring", params=MONITORING_PERIOD, role="auditor"))
        async with await signed_in(app, "auditor") as auditor:
            seen: list[list[str]] = []
            url: str | None = "/reports/monitoring?" + urlencode(MONITORING_PERIOD)
            while url:
                page = await auditor.get(url)
                assert page.status_code == 200, page.text
                seen += table_rows(page.text, "gaps")
                following = re.search(r'<a href="([^"]+)" rel="next">', page.text)
                url = "/reports/monitoring" + markup.unescape(following.group(1)) if following else None
    assert len(seen) == body["gap_count"] > 4


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"period_start": "2026-03-01", "period_end": "2026-02-01"}, "period_end", "on or after period_start"),
        ({"period_start": "2020-01-01", "period_end": "2026-02-01"}, "period_end", "36 calendar months"),
        ({"period_start": "2026-13-01"}, "period_start", "date"),
    ],
)
async def test_a_bad_monitoring_period_is_shown_beside_it(
    app_api: tuple[Litestar, Api], query: dict[str, str], field: str, message: str
) -> None:
    async with await signed_in(app_api[0], "manager") as manager:
        page = await manager.get("/reports/monitoring?" + urlencode(query))
    assert page.status_code == 422, page.text
    assert message in field_error(page.text, field)


async def test_routers_may_not_read_monitoring(app_api: tuple[Litestar, Api]) -> None:
    async with await signed_in(app_api[0], "router") as router:
        for url in ("/reports/monitoring", "/reports/monitoring.csv"):
            assert (await router.get(url)).status_code == 403, url
    async with Browser(app_api[0]) as stranger:
        assert (await stranger.get("/reports/monitoring")).status_code == 303


# ---------------------------------------------------------------------------------------- UM decisions


async def um_history(api: Api) -> dict[str, Any]:
    """Three cases completed on T0's day: one sound, one whose recorded license had expired, one with none."""
    reviewers = [await reviewer(api, n, max_open_cases=50) for n in (1, 2, 3)]
    with time_machine.travel(UM_T0, tick=False):
        sound = await um_assign(api, reviewers[0], "UM-1")
        lapsed = await um_assign(api, reviewers[1], "UM-2")
        bare = await um_assign(api, reviewers[2], "UM-3")
    expired = {**lapsed["evidence"]["license"], "expires_on": (UM_T0.date() - timedelta(days=1)).isoformat()}
    await rewrite_evidence(lapsed, license=expired)
    await rewrite_evidence(bare, license=None, certifications=[])
    with time_machine.travel(UM_T0 + timedelta(hours=3), tick=False):
        for done in (sound, lapsed, bare):
            await um_close(api, done)
    return {"reviewers": reviewers, "lapsed": lapsed, "bare": bare}


async def test_um_decisions_show_the_share_and_exceptions_of_the_api(app_api: tuple[Litestar, Api]) -> None:
    app, api = app_api
    made = await um_history(api)
    day = {"period_start": UM_T0.date().isoformat(), "period_end": UM_T0.date().isoformat()}
    with time_machine.travel(UM_T0 + timedelta(hours=4), tick=False):
        body = await ok(await api.get(f"{API}/reports/um-decisions", params=day, role="auditor"))
        async with await signed_in(app, "auditor") as auditor:
            page = await auditor.get("/reports/um-decisions?" + urlencode(day))
            table = await auditor.get("/reports/um-decisions.csv?" + urlencode(day))
            default = await auditor.get("/reports/um-decisions")
    assert page.status_code == 200, page.text
    assert (body["completed"], body["eligible"]) == (3, 1)
    assert '<strong id="completed">3</strong>' in page.text and '<strong id="eligible">1</strong>' in page.text
    assert '<strong id="share">33.3%</strong>' in page.text
    rows = table_rows(page.text, "exceptions")
    assert [(r[0], r[1]) for r in rows] == [(e["case_id"], e["assignment_id"]) for e in body["exceptions"]]
    by_case = {r[0]: r for r in rows}
    assert "The license where this case requires one has expired" in by_case["UM-2"][4]
    assert "(license_expired)" in by_case["UM-2"][4]
    assert "(no_license_in_state)" in by_case["UM-3"][4] and "(no_board_certification)" in by_case["UM-3"][4]
    assert f'href="/physicians/{made["lapsed"]["physician_id"]}"' in page.text
    assert by_case["UM-2"][3].endswith((" EST", " EDT")), "assigned in the organization's zone, named"
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert {r["case_id"]: r["reasons"] for r in csv.DictReader(io.StringIO(table.text))} == {
        "UM-2": "license_expired",
        "UM-3": "no_license_in_state;no_board_certification",
    }
    assert default.status_code == 200 and 'id="completed"' in default.text


async def test_um_exceptions_are_paged(app_api: tuple[Litestar, Api], monkeypatch: pytest.MonkeyPatch) -> None:
    app, api = app_api
    await um_history(api)
    monkeypatch.setattr(report_pages, "PAGE_ROWS", 1)
    day = {"period_start": UM_T0.date().isoformat(), "period_end": UM_T0.date().isoformat()}
    with time_machine.travel(UM_T0 + timedelta(hours=4), tick=False):
        body = await ok(await api.get(f"{API}/reports/um-decisions", params=day, role="manager"))
        async with await signed_in(app, "manager") as manager:
            first = await manager.get("/reports/um-decisions?" + urlencode(day))
            following = re.search(r'<a href="([^"]+)" rel="next">', first.text)
            assert following
            second = await manager.get("/reports/um-decisions" + markup.unescape(following.group(1)))
    # Both were assigned at the same instant: the report's order (the API's) breaks the tie.
    paged = [r[0] for page in (first, second) for r in table_rows(page.text, "exceptions")]
    assert paged == [e["case_id"] for e in body["exceptions"]] and sorted(paged) == ["UM-2", "UM-3"]
    assert 'rel="next"' not in second.text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"period_start": "2027-02-01", "period_end": "2027-01-01"}, "period_end", "on or after period_start"),
        ({"period_start": "2025-01-01", "period_end": "2027-01-01"}, "period_end", "366 days"),
        ({"period_start": "yesterday"}, "period_start", "date"),
        ({"cursor": "not-a-cursor"}, "cursor", "cursor"),
    ],
)
async def test_a_bad_um_decisions_filter_is_shown_beside_it(
    app_api: tuple[Litestar, Api], query: dict[str, str], field: str, message: str
) -> None:
    async with await signed_in(app_api[0], "manager") as manager:
        page = await manager.get("/reports/um-decisions?" + urlencode(query))
    assert page.status_code == 422, page.text
    if field == "cursor":
        assert re.search(r'class="form-error" role="alert">Page link: [^<]*cursor', page.text)
    else:
        assert message in field_error(page.text, field)


async def test_routers_may_not_read_um_decisions(app_api: tuple[Litestar, Api]) -> None:
    async with await signed_in(app_api[0], "router") as router:
        assert 'href="/reports/um-decisions"' not in (await router.get("/")).text
        for url in ("/reports/um-decisions", "/reports/um-decisions.csv"):
            assert (await router.get(url)).status_code == 403, url
    async with Browser(app_api[0]) as stranger:
        response = await stranger.get("/reports/um-decisions")
        assert response.status_code == 303 and response.headers["location"] == "/login?next=/reports/um-decisions"
