"""What the workspace page tests share: the app with its JSON API, and browsers signed in by role.

``settings`` requires no screening list, so screening passes and licenses, certifications and dates decide
who is compliant; a module where screening must count (the hit queue) overrides it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from roster.config import Settings
from tests.conftest import Api, TempDatabase
from tests.integration.web.browser import Browser
from tests.integration.web.pages import signed_in, workspace_and_api


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings(required_sources=())


@pytest.fixture
async def app_api(settings: Settings) -> AsyncIterator[tuple[Litestar, Api]]:
    """The app on an emptied database and a JSON API client with one key per role."""
    async with workspace_and_api(settings) as pair:
        yield pair


@pytest.fixture
async def browser(app_api: tuple[Litestar, Api]) -> AsyncIterator[Browser]:
    """A credentialing coordinator (``credentialing@example.org``), signed in."""
    async with await signed_in(app_api[0], "credentialing") as b:
        yield b


@pytest.fixture
async def manager(app_api: tuple[Litestar, Api]) -> AsyncIterator[Browser]:
    async with await signed_in(app_api[0], "manager") as b:
        yield b


@pytest.fixture
async def router(app_api: tuple[Litestar, Api]) -> AsyncIterator[Browser]:
    async with await signed_in(app_api[0], "router") as b:
        yield b
