"""The workspace pages over this package's service (see ``roster.web.page``)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

HANDLERS: list[ControllerRouterHandler] = []
