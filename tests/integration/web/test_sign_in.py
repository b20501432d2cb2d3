"""Signing in to the workspace, through the real app: the form, sessions, throttling, expiry, CSRF,
the role guard and sign-out (api.md "The workspace")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from litestar import Litestar

from roster import clock
from roster.audit.tables import AuditEvent
from roster.config import Settings
from roster.keys.service import create_key
from roster.users import service as users
from roster.users.tables import WebSession
from tests.integration.web.browser import ADMIN_PAGE, Browser, workspace

PASSWORD_FIELDS = ("email", "password")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    async with workspace(settings) as app:
        yield app


@pytest.fixture
async def browser(app: Litestar) -> AsyncIterator[Browser]:
    async with Browser(app) as b:
        yield b


async def make_user(email: str = "casey@example.org", role: str = "manager") -> str:
    """A user; returns the one-time password."""
    return (await users.create_user(email=email, role=role, actor="test")).password


@contextmanager
def at(instant: datetime) -> Iterator[None]:
    with time_machine.travel(instant, tick=False):
        yield


async def events(action: str) -> list[dict[str, Any]]:
    return (
        await AuditEvent.select()
        .where((AuditEvent.entity == "user") & (AuditEvent.action == action))
        .order_by(AuditEvent.occurred_at)
        .output(load_json=True)
        .run()
    )


# --- the form and a successful sign-in ---------------------------------------------------------------


async def test_the_form_has_labelled_controls_a_button_and_a_csrf_token(browser: Browser) -> None:
    page = await browser.get("/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<label for="email">Email</label>' in html and '<label for="password">Password</label>' in html
    assert re.search(r'<input id="email" name="email" type="email" autocomplete="username"', html)
    assert re.search(r'<input id="password" name="password" type="password" autocomplete="current-password"', html)
    assert '<button type="submit">Sign in</button>' in html
    assert re.search(r'name="_csrf_token" value="[A-Za-z0-9_-]{43}"', html)
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"


async def test_sign_in_answers_303_home_with_a_new_http_only_session_cookie(browser: Browser) -> None:
    password = await make_user("Casey@Example.org")
    response = await browser.sign_in("casey@example.org", password)  # emails are matched case-insensitively
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("roster_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie, "the default public URL is http"
    home = await browser.get("/")
    assert home.status_code == 200 and "Signed in as casey@example.org (manager)" in home.text
    [stored] = await WebSession.select(WebSession.id).run()
    assert stored["id"] == users.session_key(browser.session or "") != browser.session, "only the hash is stored"
    [signed_in] = await events("sign_in")
    assert signed_in["actor"] == "casey@example.org"


async def test_the_session_cookie_is_secure_when_the_workspace_is_served_over_https(settings: Settings) -> None:
    https = replace(settings, public_url="https://roster.example.org")
    async with workspace(https) as app, Browser(app, base_url="https://roster.example.org") as browser:
        password = await make_user()
        response = await browser.sign_in("casey@example.org", password)
        assert response.status_code == 303
        assert all("Secure" in c for c in response.headers.get_list("set-cookie"))


async def test_home_links_to_the_pages_the_role_opens(browser: Browser) -> None:
    await browser.sign_in("router@example.org", await make_user("router@example.org", "router"))
    home = (await browser.get("/")).text
    assert 'href="/match"' in home and 'href="/roster"' in home
    assert 'href="/imports"' not in home and 'href="/hits"' not in home and 'href="/reports/coverage"' not in home


async def test_a_page_asked_for_without_a_session_redirects_to_sign_in_and_back(browser: Browser) -> None:
    password = await make_user("admin@example.org", "admin")
    asked = await browser.get(f"{ADMIN_PAGE}?tab=2")
    assert asked.status_code == 303 and asked.headers["location"] == f"/login?next={ADMIN_PAGE}%3Ftab%3D2"
    assert (await browser.get("/")).headers["location"] == "/login"
    response = await browser.sign_in("admin@example.org", password, next_=f"{ADMIN_PAGE}%3Ftab%3D2")
    assert response.status_code == 303 and response.headers["location"] == f"{ADMIN_PAGE}?tab=2"
    assert (await browser.get(response.headers["location"])).text == "for admins"


@pytest.mark.parametrize(
    "next_",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\r\nSet-Cookie: x=1",
    ],
)
async def test_next_only_ever_leads_to_a_local_page(browser: Browser, next_: str) -> None:
    password = await make_user()
    form = await browser.get("/login", params={"next": next_})
    assert 'name="next" value=""' in form.text
    # Even a crafted form (not the one served) cannot send the browser elsewhere.
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token
    response = await browser.post(
        "/login",
        data={"_csrf_token": token.group(1), "email": "casey@example.org", "password": password, "next": next_},
    )
    assert response.status_code == 303 and response.headers["location"] == "/"


# --- session fixation -------------------------------------------------------------------------------


async def test_a_cookie_chosen_before_sign_in_opens_nothing_after(app: Litestar) -> None:
    password = await make_user()
    planted = users.new_token()  # e.g. set by an attacker on the victim's browser
    async with Browser(app, cookies={"roster_session": planted}) as victim:
        response = await victim.sign_in("casey@example.org", password)
        assert response.status_code == 303
        issued = next(c for c in response.headers.get_list("set-cookie") if c.startswith("roster_session="))
        assert planted not in issued
    async with Browser(app, cookies={"roster_session": planted}) as attacker:
        assert (await attacker.get("/")).status_code == 303


async def test_signing_in_again_replaces_the_session_the_browser_had(app: Litestar, browser: Browser) -> None:
    password = await make_user()
    await browser.sign_in("casey@example.org", password)
    before = browser.session
    async with Browser(app, cookies={"roster_session": before or ""}) as same_browser:
        response = await same_browser.sign_in("casey@example.org", password)
        assert response.status_code == 303
        after = same_browser.client.cookies.get("roster_session", domain="testserver.local")
        assert after and after != before
    async with Browser(app, cookies={"roster_session": before or ""}) as replay:
        assert (await replay.get("/")).status_code == 303, "the session the browser came with was deleted"
    assert len(await WebSession.select().run()) == 1


# --- refusals ---------------------------------------------------------------------------------------


async def test_a_wrong_password_and_an_unknown_email_get_the_same_generic_refusal(browser: Browser) -> None:
    await make_user()
    wrong = await browser.sign_in("casey@example.org", "not-the-password")
    unknown = await browser.sign_in("nobody@example.org", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Email or password is incorrect." in response.text
        assert not any(c.startswith("roster_session=") for c in response.headers.get_list("set-cookie"))
        assert '<button type="submit">Sign in</button>' in response.text, "the form again"
    assert browser.session is None and await WebSession.select().run() == []
    failed = await events("sign_in_failed")
    assert [(e["actor"], e["after"]["reason"]) for e in failed] == [
        ("casey@example.org", "wrong_password"),
        ("nobody@example.org", "unknown_email"),
    ]


async def test_five_failures_lock_the_email_for_15_minutes_even_with_the_right_password(browser: Browser) -> None:
    password = await make_user()
    start = clock.now()
    with at(start):
        for _ in range(5):
            assert (await browser.sign_in("casey@example.org", "guess")).status_code == 401
        locked = await browser.sign_in("casey@example.org", password)
        assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
        assert browser.session is None
    with at(start + timedelta(minutes=14)):
        assert (await browser.sign_in("casey@example.org", password)).status_code == 429
    with at(start + timedelta(minutes=15, seconds=1)):
        assert (await browser.sign_in("casey@example.org", password)).status_code == 303
    # A success resets the count: four more failures lock nothing.
    with at(start + timedelta(minutes=16)):
        for _ in range(4):
            assert (await browser.sign_in("casey@example.org", "guess")).status_code == 401
        assert (await browser.sign_in("casey@example.org", password)).status_code == 303
    # The clock is frozen in each block, so events of one block share their instant (and have no order).
    blocks: dict[str, list[str]] = {}
    for event in await events("sign_in_failed"):
        blocks.setdefault(str(event["occurred_at"]), []).append(event["after"]["reason"])
    assert [sorted(reasons) for reasons in blocks.values()] == [
        ["locked"] + ["wrong_password"] * 5,
        ["locked"],
        ["wrong_password"] * 4,
    ]


async def test_a_disabled_user_cannot_sign_in_and_their_sessions_stop_working(browser: Browser, app: Litestar) -> None:
    password = await make_user()
    await browser.sign_in("casey@example.org", password)
    assert (await browser.get("/")).status_code == 200
    await users.disable_user(email="casey@example.org", actor="test")
    assert (await browser.get("/")).status_code == 303
    async with Browser(app) as fresh:
        refused = await fresh.sign_in("casey@example.org", password)
        assert refused.status_code == 401 and "Email or password is incorrect." in refused.text


# --- role guard and CSRF ----------------------------------------------------------------------------


async def test_a_role_without_access_gets_a_403_page(app: Litestar) -> None:
    async with Browser(app) as manager, Browser(app) as admin:
        await manager.sign_in("manager@example.org", await make_user("manager@example.org", "manager"))
        await admin.sign_in("admin@example.org", await make_user("admin@example.org", "admin"))
        denied = await manager.get(ADMIN_PAGE)
        assert denied.status_code == 403 and denied.headers["content-type"].startswith("text/html")
        assert "Not allowed" in denied.text and "manager" in denied.text
        assert (await admin.get(ADMIN_PAGE)).status_code == 200


async def test_a_post_without_the_csrf_token_is_403(app: Litestar, browser: Browser) -> None:
    password = await make_user()
    assert (await browser.post("/login", data={"email": "casey@example.org", "password": password})).status_code == 403
    await browser.sign_in("casey@example.org", password)
    assert (await browser.post("/logout")).status_code == 403
    assert (await browser.post("/logout", data={"_csrf_token": "x" * 43})).status_code == 403
    async with Browser(app) as other:
        await other.sign_in("casey@example.org", password)
        foreign = await other.csrf()  # a valid token, of another session
    denied = await browser.post("/logout", data={"_csrf_token": foreign})
    assert denied.status_code == 403 and denied.headers["content-type"].startswith("text/html")
    assert (await browser.get("/")).status_code == 200, "still signed in"
    assert (await browser.sign_out()).status_code == 303, "with its own token it works"


async def test_sign_out_deletes_the_server_side_session(app: Litestar, browser: Browser) -> None:
    await browser.sign_in("casey@example.org", await make_user())
    cookie = browser.session
    response = await browser.sign_out()
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert any(c.startswith('roster_session=""') and "Max-Age=0" in c for c in response.headers.get_list("set-cookie"))
    assert await WebSession.select().run() == []
    async with Browser(app, cookies={"roster_session": cookie or ""}) as replay:
        assert (await replay.get("/")).status_code == 303, "the old cookie opens nothing"
    [signed_out] = await events("sign_out")
    assert signed_out["actor"] == "casey@example.org"


async def test_logout_is_a_post(browser: Browser) -> None:
    await browser.sign_in("casey@example.org", await make_user())
    assert (await browser.get("/logout")).status_code == 405
    assert (await browser.get("/")).status_code == 200


# --- expiry -----------------------------------------------------------------------------------------


async def test_a_session_idle_for_30_minutes_ends(browser: Browser) -> None:
    password = await make_user()
    start = clock.now()
    with at(start):
        await browser.sign_in("casey@example.org", password)
    with at(start + timedelta(minutes=29)):
        assert (await browser.get("/")).status_code == 200  # and seen now
    with at(start + timedelta(minutes=58)):
        assert (await browser.get("/")).status_code == 200, "29 minutes since last seen"
    with at(start + timedelta(minutes=88, seconds=1)):
        assert (await browser.get("/")).headers["location"] == "/login"
    assert await WebSession.select().run() == [], "deleted when found dead"


async def test_a_session_ends_at_its_absolute_expiry_however_busy(settings: Settings) -> None:
    async with workspace(replace(settings, session_max_hours=1)) as app, Browser(app) as browser:
        password = await make_user()
        start = clock.now()
        with at(start):
            await browser.sign_in("casey@example.org", password)
        for minutes in (20, 40, 59):
            with at(start + timedelta(minutes=minutes)):
                assert (await browser.get("/")).status_code == 200
        with at(start + timedelta(hours=1)):
            assert (await browser.get("/")).status_code == 303


# --- escaping, schema, and the API beside the pages -------------------------------------------------


async def test_what_people_typed_is_rendered_inert(browser: Browser) -> None:
    email = "<script>alert(1)</script>@example.org"
    password = await make_user(email)
    refused = await browser.sign_in(email, "wrong")
    assert "<script>alert(1)</script>" not in refused.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in refused.text
    await browser.sign_in(email, password)
    home = await browser.get("/")
    assert home.status_code == 200
    assert "<script>" not in home.text and "Signed in as &lt;script&gt;alert(1)&lt;/script&gt;@example.org" in home.text


async def test_pages_are_not_in_the_openapi_schema(app: Litestar) -> None:
    paths = set(app.openapi_schema.paths or {})
    assert not {"/", "/login", "/logout"} & paths


async def test_the_api_takes_keys_not_sessions_and_needs_no_csrf(browser: Browser) -> None:
    await browser.sign_in("admin@example.org", await make_user("admin@example.org", "admin"))
    assert (await browser.get("/api/v1/keys")).status_code == 401, "a session cookie opens no API"
    key = (await create_key(name="ops", role="admin", actor="test")).key
    created = await browser.post(
        "/api/v1/keys", json={"name": "etl", "role": "auditor"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert created.status_code == 201, created.text
