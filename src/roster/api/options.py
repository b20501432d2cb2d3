"""Correct ``Allow`` headers on OPTIONS responses.

Litestar 2.25 builds the automatic OPTIONS handler when the first handler of a path is registered,
so ``Allow`` lists only that handler's method (e.g. ``DELETE, OPTIONS`` for a path that also has
GET and PATCH). This middleware answers with every method the route really has.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def allowed_methods(app: Litestar) -> dict[str, bytes]:
    return {route.path_format: ", ".join(sorted(route.methods)).encode() for route in app.routes}


def options_allow_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await app(scope, receive, send)
            return
        allow = scope["app"].state["allowed_methods"].get(scope.get("path_template", ""))

        async def send_with_allow(message: Message) -> None:
            if allow is not None and message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await app(scope, receive, send_with_allow)

    return middleware
