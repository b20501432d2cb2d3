"""Try a case: the page answers as POST /api/v1/match with explain, every reason in words."""

from __future__ import annotations

import html as markup
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from litestar import Litestar

from roster.matching import pages as match_pages
from roster.matching.facts import REASON_WORDS, REASONS
from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import case, ok, reviewer
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in

SCRIPT = "<script>alert(1)</script>"


async def roster(api: Api) -> None:
    await reviewer(api, 1)
    await reviewer(api, 2, languages=["en"])
    await reviewer(
        api, 3, specialties=["cardiology"], certifications=(factories.certification(specialty="cardiology"),)
    )
    expired = (factories.TODAY - timedelta(days=3)).isoformat()
    await reviewer(
        api, 4, last_name=SCRIPT, lines_of_business=["medicaid"], licenses=(factories.license(expires_on=expired),)
    )


def test_every_reason_code_has_words() -> None:
    assert set(REASON_WORDS) == set(REASONS)
    assert all(words and "_" not in words for words in REASON_WORDS.values())


async def test_the_form_has_labelled_selects_from_the_reference_data(router: Browser) -> None:
    page = await router.get("/match")
    assert page.status_code == 200
    for name in ("state", "line_of_business", "specialty", "review_type", "language", "as_of", "limit"):
        assert f'<label for="f-{name}">' in page.text and f'id="f-{name}" name="{name}"' in page.text
    assert '<option value="AZ">AZ</option>' in page.text
    assert '<option value="medical_oncology">Medical Oncology</option>' in page.text
    assert '<option value="peer_to_peer">peer_to_peer</option>' in page.text
    assert 'id="eligible"' not in page.text, "no case yet, no answer"


@pytest.mark.parametrize("overrides", [{}, {"language": "es", "limit": 1}, {"state": "CA", "review_type": "appeal"}])
async def test_the_page_answers_as_the_api(router: Browser, app_api: tuple[Litestar, Api], overrides: dict) -> None:
    _, api = app_api
    await roster(api)
    body = case(**overrides, explain=True)
    expected = await ok(await api.post("/api/v1/match", json=body, role="router"))
    page = await router.get("/match?" + urlencode({k: v for k, v in body.items() if k != "explain"}))
    assert page.status_code == 200, page.text
    eligible = re.search(r'<table class="striped" id="eligible">.*?</table>', page.text, re.S)
    shown = re.findall(r'href="/physicians/([0-9a-f-]{36})"', eligible.group(0)) if eligible else []
    assert shown == [r["physician_id"] for r in expected["eligible"]]
    ineligible = re.search(r'<table class="striped" id="ineligible">.*?</table>', page.text, re.S)
    assert ineligible
    rows = re.findall(
        r'href="/physicians/([0-9a-f-]{36})">(.*?)</a></td>\s*<td><ul class="reasons">(.*?)</ul>',
        ineligible.group(0),
        re.S,
    )
    assert [r[0] for r in rows] == [r["physician_id"] for r in expected["ineligible"]]
    for (_, _, reasons), want in zip(rows, expected["ineligible"], strict=True):
        codes = re.findall(r'<small class="muted">\((\w+)\)</small>', reasons)
        assert codes == want["reasons"]
        for code in codes:
            assert REASON_WORDS[code].replace("'", "&#39;") in reasons


def ineligible_ids(text: str) -> list[str]:
    table = re.search(r'<table class="striped" id="ineligible">.*?</table>', text, re.S)
    return re.findall(r'<tr><td><a href="/physicians/([0-9a-f-]{36})">', table.group(0)) if table else []


async def test_the_ineligible_reviewers_are_paged_with_the_case_kept(
    router: Browser, app_api: tuple[Litestar, Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, api = app_api
    await roster(api)
    for n in (5, 6, 7):  # more physicians no case of this specialty can have
        await reviewer(
            api, n, specialties=["cardiology"], certifications=(factories.certification(specialty="cardiology"),)
        )
    body = case(language="es")
    expected = await ok(await api.post("/api/v1/match", json={**body, "explain": True}, role="router"))
    wanted = [r["physician_id"] for r in expected["ineligible"]]
    assert len(wanted) == 5
    monkeypatch.setattr(match_pages, "INELIGIBLE_PAGE", 2)
    url, seen, pages = "/match?" + urlencode(body), [], 0
    while url:
        page = await router.get(url)
        assert page.status_code == 200, page.text
        assert "5 ineligible" in page.text, "the count is of all of them"
        assert len(ineligible_ids(page.text)) <= 2
        seen += ineligible_ids(page.text)
        pages += 1
        following = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = "/match" + markup.unescape(following.group(1)) if following else ""
        if following:  # the case is kept in the link, and the next page answers the same case
            assert all(f"{k}={v}" in url for k, v in body.items()), url
        if pages > 1:
            assert re.search(r'<a href="\?[^"]*language=es[^"]*">First page</a>', page.text)
    assert pages == 3 and seen == wanted
    # The eligible reviewers are the same on every page.
    last = await router.get(url or "/match?" + urlencode(body))
    assert "Eligible reviewers" in last.text


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJhIl0", "Wy0xXQ"])  # garbage, ["a"], [-1]
async def test_a_bad_page_link_is_422_not_a_500(router: Browser, app_api: tuple[Litestar, Api], cursor: str) -> None:
    await roster(app_api[1])
    page = await router.get("/match?" + urlencode({**case(), "cursor": cursor}))
    assert page.status_code == 422, page.text
    assert "not a cursor returned by this API" in page.text and "First page" in page.text


async def test_a_page_past_the_end_lists_nobody(router: Browser, app_api: tuple[Litestar, Api]) -> None:
    await roster(app_api[1])
    page = await router.get("/match?" + urlencode({**case(), "cursor": "WzEwMDBd"}))  # [1000]
    assert page.status_code == 200 and not ineligible_ids(page.text) and "No more ineligible" in page.text


async def test_a_script_for_a_name_is_inert(router: Browser, app_api: tuple[Litestar, Api]) -> None:
    await roster(app_api[1])
    page = await router.get("/match?" + urlencode(case()))
    assert SCRIPT not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"state": "ZZ"}, "state", "USPS"),
        ({"state": "arizona"}, "state", "matching regex"),
        ({"specialty": "dentistry"}, "specialty", "unknown specialty"),
        ({"line_of_business": "dental"}, "line_of_business", "invalid enum value 'dental'"),
        ({"limit": "0"}, "limit", ">= 1"),
        ({"as_of": "someday"}, "as_of", "date"),
        ({"language": "spanish"}, "language", "matching regex"),
        ({"prior_reviewer_ids": "not-an-id"}, "prior_reviewer_ids", "uuid"),
        ({"review_type": ""}, "review_type", "required"),
    ],
)
async def test_bad_input_is_a_field_message_not_a_500(router: Browser, query: dict, field: str, message: str) -> None:
    page = await router.get("/match?" + urlencode({**case(), **query}))
    assert page.status_code == 422, page.text
    assert f'aria-invalid="true" aria-describedby="e-{field}"' in page.text
    error = re.search(rf'<small id="e-{field}" class="field-error">(.*?)</small>', page.text)
    assert error and message.lower() in markup.unescape(error.group(1)).lower(), error and error.group(1)


async def test_only_routers_and_managers_try_cases(app_api: tuple[Litestar, Api]) -> None:
    for role in ("credentialing", "auditor"):
        async with await signed_in(app_api[0], role) as b:
            assert (await b.get("/match")).status_code == 403
    async with await signed_in(app_api[0], "manager") as b:
        assert (await b.get("/match")).status_code == 200
