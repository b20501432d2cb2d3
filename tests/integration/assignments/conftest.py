"""Eligibility tests share the matcher's settings: no list required unless a test asks for one."""

from tests.integration.matching.conftest import settings

__all__ = ["settings"]
