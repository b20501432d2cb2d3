"""The service's clock. Rules never read it: they take ``as_of``; only the edges call these."""

from __future__ import annotations

from datetime import UTC, date, datetime


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().date()
