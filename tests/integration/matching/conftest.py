from __future__ import annotations

import pytest

from roster.config import Settings
from tests.conftest import TempDatabase


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    """No list is required here, so eligibility turns on the other rules; screening has its own tests."""
    return migrated.settings(required_sources=())
