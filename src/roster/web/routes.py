"""The workspace's pages: sign-in, sign-out and home, server-rendered with Jinja (autoescaped).

Every page goes through :func:`pages_router`, which puts it behind :class:`~roster.web.guard.PageGuardMiddleware`,
renders errors as HTML instead of the API's problem+json, and keeps it out of the OpenAPI schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from roster.alerts.routes import READ_ALERTS
from roster.api.auth import READ_ROSTER, READ_SCREENING, ROLES, WRITE_ROSTER
from roster.config import Settings
from roster.coverage.routes import READ_COVERAGE
from roster.keys.schemas import Role
from roster.matching.routes import ROUTE_CASES
from roster.reports.routes import READ_REPORTS
from roster.users import service as users
from roster.users.schemas import SessionUser
from roster.web.guard import (
    LOGIN_CSRF_COOKIE,
    PUBLIC,
    SESSION_COOKIE,
    PageGuardMiddleware,
    SignInRequired,
    is_token,
    local_path,
)

TEMPLATES = Path(__file__).parent / "templates"
PageRequest = Request[SessionUser | None, Any, Any]


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    title: str
    roles: frozenset[Role]


#: The workspace's pages (api.md "The workspace") and who may open each: the same roles as the API
#: endpoints behind them. Home links to those the user's role opens.
PAGES = (
    Page("/roster", "Roster", READ_ROSTER[ROLES]),
    Page("/hits", "Screening hits", READ_SCREENING[ROLES]),
    Page("/imports", "Imports", WRITE_ROSTER[ROLES]),
    Page("/alerts", "Alerts", READ_ALERTS[ROLES]),
    Page("/reports/expirations", "Expirations report", READ_REPORTS[ROLES]),
    Page("/reports/coverage", "Coverage report", READ_COVERAGE[ROLES]),
    Page("/match", "Match a case", ROUTE_CASES[ROLES]),
)

#: Pages show people's data and take their clicks: never cached, never framed, no referrer off-site.
PAGE_HEADERS = [
    ResponseHeader(name="Cache-Control", value="no-store"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(
        name="Content-Security-Policy",
        value="default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'",
    ),
]


def template_config() -> TemplateConfig[Any]:
    from litestar.plugins.jinja import JinjaTemplateEngine

    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)  # autoescape on


def render(request: PageRequest, name: str, *, status: int = 200, **context: Any) -> Template:
    """A page, with the signed-in user (if any) for the header and its sign-out form."""
    return Template(name, context={"user": request.scope.get("user"), **context}, status_code=status)


def _settings(request: PageRequest) -> Settings:
    return request.app.state["settings"]


def _login_form(
    request: PageRequest, *, next_: str | None, email: str = "", error: str | None = None, status: int = 200
) -> Template:
    """The sign-in form, with its double-submit CSRF token (kept if the browser has a well-formed one)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not is_token(token):
        token = users.new_token()
    page = render(request, "login.html", status=status, csrf=token, next=next_ or "", email=email, error=error)
    _set_cookie(request, page, LOGIN_CSRF_COOKIE, token, path="/login")
    return page


def _set_cookie(
    request: PageRequest, response: Response[Any], key: str, value: str, *, path: str, expire: bool = False
) -> None:
    """HttpOnly, SameSite=Lax, and Secure when the workspace is served over https; ``expire`` deletes it
    (with the same attributes, so browsers match it to the one they hold)."""
    response.set_cookie(
        key,
        "" if expire else value,
        max_age=0 if expire else None,
        path=path,
        httponly=True,
        samesite="lax",
        secure=_settings(request).secure_cookies,
    )


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


@get("/login", opt=PUBLIC)
async def login_page(request: PageRequest) -> Template:
    """Shown even to a signed-in browser: signing in again switches the user (with a new session)."""
    return _login_form(request, next_=local_path(request.query_params.get("next")))


@post("/login", opt=PUBLIC)
async def sign_in(request: PageRequest) -> Response[Any]:
    """A new session on every sign-in: the cookie the browser came with is deleted, never promoted."""
    form = await request.form()
    email, password = _text(form.get("email"), 254), _text(form.get("password"), 1024)
    next_ = local_path(form.get("next"))
    previous = request.cookies.get(SESSION_COOKIE)
    try:
        signed = await users.sign_in(
            email,
            password,
            lifetime=_settings(request).session_lifetime,
            replacing=previous if is_token(previous) else None,
        )
    except (users.SignInRefused, users.SignInLocked) as refused:
        return _login_form(request, next_=next_, email=email, error=refused.detail, status=refused.status)
    response = Redirect(next_ if next_ not in (None, "/login") else "/", status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, signed.token, path="/")
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, "", path="/login", expire=True)
    return response


@post("/logout", opt=READ_ROSTER)
async def sign_out(request: PageRequest) -> Response[Any]:
    token = request.cookies.get(SESSION_COOKIE)
    if token is not None:
        await users.sign_out(token)
    response = Redirect("/login", status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, "", path="/", expire=True)
    return response


@get("/", opt=READ_ROSTER)
async def home(request: PageRequest) -> Template:
    user = request.user
    assert user is not None  # the guard admitted a role
    return render(request, "home.html", pages=[p for p in PAGES if user.role in p.roles])


def _to_sign_in(request: PageRequest, exc: SignInRequired) -> Response[Any]:
    response = Redirect(exc.location, status_code=303)
    if exc.stale_cookie:
        _set_cookie(request, response, SESSION_COOKIE, "", path="/", expire=True)
    return response


def _error_page(request: PageRequest, exc: HTTPException) -> Template:
    return render(request, "error.html", status=exc.status_code, status_code=exc.status_code, detail=exc.detail)


def pages_router(*handlers: ControllerRouterHandler) -> Router:
    """Pages behind the guard, with HTML errors, out of the OpenAPI schema (the API's contract)."""
    return Router(
        path="/",
        route_handlers=list(handlers),
        middleware=[DefineMiddleware(PageGuardMiddleware)],
        exception_handlers={SignInRequired: _to_sign_in, HTTPException: _error_page},
        response_headers=PAGE_HEADERS,
        include_in_schema=False,
    )


def workspace_router() -> Router:
    return pages_router(login_page, sign_in, sign_out, home)
