"""The credentialing file and policy-update pages (issues 13 and 15): each part of the file shown and added
through the API's services, evidence uploads with their refusals, roles, CSRF, and attestations."""

from __future__ import annotations

import hashlib
import html as markup
import re
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar

from roster.config import Settings
from roster.credentialing import pages
from roster.credentialing.tables import EvidenceFile, Verification
from tests.conftest import Api
from tests.integration.credentialing.helpers import PDF, PHYSICIANS, PNG, TODAY, ago, ok, physician, verify
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in

LIMIT = 4096
CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, max_evidence_file_bytes=LIMIT)


def field_error(html: str, field_id: str) -> str:
    """The message shown beside a field (``e-<prefix><name>``), tied to it for screen readers."""
    assert re.search(rf'id="f-{field_id}"[^>]*aria-invalid="true" aria-describedby="e-{field_id}"', html), field_id
    match = re.search(rf'<small id="e-{field_id}" class="field-error">([^<]*)</small>', html)
    assert match, f"no message beside {field_id}"
    return markup.unescape(match.group(1))


async def token(browser: Browser, page: str) -> str:
    match = CSRF.search((await browser.get(page)).text)
    assert match
    return match.group(1)


async def post_form(browser: Browser, page: str, action: str, form: dict[str, str]) -> Any:
    return await browser.post(action, data={"_csrf_token": await token(browser, page), **form})


def verification_form(**overrides: str) -> dict[str, str]:
    form = {
        "element": "license",
        "source": "Arizona Medical Board",
        "method": "primary_source",
        "verified_on": ago(5).isoformat(),
        "outcome": "verified",
    }
    form.update(overrides)
    return form


async def post_verification(
    browser: Browser,
    pid: str,
    *,
    file: tuple[str, bytes, str] | None = ("", b"", "application/octet-stream"),
    **form: str,
) -> Any:
    """The verification form as a browser submits it: multipart, the token first, the file part last (an
    empty, nameless part when no file was chosen)."""
    page = f"/physicians/{pid}/file"
    data = {"_csrf_token": await token(browser, page), **verification_form(**form)}
    return await browser.post(f"{page}/verifications", data=data, files={"file": file} if file else None)


async def verifications_of(api: Api, pid: str) -> list[dict[str, Any]]:
    return (await ok(await api.get(f"{PHYSICIANS}/{pid}/verifications")))["items"]


def stored_files(settings: Settings) -> set[str]:
    """What the evidence directory holds (shared by the tests of a run: compare before and after)."""
    directory = settings.data_dir / "evidence"
    return {p.name for p in directory.iterdir()} if directory.exists() else set()


async def publish(api: Api, title: str, effective_on: str, attest_by: str) -> dict[str, Any]:
    body = {"title": title, "effective_on": effective_on, "attest_by": attest_by}
    return await ok(await api.post("/api/v1/policy-updates", role="manager", json=body), 201)


# ------------------------------------------------------------------------------------------ the file


async def test_the_file_page_shows_each_part_with_its_add_forms(
    app_api: tuple[Litestar, Api], browser: Browser
) -> None:
    api = app_api[1]
    doc = await physician(api, 1)
    pid = doc["id"]
    evidence = await ok(await api.post("/api/v1/evidence", files={"file": ("scan.pdf", PDF, "application/pdf")}), 201)
    await verify(api, pid, "license", ago(30), evidence_id=evidence["id"])
    await verify(api, pid, "work_history", ago(400))
    await api.post(
        f"{PHYSICIANS}/{pid}/credentialing-decisions",
        json={"kind": "initial", "decided_on": ago(20).isoformat(), "decision": "approved"},
    )
    irr = {"taken_on": ago(3).isoformat(), "case_set": "onc-2027-q1", "score": 91.5, "pass_mark": 80}
    await ok(await api.post(f"{PHYSICIANS}/{pid}/irr-sessions", json=irr), 201)
    cme = {
        "completed_on": ago(40).isoformat(),
        "activity": "ASCO Annual Meeting",
        "hours": 12.5,
        "category": "ama_pra_1",
    }
    await ok(await api.post(f"{PHYSICIANS}/{pid}/cme", json=cme), 201)
    overdue = await publish(api, "Oncology drugs, Q1", ago(60).isoformat(), ago(30).isoformat())
    attested = await publish(api, "Imaging, Q1", ago(60).isoformat(), ago(30).isoformat())
    attestation = {"physician_id": pid, "attested_on": ago(40).isoformat()}
    await ok(await api.post(f"/api/v1/policy-updates/{attested['id']}/attestations", json=attestation), 201)

    response = await browser.get(f"/physicians/{pid}/file")
    assert response.status_code == 200, response.text
    html = response.text
    for heading in ("Verifications", "Credentialing decisions", "Inter-rater reliability", "Continuing medical"):
        assert f">{heading}" in html
    license_group = re.search(r'<tbody data-element="license">(.*?)</tbody>', html, re.S).group(1)
    assert "Texas Medical Board" in license_group and "within 120 days before a decision" in license_group
    assert f'href="/evidence/{evidence["id"]}"' in license_group
    assert "none on file" in re.search(r'<tbody data-element="sanctions">(.*?)</tbody>', html, re.S).group(1)
    decision = re.search(r"<tr data-decision=.*?</tr>", html, re.S).group(0)
    assert "badge-fail" in decision and ">late<" in decision
    assert f"work history: verified {ago(400).isoformat()}; window 120 days" in decision
    assert "sanctions: not verified" in decision
    assert "onc-2027-q1" in html and "91.5" in html and ">passed<" in html
    assert "ASCO Annual Meeting" in html and 'id="cme-standing"' in html and "<strong>12.5</strong> of 50" in html
    overdue_row = re.search(rf'<tr data-update="{overdue["id"]}">.*?</tr>', html, re.S).group(0)
    assert ">overdue<" in overdue_row
    assert f"attested {ago(40).isoformat()}" in re.search(
        rf'<tr data-update="{attested["id"]}">.*?</tr>', html, re.S
    ).group(0)
    for form in ("add-verification", "add-decision", "add-irr", "add-cme"):
        assert f'id="{form}"' in html
    assert 'enctype="multipart/form-data"' in html
    assert html.index('name="_csrf_token" value', html.index('id="add-verification"')) < html.index('name="file"')

    download = await browser.get(f"/evidence/{evidence['id']}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"

    physician_page = (await browser.get(f"/physicians/{pid}")).text
    assert f'href="/physicians/{pid}/file">Credentialing file</a>' in physician_page


async def test_an_unknown_physician_or_evidence_is_the_404_page(browser: Browser) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for url in (f"/physicians/{missing}/file", f"/evidence/{missing}", f"/policy-updates/{missing}"):
        response = await browser.get(url)
        assert response.status_code == 404 and "<h1>Not found</h1>" in response.text, url


async def test_roles_sign_in_and_csrf(app_api: tuple[Litestar, Api], browser: Browser, router: Browser) -> None:
    app, api = app_api
    pid = (await physician(api, 2))["id"]
    page = f"/physicians/{pid}/file"
    for url in (page, "/policy-updates"):
        assert (await router.get(url)).status_code == 403
    assert 'href="/physicians/' + pid + '/file"' not in (await router.get(f"/physicians/{pid}")).text
    assert ">Policy updates<" not in (await router.get("/")).text
    async with Browser(app) as anonymous:
        response = await anonymous.get(page)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next=/physicians/{pid}/file"
    async with await signed_in(app, "auditor") as auditor:
        html = (await auditor.get(page)).text
        assert "Verifications" in html and 'id="add-verification"' not in html and 'id="add-decision"' not in html
        assert 'id="publish"' not in (await auditor.get("/policy-updates")).text
        sign_out_token = CSRF.search(html).group(1)
        posted = await auditor.post(f"{page}/decisions", data={"_csrf_token": sign_out_token, "kind": "initial"})
        assert posted.status_code == 403

    decision = {"kind": "initial", "decided_on": ago(1).isoformat(), "decision": "approved"}
    assert (await browser.post(f"{page}/decisions", data=decision)).status_code == 403
    forged = await browser.post(f"{page}/decisions", data={"_csrf_token": "x" * 43, **decision})
    assert forged.status_code == 403
    no_token = await browser.post(
        f"{page}/verifications", data=verification_form(), files={"file": ("scan.png", PNG, "image/png")}
    )
    assert no_token.status_code == 403
    assert await verifications_of(api, pid) == []
    assert (await ok(await api.get(f"{PHYSICIANS}/{pid}/credentialing-decisions")))["items"] == []


async def test_bad_input_is_shown_beside_its_field_and_writes_nothing(
    app_api: tuple[Litestar, Api], browser: Browser
) -> None:
    api = app_api[1]
    pid = (await physician(api, 3))["id"]
    page = f"/physicians/{pid}/file"
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    cases = [
        ("decisions", {"kind": "initial", "decided_on": tomorrow, "decision": "approved"}, "dec-decided_on"),
        ("decisions", {"kind": "sometimes", "decided_on": ago(1).isoformat(), "decision": "approved"}, "dec-kind"),
        (
            "irr-sessions",
            {"taken_on": ago(1).isoformat(), "case_set": "x", "score": "101", "pass_mark": "80"},
            "irr-score",
        ),
        (
            "irr-sessions",
            {"taken_on": ago(1).isoformat(), "case_set": " ", "score": "90", "pass_mark": "80"},
            "irr-case_set",
        ),
        (
            "cme",
            {"completed_on": ago(1).isoformat(), "activity": "Course", "hours": "0", "category": "ama_pra_1"},
            "cme-hours",
        ),
        (
            "cme",
            {"completed_on": "not-a-date", "activity": "Course", "hours": "2", "category": "ama_pra_1"},
            "cme-completed_on",
        ),
    ]
    for action, form, field_id in cases:
        response = await post_form(browser, page, f"{page}/{action}", form)
        assert response.status_code == 422, (action, form, response.text)
        assert field_error(response.text, field_id), field_id
        assert "<details open" in response.text
    assert "is in the future" in field_error(
        (await post_form(browser, page, f"{page}/decisions", cases[0][1])).text, "dec-decided_on"
    )
    response = await post_verification(browser, pid, verified_on=tomorrow)
    assert response.status_code == 422 and field_error(response.text, "ver-verified_on") == "is in the future"
    assert 'value="Arizona Medical Board"' in response.text, "the form keeps what was typed"
    response = await post_verification(browser, pid, element="diploma")
    assert response.status_code == 422 and field_error(response.text, "ver-element")
    for kind in ("verifications", "credentialing-decisions", "irr-sessions", "cme"):
        assert (await ok(await api.get(f"{PHYSICIANS}/{pid}/{kind}")))["items"] == [], kind


async def test_a_png_is_accepted_with_its_verification_and_audited_as_the_user(
    app_api: tuple[Litestar, Api], browser: Browser, settings: Settings
) -> None:
    api = app_api[1]
    pid = (await physician(api, 4))["id"]
    before = stored_files(settings)
    png = PNG + uuid.uuid4().bytes  # bytes no other test stored (the evidence directory is shared by a run)
    response = await post_verification(
        browser, pid, file=("board.png", png, "image/png"), element="board_certification"
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/physicians/{pid}/file#h-ver"
    [recorded] = await verifications_of(api, pid)
    sha = hashlib.sha256(png).hexdigest()
    assert recorded["element"] == "board_certification" and recorded["verified_by"] == "credentialing@example.org"
    assert recorded["evidence"]["sha256"] == sha and recorded["evidence"]["content_type"] == "image/png"
    assert stored_files(settings) - before == {sha}, "stored once under its sha256, nothing staged left behind"
    html = (await browser.get(f"/physicians/{pid}/file")).text
    assert f'href="/evidence/{recorded["evidence"]["id"]}"' in html
    audit = await ok(await api.get("/api/v1/audit", params={"entity": "verification"}))
    assert audit["items"][0]["actor"] == "credentialing@example.org"
    evidence_audit = await ok(await api.get("/api/v1/audit", params={"entity": "evidence_file"}))
    assert evidence_audit["items"][0]["actor"] == "credentialing@example.org"

    response = await post_verification(browser, pid, file=None, element="sanctions", source="OIG LEIE")
    assert response.status_code == 303, "a form without a file part: a verification without evidence"
    response = await post_verification(browser, pid, element="education", source="AMA Masterfile")
    assert response.status_code == 303, "the file control left empty"
    evidence = {v["element"]: v["evidence"] for v in await verifications_of(api, pid)}
    assert evidence["sanctions"] is None and evidence["education"] is None and evidence["board_certification"]


@pytest.mark.parametrize(
    ("file", "status", "message"),
    [
        (("notes.txt", b"just some text\n", "text/plain"), 422, "is neither a PDF nor a PNG file"),
        (("fake.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"), 422, "is neither a PDF nor a PNG file"),
        (("empty.pdf", b"", "application/pdf"), 422, "the file is empty"),
        (("big.pdf", PDF + bytes(LIMIT), "application/pdf"), 413, ""),
    ],
)
async def test_a_refused_upload_is_shown_beside_the_file_and_nothing_is_stored(
    app_api: tuple[Litestar, Api],
    browser: Browser,
    settings: Settings,
    file: tuple[str, bytes, str],
    status: int,
    message: str,
) -> None:
    api = app_api[1]
    pid = (await physician(api, 5))["id"]
    before = stored_files(settings)
    response = await post_verification(browser, pid, file=file)
    assert response.status_code == status, response.text
    assert message in field_error(response.text, "ver-file")
    assert "<details open" in response.text and 'value="Arizona Medical Board"' in response.text
    assert await verifications_of(api, pid) == []
    assert await EvidenceFile.count().run() == 0 and stored_files(settings) == before


async def test_a_good_file_with_a_bad_field_stores_nothing(
    app_api: tuple[Litestar, Api], browser: Browser, settings: Settings
) -> None:
    api = app_api[1]
    pid = (await physician(api, 6))["id"]
    before = stored_files(settings)
    response = await post_verification(browser, pid, file=("scan.pdf", PDF, "application/pdf"), source="")
    assert response.status_code == 422 and field_error(response.text, "ver-source") == "required"
    assert await Verification.count().run() == 0 and await EvidenceFile.count().run() == 0
    assert stored_files(settings) == before


async def test_a_decision_is_judged_and_its_late_elements_shown(
    app_api: tuple[Litestar, Api], browser: Browser
) -> None:
    api = app_api[1]
    pid = (await physician(api, 7))["id"]
    page = f"/physicians/{pid}/file"
    for element in (
        "license",
        "board_certification",
        "work_history",
        "malpractice_history",
        "education",
        "attestation",
    ):
        await verify(api, pid, element, ago(10))
    await verify(api, pid, "sanctions", ago(200))  # past its 120-day window
    form = {"kind": "initial", "decided_on": ago(2).isoformat(), "decision": "approved"}
    response = await post_form(browser, page, f"{page}/decisions", form)
    assert response.status_code == 303, response.text
    [decision] = (await ok(await api.get(f"{PHYSICIANS}/{pid}/credentialing-decisions")))["items"]
    assert response.headers["location"] == f"{page}?decided={decision['id']}#h-dec"
    assert decision["decided_by"] == "credentialing@example.org" and decision["timely"] is False
    html = (await browser.get(response.headers["location"])).text
    result = re.search(r'<p role="status" id="decision-result">(.*?)</p>', html, re.S).group(1)
    assert "<strong>late</strong>" in result and "sanctions" in result and "license" not in result
    assert f"sanctions: verified {ago(200).isoformat()}; window 120 days" in html
    doc = await ok(await api.get(f"{PHYSICIANS}/{pid}"))
    assert doc["credentialed_on"] == ago(2).isoformat(), "an approval derives credentialed_on"


async def test_irr_and_cme_are_added_and_shown(app_api: tuple[Litestar, Api], browser: Browser) -> None:
    api = app_api[1]
    pid = (await physician(api, 8))["id"]
    page = f"/physicians/{pid}/file"
    irr = {"taken_on": ago(1).isoformat(), "case_set": "ortho-2027", "score": "72", "pass_mark": "80"}
    assert (await post_form(browser, page, f"{page}/irr-sessions", irr)).status_code == 303
    cme = {"completed_on": ago(1).isoformat(), "activity": "Grand rounds", "hours": "1.25", "category": "other"}
    assert (await post_form(browser, page, f"{page}/cme", cme)).status_code == 303
    html = (await browser.get(page)).text
    assert "ortho-2027" in html and ">failed<" in html
    assert "Grand rounds" in html and "<strong>1.25</strong>" in html
    [session] = (await ok(await api.get(f"{PHYSICIANS}/{pid}/irr-sessions")))["items"]
    assert session["passed"] is False and session["created_by"] == "credentialing@example.org"


# ------------------------------------------------------------------------------------ policy updates


async def test_a_manager_publishes_and_bad_dates_are_shown_beside_the_field(
    app_api: tuple[Litestar, Api], manager: Browser, browser: Browser
) -> None:
    api = app_api[1]
    bad = {"title": "Cardiology", "effective_on": ago(1).isoformat(), "attest_by": ago(5).isoformat()}
    response = await post_form(manager, "/policy-updates", "/policy-updates", bad)
    assert response.status_code == 422 and field_error(response.text, "pu-attest_by") == "is before effective_on"
    response = await post_form(manager, "/policy-updates", "/policy-updates", {**bad, "title": ""})
    assert response.status_code == 422 and field_error(response.text, "pu-title") == "required"
    assert (await ok(await api.get("/api/v1/policy-updates")))["items"] == []

    good = {**bad, "attest_by": (TODAY + timedelta(days=30)).isoformat()}
    response = await post_form(manager, "/policy-updates", "/policy-updates", good)
    assert response.status_code == 303
    [update] = (await ok(await api.get("/api/v1/policy-updates")))["items"]
    assert response.headers["location"] == f"/policy-updates/{update['id']}"
    assert update["created_by"] == "manager@example.org"
    html = (await manager.get("/policy-updates")).text
    assert f'href="/policy-updates/{update["id"]}">Cardiology</a>' in html

    assert 'id="publish"' not in (await browser.get("/policy-updates")).text
    token_ = await token(browser, "/policy-updates")
    assert (await browser.post("/policy-updates", data={"_csrf_token": token_, **good})).status_code == 403


async def test_who_has_attested_overdue_highlighted_and_an_attestation_recorded(
    app_api: tuple[Litestar, Api], browser: Browser
) -> None:
    api = app_api[1]
    a = await physician(api, 11, last_name="Adams")
    b = await physician(api, 12, last_name="Baker")
    update = await publish(api, "Oncology drugs", ago(60).isoformat(), ago(30).isoformat())
    page = f"/policy-updates/{update['id']}"
    response = await browser.get(page)
    assert response.status_code == 200
    html = response.text
    rows = re.findall(r'<tr data-physician="([^"]+)" class="overdue">', html)
    assert rows == [a["id"], b["id"]], "both outstanding, by name, highlighted as overdue"
    assert '<td id="count-outstanding">2' in html and ">overdue<" in html

    response = await post_form(
        browser, page, f"{page}/attestations", {"physician_id": b["id"], "attested_on": ago(90).isoformat()}
    )
    assert response.status_code == 422 and "is before the update's effective_on" in field_error(
        response.text, "at-attested_on"
    )
    response = await post_form(
        browser, page, f"{page}/attestations", {"physician_id": b["id"], "attested_on": ago(3).isoformat()}
    )
    assert response.status_code == 303 and response.headers["location"] == f"{page}?show=attested"
    html = (await browser.get(response.headers["location"])).text
    assert re.findall(r'<tr data-physician="([^"]+)"', html) == [b["id"]]
    assert ago(3).isoformat() in html and "credentialing@example.org" in html
    assert '<td id="count-attested">1' in html
    assert re.findall(r'<tr data-physician="([^"]+)"', (await browser.get(page)).text) == [a["id"]]

    again = await post_form(
        browser, page, f"{page}/attestations", {"physician_id": b["id"], "attested_on": ago(2).isoformat()}
    )
    assert (
        again.status_code == 409
        and field_error(again.text, "at-physician_id") == "has already attested this policy update"
    )
    status = await ok(await api.get(f"{PHYSICIANS}/{b['id']}/attestations"))
    assert [(s["attested_on"], s["overdue"]) for s in status["items"]] == [(ago(3).isoformat(), False)]


async def test_the_rolls_are_paged_and_a_bad_filter_is_named(
    app_api: tuple[Litestar, Api], browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = app_api[1]
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    ids = [(await physician(api, 20 + n, last_name=f"Zed{n}"))["id"] for n in range(3)]
    update = await publish(api, "Radiology", ago(1).isoformat(), (TODAY + timedelta(days=10)).isoformat())
    page = f"/policy-updates/{update['id']}"
    html = (await browser.get(page)).text
    assert re.findall(r'<tr data-physician="([^"]+)">', html) == ids[:2], "not overdue yet: not highlighted"
    assert "due by" in html
    following = re.search(r'<a href="(\?[^"]*cursor=[^"]*)" rel="next">', html).group(1).replace("&amp;", "&")
    html = (await browser.get(page + following)).text
    assert re.findall(r'<tr data-physician="([^"]+)">', html) == ids[2:]
    for pub in range(3):
        await publish(api, f"Update {pub}", ago(1).isoformat(), TODAY.isoformat())
    listed = (await browser.get("/policy-updates")).text
    assert listed.count("<tr data-update=") == 2 and 'rel="next"' in listed

    bad = await browser.get(f"{page}?show=everyone")
    assert bad.status_code == 422 and "show:" in bad.text
    assert (await browser.get("/policy-updates?cursor=nonsense")).status_code == 422
