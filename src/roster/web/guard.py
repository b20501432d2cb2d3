"""What every workspace page passes before its handler: a session, a role, and a CSRF token.

Pages authenticate by a session cookie, so unlike the API (bearer keys, which a browser never sends
on its own) every unsafe request must prove it came from one of our forms. The token is the
session's own (synchronizer pattern, kept in ``web_session.data``), so it needs no signing secret
shared by the replicas and dies with the session. The sign-in form, having no session yet, uses a
double-submit cookie instead.

Roles are named in the route's ``opt`` exactly as the API's are (``roster.api.auth.allow``), and a
page that names none admits nobody; ``opt=PUBLIC`` marks the pages open without a session.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.base import MiddlewareProtocol
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send
from multipart import MultipartSegment, ParserError, PushMultipartParser

from roster.api.auth import ROLES
from roster.config import Settings
from roster.keys.schemas import Role
from roster.users import service as users

SESSION_COOKIE = "roster_session"
#: The sign-in form's double-submit token (the form has no session to keep one in).
LOGIN_CSRF_COOKIE = "roster_login_csrf"
#: Where a form carries its token; scripts may send the header instead.
CSRF_FIELD = "_csrf_token"
CSRF_HEADER = "x-csrf-token"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Route ``opt`` for the pages anyone may open (sign-in).
PUBLIC = {"public": True}
#: Route ``opt`` key of a page that streams a multipart upload itself (``roster.api.uploads.receive_file``,
#: with the deployment's size limit): the guard reads the CSRF field from the front of the body only and
#: hands the whole body on untouched, instead of parsing (and spooling) the form first.
STREAMED_UPLOAD = "streamed_upload"
#: How much of a streamed upload's body may come before its CSRF field.
_PEEK_LIMIT = 64 * 1024


class SignInRequired(Exception):
    """No live session: the page answers 303 to ``/login``, remembering where a GET was going."""

    def __init__(self, next_path: str | None, *, stale_cookie: bool) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path
        self.stale_cookie = stale_cookie

    @property
    def location(self) -> str:
        return "/login" if self.next_path in (None, "/") else f"/login?next={quote(self.next_path, safe='/')}"


def local_path(target: object) -> str | None:
    """``target`` if it is a path on this site, else None: the open-redirect guard for ``next``.

    Only ``/...``; never ``//host`` or ``/\\host`` (browsers read both as another host), a scheme,
    or control characters.
    """
    if not isinstance(target, str) or not target.startswith("/") or len(target) > 2000:
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target) or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def is_token(value: object) -> bool:
    """A value ``secrets.token_urlsafe(32)`` could have made (a cookie is anything a client sends)."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


async def require_csrf(request: Request[Any, Any, Any], expected: str | None) -> None:
    """403 unless the request carries ``expected`` in its form (or header). The form is parsed here and
    cached on the request, so the handler reads it again for free."""
    sent: object = request.headers.get(CSRF_HEADER)
    if not sent and request.content_type[0] in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise PermissionDeniedException("This form has expired or did not come from this site. Reload it and retry.")


async def require_csrf_before_upload(
    request: Request[Any, Any, Any], receive: Receive, expected: str | None
) -> Receive:
    """As :func:`require_csrf` for a route that streams its upload (``STREAMED_UPLOAD``): a multipart body
    must carry the token in a field before its file part (the ``csrf`` macro first in the form). Returns
    the ``receive`` to hand on, which replays what was read here, so the route still sees the whole body."""
    media_type, options = request.content_type
    boundary = options.get("boundary")
    if request.headers.get(CSRF_HEADER) or media_type != RequestEncodingType.MULTI_PART or not boundary:
        await require_csrf(request, expected)
        return receive
    read: list[ReceiveMessage] = []
    sent: str | None = None
    value = bytearray()
    size = 0
    parser = PushMultipartParser(boundary, max_segment_count=16)  # not closed: the route reads the rest
    segment: MultipartSegment | None = None
    try:
        while sent is None and size <= _PEEK_LIMIT:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            body = message.get("body", b"")
            size += len(body)
            for event in parser.parse(body):
                if isinstance(event, MultipartSegment):
                    segment, value = event, bytearray()
                    if event.filename is not None:
                        break  # the file begins: the token should have come first
                elif event is None:
                    if segment is not None and segment.name == CSRF_FIELD:
                        sent = value.decode("utf-8", "replace")
                        break
                    segment = None
                elif segment is not None and segment.name == CSRF_FIELD:
                    value += event
            else:
                if message.get("more_body", False):
                    continue
            break
    except ParserError:
        sent = None
    if not expected or sent is None or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise PermissionDeniedException("This form has expired or did not come from this site. Reload it and retry.")
    replay = iter(read)

    async def replaying() -> ReceiveMessage:
        message = next(replay, None)
        return message if message is not None else await receive()

    return replaying


class PageGuardMiddleware(MiddlewareProtocol):
    """Resolves the session cookie to the signed-in user (``request.user``, or None on public pages),
    then admits the roles the page names and checks the CSRF token of unsafe methods."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request: Request[Any, Any, Any] = Request(scope, receive)
        settings: Settings = request.app.state["settings"]
        token = request.cookies.get(SESSION_COOKIE)
        user = await users.session_user(token, idle=settings.session_idle) if token else None
        scope["user"] = user
        opt = scope["route_handler"].opt
        unsafe = request.method not in SAFE_METHODS
        if opt.get("public"):
            if unsafe:
                await require_csrf(request, request.cookies.get(LOGIN_CSRF_COOKIE))
        else:
            if user is None:
                path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise SignInRequired(path if not unsafe else None, stale_cookie=token is not None)
            allowed: frozenset[Role] = opt.get(ROLES, frozenset())
            if user.role not in allowed:
                raise PermissionDeniedException(f"Your role ({user.role.value}) does not open this page.")
            if unsafe and opt.get(STREAMED_UPLOAD):
                receive = await require_csrf_before_upload(request, receive, user.csrf)
            elif unsafe:
                await require_csrf(request, user.csrf)
        await self.app(scope, receive, send)
