"""Schedules share the matcher's settings: no screening list required, so eligibility turns on the other rules."""

from tests.integration.matching.conftest import settings

__all__ = ["settings"]
