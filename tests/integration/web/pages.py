"""Shared by the import, report and match page tests: the app with one signed-in browser and an API client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar

from roster.config import Settings
from roster.keys.schemas import Role
from roster.keys.service import create_key
from roster.users import service as users
from tests.conftest import Api
from tests.integration.web.browser import BASE, Browser, workspace


@asynccontextmanager
async def api_of(app: Litestar) -> AsyncIterator[Api]:
    """The JSON API of ``app`` with one key per role (``test-<role>``)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        keys = {
            role.value: (await create_key(name=f"test-{role.value}", role=role.value, actor="test")).key
            for role in Role
        }
        yield Api(client, keys)


async def signed_in(app: Litestar, role: str, email: str | None = None) -> Browser:
    """A browser signed in as a new user of ``role`` (close it: ``async with``)."""
    email = email or f"{role}@example.org"
    password = (await users.create_user(email=email, role=role, actor="test")).password
    browser = Browser(app)
    response = await browser.sign_in(email, password)
    assert response.status_code == 303, response.text
    return browser


@asynccontextmanager
async def workspace_and_api(settings: Settings) -> AsyncIterator[tuple[Litestar, Api]]:
    async with workspace(settings) as app, api_of(app) as api:
        yield app, api
