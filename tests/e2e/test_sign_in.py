"""Signing in and out in a real browser, and what each role is shown."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import DemoServer, assert_accessible, shot, sign_in


def test_sign_in_shows_home_then_sign_out_ends_the_session(page: Any, demo_server: DemoServer) -> None:
    page.goto("/")
    page.wait_for_url(re.compile(r"/login$"))
    assert_accessible(page)
    shot(page, "login")
    sign_in(page, demo_server, "credentialing")
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto("/")
    page.wait_for_url(re.compile(r"/login$"))


def test_a_wrong_password_is_refused_on_the_form(page: Any, demo_server: DemoServer) -> None:
    email, _ = demo_server.users["manager"]
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Email").input_value() == email
