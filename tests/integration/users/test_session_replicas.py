"""Ended sessions across replicas: two workspace app instances on one database (issue 18).

Sessions live in the database and every page request reads its session there (no per-process cache),
so a disabled user, a sign-out or an expiry ends the session on every replica at once, not merely
within the API keys' second. These tests hold them to that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import time_machine
from litestar import Litestar

from roster import clock
from roster.config import Settings
from roster.users import service as users
from tests.integration.web.browser import Browser, workspace

EMAIL = "casey@example.org"


@pytest.fixture
async def replicas(settings: Settings) -> AsyncIterator[tuple[Litestar, Litestar]]:
    async with workspace(settings) as a, workspace(settings, clean=False) as b:
        yield a, b


async def signed_in_on_both(a: Litestar, b: Litestar) -> tuple[Browser, Browser]:
    """One browser session, replayed against both replicas (a load balancer may send it to either)."""
    password = (await users.create_user(email=EMAIL, role="manager", actor="test")).password
    on_a = Browser(a)
    assert (await on_a.sign_in(EMAIL, password)).status_code == 303
    on_b = Browser(b, cookies={"roster_session": on_a.session or ""})
    assert (await on_a.get("/")).status_code == 200 and (await on_b.get("/")).status_code == 200
    return on_a, on_b


async def test_disabling_a_user_ends_their_session_on_every_replica_at_once(
    replicas: tuple[Litestar, Litestar],
) -> None:
    on_a, on_b = await signed_in_on_both(*replicas)
    async with on_a, on_b:
        await users.disable_user(email=EMAIL, actor="test")  # as ``roster users disable`` does, from elsewhere
        for browser in (on_a, on_b):
            response = await browser.get("/")
            assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_signing_out_on_one_replica_ends_the_session_on_the_other_at_once(
    replicas: tuple[Litestar, Litestar],
) -> None:
    on_a, on_b = await signed_in_on_both(*replicas)
    async with on_a, on_b:
        assert (await on_a.sign_out()).status_code == 303
        assert (await on_b.get("/")).status_code == 303, "the cookie replayed on the other replica"


async def test_a_session_past_its_expiry_is_refused_on_the_replica_that_did_not_issue_it(
    replicas: tuple[Litestar, Litestar], settings: Settings
) -> None:
    on_a, on_b = await signed_in_on_both(*replicas)
    async with on_a, on_b:
        with time_machine.travel(clock.now() + settings.session_idle + timedelta(seconds=1), tick=False):
            assert (await on_b.get("/")).status_code == 303
