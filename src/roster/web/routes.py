"""The workspace's own pages (sign-in, sign-out, home) and the router that mounts every domain's pages.

Each domain keeps its pages in ``pages.py`` beside its API ``routes.py``, both thin faces over its
service; :func:`workspace_router` puts them all behind the guard (see ``roster.web.page``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Response, Router, get, post
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig

from roster.alerts import pages as alert_pages
from roster.alerts.routes import READ_ALERTS
from roster.api.auth import READ_AUDIT, READ_ROSTER, READ_SCREENING, ROLES, WRITE_ROSTER
from roster.audits import pages as audit_pages
from roster.config import Settings
from roster.coverage import pages as coverage_pages
from roster.coverage.routes import READ_COVERAGE
from roster.credentialing import pages as credentialing_pages
from roster.credentialing.routes import READ_FILE
from roster.imports import pages as import_pages
from roster.keys.schemas import Role
from roster.matching import pages as match_pages
from roster.physicians import pages as physician_pages
from roster.reports import pages as report_pages
from roster.reports.routes import READ_REPORTS
from roster.schedules import pages as schedule_pages
from roster.screening import pages as screening_pages
from roster.users import service as users
from roster.users.schemas import SessionUser
from roster.web.guard import (
    LOGIN_CSRF_COOKIE,
    PUBLIC,
    SESSION_COOKIE,
    is_token,
    local_path,
)
from roster.web.home import home
from roster.web.page import PageRequest, expire_cookie, pages_router, render, set_cookie
from roster.web.page import template_config as page_template_config


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    title: str
    roles: frozenset[Role]


#: The workspace's pages (api.md "The workspace") and who may open each: the same roles as the API
#: endpoints behind them. The header's navigation and home link to those the user's role opens.
PAGES = (
    Page("/roster", "Roster", READ_ROSTER[ROLES]),
    Page("/hits", "Hits", READ_SCREENING[ROLES]),
    Page("/imports", "Import", WRITE_ROSTER[ROLES]),
    Page("/alerts", "Alerts", READ_ALERTS[ROLES]),
    Page("/reports/expirations", "Expirations", READ_REPORTS[ROLES]),
    Page("/reports/coverage", "Coverage", READ_COVERAGE[ROLES]),
    Page("/match", "Try a case", match_pages.TRY_CASES[ROLES]),
    Page("/policy-updates", "Policy updates", READ_FILE[ROLES]),
    Page("/rotations", "Rotations", READ_ROSTER[ROLES]),
    Page("/reports/turnaround", "Turnaround", READ_REPORTS[ROLES]),
    Page("/reports/oncall-gaps", "On-call gaps", READ_REPORTS[ROLES]),
    Page("/audits", "Audit pack", READ_AUDIT[ROLES]),
    Page("/reports/monitoring", "Monitoring", READ_REPORTS[ROLES]),
    Page("/reports/um-decisions", "UM decisions", READ_REPORTS[ROLES]),
)


def pages_for(user: SessionUser | None) -> list[Page]:
    return [] if user is None else [p for p in PAGES if user.role in p.roles]


def template_config() -> TemplateConfig[Any]:
    return page_template_config({"pages_for": pages_for})


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
    set_cookie(request, page, LOGIN_CSRF_COOKIE, token, path="/login")
    return page


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
    set_cookie(request, response, SESSION_COOKIE, signed.token, path="/")
    expire_cookie(request, response, LOGIN_CSRF_COOKIE, path="/login")
    return response


@post("/logout", opt=READ_ROSTER)
async def sign_out(request: PageRequest) -> Response[Any]:
    token = request.cookies.get(SESSION_COOKIE)
    if token is not None:
        await users.sign_out(token)
    response = Redirect("/login", status_code=303)
    expire_cookie(request, response, SESSION_COOKIE, path="/")
    return response


def workspace_router() -> Router:
    return pages_router(
        login_page,
        sign_in,
        sign_out,
        home,
        *physician_pages.HANDLERS,
        *screening_pages.HANDLERS,
        *alert_pages.HANDLERS,
        *import_pages.HANDLERS,
        *report_pages.HANDLERS,
        *coverage_pages.HANDLERS,
        *match_pages.HANDLERS,
        *credentialing_pages.HANDLERS,
        *schedule_pages.HANDLERS,
        *audit_pages.HANDLERS,
    )
