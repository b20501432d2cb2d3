"""The hit review queue (``/hits``) through the app, against the screening API for the same data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar

from roster.config import Settings
from tests.conftest import Api, TempDatabase
from tests.integration.screening.test_routes import FILLER, checks, leie_file, leie_row, physician, upload
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in

SCRIPT = "<script>alert(1)</script>"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    """Screening counts here: the lists are required, so a decided hit changes compliance."""
    return migrated.settings()


@pytest.fixture
async def screened(app_api: tuple[Litestar, Api]) -> dict[str, Any]:
    """Three pending LEIE hits: a name + DOB match, an NPI match on a physician named like a script, and a
    second name + DOB match."""
    _, api = app_api
    quill = await physician(api, 1, first_name="Robert", last_name="Quill", date_of_birth="1971-04-02")
    script = await physician(api, 2, first_name="Pat", last_name=SCRIPT)
    stone = await physician(api, 3, first_name="Mary", last_name="Stone", date_of_birth="1965-10-20")
    rows = (
        leie_row("QUILL", "ROBERT", dob="19710402"),
        leie_row("LISTED", "PAT", npi=script["npi"]),
        leie_row("STONE", "MARY", dob="19651020"),
    )
    assert (await upload(api, leie_file(*FILLER, *rows))).status_code == 201
    assert (await api.post("/api/v1/screening/runs", json={})).status_code == 201
    hits = (await api.get("/api/v1/screening/hits", params={"status": "pending"})).json()["items"]
    by_physician = {h["physician_id"]: h for h in hits}
    assert len(hits) == 3
    return {
        "quill": (quill, by_physician[quill["id"]]),
        "script": (script, by_physician[script["id"]]),
        "stone": (stone, by_physician[stone["id"]]),
    }


def row_of(html: str, hit_id: str) -> str:
    match = re.search(rf'<tr id="hit-{hit_id}".*?\n</tr>', html, re.S)
    assert match, f"no row for hit {hit_id}"
    return match.group(0)


async def decide(browser: Browser, hit_id: str, headers: dict[str, str] | None = None, **fields: str) -> Any:
    data = {"_csrf_token": await browser.csrf("/hits"), "next": "/hits?status=pending", **fields}
    return await browser.post(f"/hits/{hit_id}/decision", data=data, headers=headers or {})


async def test_the_queue_shows_each_physician_beside_the_list_row(browser: Browser, screened: dict[str, Any]) -> None:
    page = await browser.get("/hits")
    assert page.status_code == 200, page.text
    html = page.text
    quill, hit = screened["quill"]
    row = row_of(html, hit["id"])
    assert "Robert Quill" in row and f'href="/physicians/{quill["id"]}"' in row
    assert "name + dob" in row and f"{hit['score']:.2f}" in row
    # Side by side, the agreeing fields marked on both sides, with how they compared in words.
    dob = re.search(r'<tr class="ev-agree" data-field="dob">(.*?)</tr>', row, re.S)
    assert dob and "<mark>1971-04-02</mark>" in dob.group(1) and "<mark>19710402</mark>" in dob.group(1)
    assert re.search(r'<tr class="ev-agree" data-field="last_name">.*?<mark>QUILL</mark>', row, re.S)
    npi_row = row_of(html, screened["script"][1]["id"])
    assert re.search(r'data-field="npi">.*?<mark>' + screened["script"][0]["npi"], npi_row, re.S)
    # Keyboard-first: rows to move among, c and d open a form (never decide on their own).
    assert "data-keynav" in html and html.count("data-keyrow") == 3
    assert 'data-key="c"' in row and 'data-key="d"' in row and "<textarea" not in row
    # The script-named physician is text.
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_filters_and_pages(browser: Browser, screened: dict[str, Any]) -> None:
    first = await browser.get("/hits", params={"limit": "2"})
    assert first.status_code == 200 and first.text.count("data-keyrow") == 2
    link = re.search(r'<a href="(\?[^"]*cursor=[^"]+)" rel="next">Next page</a>', first.text)
    assert link, "a next-page link keeping the filters"
    second = await browser.get("/hits" + link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and second.text.count("data-keyrow") == 1
    shown = set(re.findall(r'<tr id="hit-([0-9a-f-]+)"', first.text + second.text))
    assert shown == {h["id"] for _, h in screened.values()}

    sam = await browser.get("/hits", params={"source": "sam"})
    assert sam.status_code == 200 and "data-keyrow" not in sam.text and 'id="no-hits"' in sam.text
    decided = await browser.get("/hits", params={"status": "decided"})
    assert decided.status_code == 200 and "data-keyrow" not in decided.text

    bad = await browser.get("/hits", params={"status": "maybe"})
    assert bad.status_code == 422 and 'id="e-status"' in bad.text
    bad_source = await browser.get("/hits", params={"source": "interpol"})
    assert bad_source.status_code == 422 and 'id="e-source"' in bad_source.text
    bad_cursor = await browser.get("/hits", params={"cursor": "nonsense!"})
    assert bad_cursor.status_code == 422 and "not a cursor returned by this API" in bad_cursor.text
    bad_limit = await browser.get("/hits", params={"limit": "0"})
    assert bad_limit.status_code == 422 and "must be between 1 and 500" in bad_limit.text


async def test_deciding_with_a_note_changes_compliance_as_the_api_would(
    app_api: tuple[Litestar, Api], browser: Browser, screened: dict[str, Any]
) -> None:
    _, api = app_api
    quill, hit = screened["quill"]
    stone, stone_hit = screened["stone"]
    assert (await checks(api, quill["id"]))["oig_exclusion"]["reason"] == "screening_pending"

    dismissed = await decide(browser, hit["id"], decision="dismissed", note="different DOB on the license")
    assert dismissed.status_code == 303 and dismissed.headers["location"] == "/hits?status=pending"
    after = (await api.get(f"/api/v1/screening/hits/{hit['id']}")).json()
    assert after["status"] == "dismissed" and after["decided_by"] == "credentialing@example.org"
    assert after["note"] == "different DOB on the license"
    assert (await checks(api, quill["id"]))["oig_exclusion"]["ok"] is True

    confirmed = await decide(browser, stone_hit["id"], decision="confirmed", note="same person")
    assert confirmed.status_code == 303
    assert (await checks(api, stone["id"]))["oig_exclusion"]["reason"] == "excluded_oig"

    # Decided hits leave the pending queue and stay visible with who decided, when, and the note.
    pending = await browser.get("/hits")
    assert hit["id"] not in pending.text and stone_hit["id"] not in pending.text
    decided = await browser.get("/hits", params={"status": "decided"})
    row = row_of(decided.text, hit["id"])
    assert "Dismissed by <strong>credentialing@example.org</strong>" in row and "different DOB on the license" in row
    assert 'data-key="c" hidden' in row, "c and d do nothing on a decided hit"
    everything = await browser.get("/hits", params={"status": "all"})
    assert everything.text.count("data-keyrow") == 3


async def test_a_missing_note_is_the_apis_message_beside_the_field_and_nothing_is_written(
    app_api: tuple[Litestar, Api], browser: Browser, screened: dict[str, Any]
) -> None:
    _, api = app_api
    _, hit = screened["quill"]
    for note in ("", "   "):
        response = await decide(browser, hit["id"], decision="confirmed", note=note)
        assert response.status_code == 422, response.text
        field = re.search(rf'<small id="e-note-{hit["id"]}" class="field-error">([^<]+)</small>', response.text)
        assert field and field.group(1) == "required"
        assert 'aria-invalid="true"' in response.text
    bad = await decide(browser, hit["id"], decision="maybe", note="a note")
    assert bad.status_code == 422
    assert (await api.get(f"/api/v1/screening/hits/{hit['id']}")).json()["status"] == "pending"
    # The same refusal through htmx: just the row, with the form still open.
    partial = await decide(browser, hit["id"], headers=HTMX, decision="dismissed", note="")
    assert partial.status_code == 422 and partial.text.lstrip().startswith("<tr") and "<html" not in partial.text
    assert f'id="e-note-{hit["id"]}"' in partial.text


async def test_deciding_twice_is_the_apis_409(
    app_api: tuple[Litestar, Api], browser: Browser, screened: dict[str, Any]
) -> None:
    _, api = app_api
    _, hit = screened["quill"]
    assert (await decide(browser, hit["id"], decision="dismissed", note="not him")).status_code == 303
    again = await decide(browser, hit["id"], decision="confirmed", note="second thoughts")
    assert again.status_code == 409
    from_api = await api.post(
        f"/api/v1/screening/hits/{hit['id']}/decision",
        role="credentialing",
        json={"decision": "confirmed", "note": "second thoughts"},
    )
    assert from_api.status_code == 409
    assert from_api.json()["detail"] in again.text
    assert (await api.get(f"/api/v1/screening/hits/{hit['id']}")).json()["status"] == "dismissed"


async def test_htmx_opens_the_form_and_replaces_just_the_row(
    app_api: tuple[Litestar, Api], browser: Browser, screened: dict[str, Any]
) -> None:
    _, hit = screened["script"]
    opened = await browser.get(f"/hits/{hit['id']}", params={"decision": "dismissed"}, headers=HTMX)
    assert opened.status_code == 200 and opened.text.lstrip().startswith(f'<tr id="hit-{hit["id"]}"')
    assert "<textarea" in opened.text and "autofocus" in opened.text and 'value="dismissed"' in opened.text
    assert 'aria-selected="true"' in opened.text and SCRIPT not in opened.text
    # Without htmx the same link is a page of its own with the form.
    page = await browser.get(f"/hits/{hit['id']}", params={"decision": "dismissed", "next": "//evil.example"})
    assert page.status_code == 200 and "<html" in page.text and "<textarea" in page.text
    assert 'name="next" value="/hits"' in page.text, "an off-site next is not kept"

    done = await decide(browser, hit["id"], headers=HTMX, decision="dismissed", note="NPI typo on the list")
    assert done.status_code == 200 and done.text.lstrip().startswith("<tr") and "<html" not in done.text
    assert "Dismissed by <strong>credentialing@example.org</strong>" in done.text and "<textarea" not in done.text


async def test_who_may_not_decide_sees_no_form_and_gets_403(
    app_api: tuple[Litestar, Api], screened: dict[str, Any]
) -> None:
    app, api = app_api
    _, hit = screened["quill"]
    for role in ("manager", "auditor"):
        async with await signed_in(app, role) as browser:
            page = await browser.get("/hits")
            assert page.status_code == 200
            assert hit["id"] in page.text and 'data-key="c"' not in page.text and "<textarea" not in page.text
            opened = await browser.get(f"/hits/{hit['id']}", params={"decision": "confirmed"})
            assert opened.status_code == 200 and "<textarea" not in opened.text
            response = await decide(browser, hit["id"], decision="confirmed", note="I may not")
            assert response.status_code == 403
    async with await signed_in(app, "router") as router:
        assert (await router.get("/hits")).status_code == 403
    assert (await api.get(f"/api/v1/screening/hits/{hit['id']}")).json()["status"] == "pending"


async def test_a_decision_without_the_csrf_token_is_refused(
    app_api: tuple[Litestar, Api], browser: Browser, screened: dict[str, Any]
) -> None:
    _, api = app_api
    _, hit = screened["quill"]
    response = await browser.post(f"/hits/{hit['id']}/decision", data={"decision": "dismissed", "note": "forged"})
    assert response.status_code == 403
    assert (await api.get(f"/api/v1/screening/hits/{hit['id']}")).json()["status"] == "pending"
    unknown = await decide(browser, "00000000-0000-4000-8000-000000000000", decision="dismissed", note="x")
    assert unknown.status_code == 404
