"""The physician page: checklist, add/edit forms over the API's services, as-of replay, roles, CSRF
(api.md "The workspace", page 3)."""

from __future__ import annotations

import html as markup
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from litestar import Litestar

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import ok, reviewer
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in

TODAY = factories.TODAY
SCRIPT = "<script>alert(1)</script>"
CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')


def checklist(text: str) -> dict[str, str]:
    """Check -> the badge's status on the page."""
    return dict(
        re.findall(r'<tr data-check="(\w+)">\s*<th scope="row">[^<]*</th>\s*<td><span class="badge badge-(\w+)"', text)
    )


async def licenses_of(api: Api, pid: str) -> list[dict[str, Any]]:
    return (await ok(await api.get("/api/v1/licenses", params={"physician_id": pid})))["items"]


async def post_form(browser: Browser, page: str, action: str, form: dict[str, str]) -> Any:
    token = CSRF.search((await browser.get(page)).text)
    assert token, "no form on the page"
    return await browser.post(action, data={"_csrf_token": token.group(1), **form})


def license_form(**overrides: str) -> dict[str, str]:
    form = {
        "state": "CA",
        "number": "G12345",
        "license_type": "MD",
        "status": "active",
        "issued_on": "2015-01-01",
        "expires_on": (TODAY + timedelta(days=500)).isoformat(),
        "verified_on": "",
        "verification_source": "",
    }
    form.update(overrides)
    return form


async def test_the_page_shows_identity_and_the_apis_checklist(app_api: tuple[Litestar, Api], browser: Browser) -> None:
    api = app_api[1]
    physician = await reviewer(api, 1, certifications=())
    response = await browser.get(f"/physicians/{physician['id']}")
    assert response.status_code == 200, response.text
    report = await ok(await api.get(f"/api/v1/physicians/{physician['id']}/compliance"))
    shown = checklist(response.text)
    assert list(shown) == [c["check"] for c in report["checks"]]
    assert [s == "fail" for s in shown.values()] == [not c["ok"] for c in report["checks"]]
    assert '<span id="verdict">not compliant</span>' in response.text
    assert "no_board_certification" in response.text and "Has no board certification on file." in response.text
    assert factories.npi(1) in response.text and "MD00001" in response.text
    for heading in ("Identity", "Licenses", "Board certifications", "Screening", "Open assignments", "History"):
        assert f">{heading}</h2>" in response.text
    assert "create license" in response.text, "the timeline has the license's creation"
    assert 'id="add-license"' in response.text and 'id="add-certification"' in response.text


async def test_an_unknown_physician_is_the_404_page(browser: Browser) -> None:
    response = await browser.get(f"/physicians/{uuid.uuid4()}")
    assert response.status_code == 404 and "<h1>Not found</h1>" in response.text
    assert (await browser.get("/physicians/not-a-uuid")).status_code in (404, 400)


async def test_a_bad_license_is_422_beside_its_field_and_writes_nothing_then_a_good_one_changes_the_checklist(
    app_api: tuple[Litestar, Api], browser: Browser
) -> None:
    api = app_api[1]
    expired = factories.license(
        number="OLD1", issued_on="2010-01-01", expires_on=(TODAY - timedelta(days=3)).isoformat()
    )
    physician = await reviewer(api, 2, licenses=(expired,))
    pid = physician["id"]
    page = f"/physicians/{pid}"
    assert checklist((await browser.get(page)).text)["license"] == "fail"

    bad = license_form(expires_on="2014-01-01")  # before issued_on
    response = await post_form(browser, page, f"{page}/licenses", bad)
    assert response.status_code == 422, response.text
    assert re.search(
        r'id="f-lic-expires_on"[^>]*aria-invalid="true" aria-describedby="e-lic-expires_on"', response.text
    )
    assert '<small id="e-lic-expires_on" class="field-error">must be after issued_on</small>' in response.text
    assert 'value="G12345"' in response.text, "the form keeps what was typed"
    assert "<details open" in response.text

    response = await post_form(browser, page, f"{page}/licenses", license_form(issued_on="not-a-date"))
    assert response.status_code == 422 and '<small id="e-lic-issued_on" class="field-error">' in response.text
    response = await post_form(browser, page, f"{page}/licenses", license_form(state="ZZ"))
    assert response.status_code == 422 and "is not a USPS code" in response.text
    assert len(await licenses_of(api, pid)) == 1, "nothing was written"

    response = await post_form(browser, page, f"{page}/licenses", license_form())
    assert response.status_code == 303 and response.headers["location"] == page
    assert len(await licenses_of(api, pid)) == 2
    text = (await browser.get(page)).text
    assert checklist(text)["license"] in ("ok", "due") and "G12345" in text
    audit = await ok(await api.get("/api/v1/audit", params={"entity": "license"}))
    assert audit["items"][0]["actor"] == "credentialing@example.org", "audited as the signed-in user"

    response = await post_form(browser, page, f"{page}/licenses", license_form())
    assert response.status_code == 422 and "already on file for this physician and state" in response.text


async def test_a_certification_is_added_through_the_same_service(
    app_api: tuple[Litestar, Api], browser: Browser
) -> None:
    api = app_api[1]
    pid = (await reviewer(api, 3, certifications=()))["id"]
    page = f"/physicians/{pid}"
    form = {
        "board": "ABIM",
        "specialty": "medical_oncology",
        "status": "certified",
        "moc_status": "not_required",
        "certified_on": "2008-09-01",
        "expires_on": "",
        "verified_on": "",
        "verification_source": "",
    }
    response = await post_form(browser, page, f"{page}/certifications", form)
    assert response.status_code == 422
    assert "not_required applies only to time-unlimited certificates" in response.text
    assert 'id="e-cert-moc_status"' in response.text
    response = await post_form(browser, page, f"{page}/certifications", {**form, "moc_status": "meeting"})
    assert response.status_code == 303
    assert checklist((await browser.get(page)).text)["board_certification"] == "ok"


async def test_edit_a_license_and_a_certification(app_api: tuple[Litestar, Api], browser: Browser) -> None:
    api = app_api[1]
    physician = await reviewer(api, 4)
    lic, cert = physician["licenses"][0], physician["certifications"][0]
    edit = f"/licenses/{lic['id']}/edit"
    form_page = await browser.get(edit)
    assert form_page.status_code == 200 and 'value="MD00004"' in form_page.text
    response = await post_form(browser, edit, edit, license_form(state="AZ", number="MD00004", issued_on="2030-01-01"))
    assert response.status_code == 422 and "is in the future" in response.text
    assert (await ok(await api.get(f"/api/v1/licenses/{lic['id']}")))["status"] == "active"
    response = await post_form(browser, edit, edit, license_form(state="AZ", number="md00004", status="suspended"))
    assert response.status_code == 303 and response.headers["location"] == f"/physicians/{physician['id']}"
    changed = await ok(await api.get(f"/api/v1/licenses/{lic['id']}"))
    assert changed["status"] == "suspended" and changed["number"] == "MD00004"
    text = (await browser.get(f"/physicians/{physician['id']}")).text
    assert checklist(text)["license"] == "fail" and "status: active → suspended" in text

    edit = f"/certifications/{cert['id']}/edit"
    form = {
        "board": "ABIM",
        "specialty": "medical_oncology",
        "status": "lapsed",
        "moc_status": "meeting",
        "certified_on": "2008-09-01",
        "expires_on": "",
        "verified_on": "",
        "verification_source": "",
    }
    response = await post_form(browser, edit, edit, {**form, "board": "XX"})
    assert response.status_code == 422 and "XX does not certify medical_oncology" in response.text
    response = await post_form(browser, edit, edit, form)
    assert response.status_code == 303
    assert (await ok(await api.get(f"/api/v1/certifications/{cert['id']}")))["status"] == "lapsed"
    assert (await browser.get(f"/licenses/{uuid.uuid4()}/edit")).status_code == 404


async def test_emptying_an_optional_field_clears_it_and_a_required_one_is_refused(
    app_api: tuple[Litestar, Api], browser: Browser
) -> None:
    """An edit form is a PATCH of every field it shows: an emptied field is sent as null, which clears an
    optional field (as the API's PATCH does) and is refused beside a required one, writing nothing."""
    api = app_api[1]
    expiring = (TODAY + timedelta(days=900)).isoformat()
    physician = await reviewer(api, 9, certifications=(factories.certification(expires_on=expiring),))
    lic, cert = physician["licenses"][0], physician["certifications"][0]
    assert lic["verified_on"] and lic["verification_source"] and cert["expires_on"] == expiring
    edit = f"/licenses/{lic['id']}/edit"
    kept = license_form(state="AZ", number=lic["number"], issued_on=lic["issued_on"], expires_on=lic["expires_on"])
    for required in ("number", "issued_on", "expires_on", "state"):
        response = await post_form(browser, edit, edit, {**kept, required: "  "})
        assert response.status_code == 422, (required, response.text)
        assert re.search(rf'<small id="e-{required}" class="field-error">required</small>', response.text), required
        assert f'id="f-{required}" name="{required}" type=' in response.text
        assert 'value="None"' not in response.text, "an emptied field is shown empty again"
    assert await ok(await api.get(f"/api/v1/licenses/{lic['id']}")) == lic, "nothing was written"
    response = await post_form(browser, edit, edit, {**kept, "verified_on": "", "verification_source": ""})
    assert response.status_code == 303, response.text
    cleared = await ok(await api.get(f"/api/v1/licenses/{lic['id']}"))
    assert cleared["verified_on"] is None and cleared["verification_source"] is None
    assert {k: v for k, v in cleared.items() if k not in ("verified_on", "verification_source", "updated_at")} == {
        k: v for k, v in lic.items() if k not in ("verified_on", "verification_source", "updated_at")
    }

    edit = f"/certifications/{cert['id']}/edit"
    form = {
        "board": "ABIM",
        "specialty": "medical_oncology",
        "status": "certified",
        "moc_status": "meeting",
        "certified_on": cert["certified_on"],
        "expires_on": "",
        "verified_on": "",
        "verification_source": "",
    }
    response = await post_form(browser, edit, edit, {**form, "certified_on": ""})
    assert (
        response.status_code == 422
        and '<small id="e-certified_on" class="field-error">required</small>' in response.text
    )
    response = await post_form(browser, edit, edit, form)
    assert response.status_code == 303, response.text
    assert (await ok(await api.get(f"/api/v1/certifications/{cert['id']}")))["expires_on"] is None, "now continuous"


JAN_10 = datetime(2025, 1, 10, 12, tzinfo=UTC)
JUN_01 = datetime(2025, 6, 1, 12, tzinfo=UTC)


def dated_license(number: str, state: str = "AZ") -> dict[str, Any]:
    return factories.license(state=state, number=number, expires_on="2027-12-31", verified_on="2025-01-09")


def dated_certification(**overrides: str) -> dict[str, Any]:
    return factories.certification(verified_on="2025-01-09", **overrides)


async def joined_on_jan_10(api: Api, n: int, **records: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """A physician put on the roster on 10 January 2025, credentialed and IRR-tested before it."""
    with time_machine.travel(JAN_10, tick=False):
        return await reviewer(api, n, credentialed_on="2024-06-01", irr_passed_on="2024-12-01", **records)


async def test_as_of_replays_the_checklist_and_the_file(app_api: tuple[Litestar, Api], browser: Browser) -> None:
    api = app_api[1]
    physician = await joined_on_jan_10(api, 5, licenses=(dated_license("R5"),), certifications=(dated_certification(),))
    pid, license_id = physician["id"], physician["licenses"][0]["id"]
    with time_machine.travel(JUN_01, tick=False):
        await ok(await api.patch(f"/api/v1/licenses/{license_id}", json={"status": "suspended"}))
    page = f"/physicians/{pid}"
    march = await browser.get(page, params={"as_of": "2025-03-01"})
    assert march.status_code == 200, march.text
    api_march = await ok(await api.get(f"{'/api/v1/physicians'}/{pid}/compliance", params={"as_of": "2025-03-01"}))
    assert [s == "fail" for s in checklist(march.text).values()] == [not c["ok"] for c in api_march["checks"]]
    assert checklist(march.text)["license"] != "fail"
    assert 'id="replaying"' in march.text and "Compliance on 2025-03-01" in march.text
    licenses_table = march.text.split('id="licenses"', 1)[1].split("</table>", 1)[0]
    assert "badge-active" in licenses_table and "suspended" not in licenses_table
    assert 'id="add-license"' not in march.text, "no writes while replaying"
    july = await browser.get(page, params={"as_of": "2025-07-01"})
    assert checklist(july.text)["license"] == "fail" and "license_restricted" in july.text
    assert checklist((await browser.get(page)).text)["license"] == "fail"


def timeline(text: str) -> list[tuple[str, str, str]]:
    """(action, entity, subject) of each timeline row, newest first."""
    table = text.split('id="timeline"', 1)[1].split("</table>", 1)[0]
    return [
        (action, entity, markup.unescape(subject))
        for action, entity, subject in re.findall(
            r'<tr data-action="(\w+)" data-entity="(\w+)"><td>[^<]*</td><td>[^<]*</td><td>[^<]*'
            r'(?:<span class="subject">([^<]*)</span>)?</td>',
            table,
            re.S,
        )
    ]


async def test_deleted_licenses_and_certifications_stay_on_the_timeline(
    app_api: tuple[Litestar, Api], browser: Browser
) -> None:
    api = app_api[1]
    physician = await joined_on_jan_10(
        api,
        8,
        licenses=(dated_license("KEPT8"), dated_license("GONE8", state="CA")),
        certifications=(dated_certification(), dated_certification(board="ABPN", specialty="neurology")),
    )
    pid = physician["id"]
    gone_license = next(lic["id"] for lic in physician["licenses"] if lic["number"] == "GONE8")
    gone_cert = next(c["id"] for c in physician["certifications"] if c["board"] == "ABPN")
    with time_machine.travel(JUN_01, tick=False):
        await ok(await api.patch(f"/api/v1/licenses/{gone_license}", json={"status": "inactive"}))
        assert (await api.delete(f"/api/v1/licenses/{gone_license}")).status_code == 204
        assert (await api.delete(f"/api/v1/certifications/{gone_cert}")).status_code == 204
    rows = timeline((await browser.get(f"/physicians/{pid}")).text)
    assert set(rows[:3]) == {  # all at one instant: in any order
        ("delete", "certification", "ABPN neurology"),
        ("delete", "license", "CA GONE8"),
        ("update", "license", "CA GONE8"),
    }
    assert ("create", "license", "CA GONE8") in rows and ("create", "certification", "ABPN neurology") in rows
    assert ("create", "license", "AZ KEPT8") in rows
    text = (await browser.get(f"/physicians/{pid}")).text
    assert "GONE8" not in text.split('id="licenses"', 1)[1].split("</table>", 1)[0], "no longer on file"
    # Replayed before the deletions: the records are on file and their deletions not yet on the timeline.
    march = await browser.get(f"/physicians/{pid}", params={"as_of": "2025-03-01"})
    assert "GONE8" in march.text.split('id="licenses"', 1)[1].split("</table>", 1)[0]
    assert [r for r in timeline(march.text) if r[0] != "create"] == []
    assert ("create", "license", "CA GONE8") in timeline(march.text)


@pytest.mark.parametrize(
    ("as_of", "message"),
    [("yesterday", "Invalid"), ("1800-01-01", "must be between"), ("2000-01-01", "was not on the roster")],
)
async def test_a_bad_as_of_is_a_message_beside_the_date(
    app_api: tuple[Litestar, Api], browser: Browser, as_of: str, message: str
) -> None:
    pid = (await reviewer(app_api[1], 6))["id"]
    response = await browser.get(f"/physicians/{pid}", params={"as_of": as_of})
    assert response.status_code == 422, response.text
    assert re.search(r'<small id="e-as_of" class="field-error">[^<]*' + message, response.text)
    assert 'id="checklist"' in response.text, "today's page is still shown"


async def test_a_router_reads_the_page_without_forms_and_cannot_post(app_api: tuple[Litestar, Api]) -> None:
    api = app_api[1]
    physician = await reviewer(api, 7)
    page = f"/physicians/{physician['id']}"
    async with await signed_in(app_api[0], "router") as router:
        response = await router.get(page)
        assert response.status_code == 200
        assert 'id="add-license"' not in response.text and "/edit" not in response.text
        token = CSRF.search(response.text)
        assert token  # the sign-out form's
        posted = await router.post(f"{page}/licenses", data={"_csrf_token": token.group(1), **license_form()})
        assert posted.status_code == 403
        assert (await router.get(f"/licenses/{physician['licenses'][0]['id']}/edit")).status_code == 403
    assert len(await licenses_of(api, physician["id"])) == 1


async def test_a_post_without_the_csrf_token_is_403_and_writes_nothing(
    app_api: tuple[Litestar, Api], browser: Browser
) -> None:
    api = app_api[1]
    physician = await reviewer(api, 8)
    page = f"/physicians/{physician['id']}"
    assert (await browser.post(f"{page}/licenses", data=license_form())).status_code == 403
    forged = await browser.post(f"{page}/licenses", data={"_csrf_token": "x" * 43, **license_form()})
    assert forged.status_code == 403
    assert len(await licenses_of(api, physician["id"])) == 1


async def test_a_hostile_name_renders_inert(app_api: tuple[Litestar, Api], browser: Browser) -> None:
    physician = await reviewer(app_api[1], 9, last_name=SCRIPT, first_name='=HYPERLINK("http://x","a")')
    text = (await browser.get(f"/physicians/{physician['id']}")).text
    assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert '=HYPERLINK("http' not in text
