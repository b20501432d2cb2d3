"""A browser for the workspace tests: its own cookie jar, forms read from the pages it was served."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar, get
from litestar.types import ControllerRouterHandler

from roster.api.auth import ADMIN_ONLY
from roster.app import create_app
from roster.config import Settings
from roster.web.page import pages_router
from tests.conftest import clean_roster, serving

BASE = "http://testserver.local"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')

#: A page only admins may open: the role guard's test subject until the real pages exist.
ADMIN_PAGE = "/test-only/admin"


@get(ADMIN_PAGE, opt=ADMIN_ONLY)
async def admin_page() -> str:
    return "for admins"


class Browser:
    def __init__(self, app: Litestar, cookies: dict[str, str] | None = None, base_url: str = BASE) -> None:
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, cookies=cookies)

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    @property
    def session(self) -> str | None:
        return self.client.cookies.get("roster_session")

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(url, **kwargs)

    async def csrf(self, page: str = "/") -> str:
        """The CSRF token of the forms on ``page``, as the browser was served it."""
        response = await self.get(page)
        assert response.status_code == 200, response.text
        match = _CSRF.search(response.text)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    async def sign_in(self, email: str, password: str, next_: str | None = None) -> httpx.Response:
        """Fill in the sign-in form as served (its CSRF token and ``next`` included) and submit it."""
        form = await self.get("/login" if next_ is None else f"/login?next={next_}")
        assert form.status_code == 200, form.text
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.text))
        return await self.post("/login", data={**fields, "email": email, "password": password})

    async def sign_out(self) -> httpx.Response:
        return await self.post("/logout", data={"_csrf_token": await self.csrf()})


@asynccontextmanager
async def workspace(settings: Settings, *pages: ControllerRouterHandler, clean: bool = True) -> AsyncIterator[Litestar]:
    """The app on an emptied database (unless not ``clean``), plus ``pages`` (test-only pages behind
    the same guard)."""
    app = create_app(settings)
    app.register(pages_router(admin_page, *pages))
    async with serving(app):
        if clean:
            await clean_roster()
        yield app
