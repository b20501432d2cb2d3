"""What every workspace page is built from: rendering, forms, paging, and the router that guards them.

Pages are a second face over the same services the API calls: a page handler parses its form with the
API's own schema (:func:`decode_form`), calls the service, and on a :class:`~roster.errors.RosterError`
shows its field messages beside the fields (:func:`field_errors`). No page writes a query or a rule.
Domain packages keep their pages in ``pages.py`` beside ``routes.py``; ``roster.web.routes`` mounts them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, Router
from litestar.datastructures import ResponseHeader
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from roster.errors import FieldError, InvalidInput, RosterError
from roster.users.schemas import SessionUser
from roster.web.guard import SESSION_COOKIE, PageGuardMiddleware, SignInRequired

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
PageRequest = Request[SessionUser | None, Any, Any]
T = TypeVar("T")

#: Pages show people's data and take their clicks: never cached, never framed, no referrer off-site,
#: no script but our own files (so a stored ``<script>`` could not run even if escaping failed).
PAGE_HEADERS = [
    ResponseHeader(name="Cache-Control", value="no-store"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(
        name="Content-Security-Policy",
        value="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
]


def template_config(globals_: Mapping[str, Any] | None = None) -> TemplateConfig[Any]:
    """Jinja with autoescape on; ``globals_`` (e.g. the navigation) are visible to every template."""
    from litestar.plugins.jinja import JinjaTemplateEngine

    def install(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals.update(globals_ or {})
        engine.engine.globals["query"] = query_string

    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=install)


def static_router() -> Router:
    """The vendored htmx and Pico CSS plus our own CSS/JS, public (the sign-in page needs them)."""
    return create_static_files_router(path="/static", directories=[STATIC], name="static", include_in_schema=False)


def user_of(request: PageRequest) -> SessionUser:
    """The signed-in user (the guard has admitted one on every non-public page)."""
    user = request.scope.get("user")
    if user is None:  # pragma: no cover - the guard raises SignInRequired first
        raise SignInRequired(None, stale_cookie=False)
    return user


def actor(request: PageRequest) -> str:
    """Who a page write is audited as: the user's email, as an API write is audited by its key's name."""
    return user_of(request).email


def render(request: PageRequest, name: str, *, status: int = 200, **context: Any) -> Template:
    """A page, with the signed-in user (if any) for the header, its navigation and its sign-out form."""
    return Template(
        name,
        context={"user": request.scope.get("user"), "path": request.url.path, **context},
        status_code=status,
    )


def redirect(path: str) -> Redirect:
    """After a successful form post: 303 so a reload does not post again."""
    return Redirect(path, status_code=303)


def query_string(params: Mapping[str, Any] | None = None, **changes: Any) -> str:
    """``?a=1&b=2`` from ``params`` with ``changes`` applied; empty values are dropped, so a filtered,
    paged view is one bookmarkable URL. Used by templates for filter and pager links."""
    merged = {**(params or {}), **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "", [])}
    return "?" + urlencode(kept, doseq=True) if kept else "?"


# --------------------------------------------------------------------------------------------- forms


def form_values(
    form: Mapping[str, Any], *, booleans: tuple[str, ...] = (), blank_clears: bool = False
) -> dict[str, Any]:
    """A submitted form as the JSON object the API would have been sent: checkboxes as booleans, the CSRF
    token dropped, and blank fields either left out (a create form: the schema's defaults and "required"
    apply) or, with ``blank_clears`` (an edit form, sent as a PATCH), null: an emptied optional field is
    cleared, as a PATCH with null clears it, and an emptied required one is refused as "required"."""
    values: dict[str, Any] = {}
    for key, value in form.items():
        if key.startswith("_") or key in booleans:
            continue
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                if blank_clears:
                    values[key] = None
                continue
        values[key] = value
    for key in booleans:
        values[key] = form.get(key) in ("on", "true", "1", "yes")
    return values


def decode_form(values: Mapping[str, Any], type_: type[T]) -> T:
    """``values`` (see :func:`form_values`) as the API's request schema ``type_``, with its constraints;
    a violation is :class:`InvalidInput` naming the field, exactly as the API reports it."""
    try:
        return msgspec.convert(dict(values), type_, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = "form"
        if "`$." in message:
            field = message.rsplit("`$.", 1)[-1].rstrip("`").split("[", 1)[0]
        elif "field `" in message:
            field = message.split("field `", 1)[1].split("`", 1)[0]
        text = message.split(" - at ")[0]
        if text.startswith("Object missing required field") or text.endswith("got `null`"):
            text = message = "required"  # left out of a create form, or emptied in an edit form
        raise InvalidInput(detail=message, errors=[FieldError(field, text)]) from None


def field_errors(exc: RosterError) -> dict[str, str]:
    """Messages by field name, for the template to put beside each field; ``_`` holds the rest."""
    errors: dict[str, str] = {}
    for error in exc.errors:
        errors.setdefault(error.field, error.message)
    if not errors:
        errors["_"] = exc.detail
    elif exc.detail and not any(e.field and e.message in exc.detail for e in exc.errors):
        errors.setdefault("_", exc.detail)
    return errors


async def submit(
    request: PageRequest, action: Callable[[dict[str, Any]], Any], **form_options: Any
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """Run ``action`` on the posted form's values; return the values and the field errors it raised
    (None when it succeeded). Only domain errors are caught: anything else is a bug and stays a 500."""
    values = form_values(await request.form(), **form_options)
    try:
        await action(values)
    except RosterError as exc:
        return values, field_errors(exc)
    return values, None


def query_errors(exc: ValidationException | RosterError) -> dict[str, str]:
    """A bad filter in a page's URL as field messages (Litestar's parameter errors or a service's)."""
    if isinstance(exc, RosterError):
        return field_errors(exc)
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = {str(e.get("key")): str(e.get("message")) for e in extra if isinstance(e, dict) and e.get("key")}
    return errors or {"_": str(exc.detail)}


# ---------------------------------------------------------------------------------------- the router


def _to_sign_in(request: PageRequest, exc: SignInRequired) -> Response[Any]:
    response = Redirect(exc.location, status_code=303)
    if exc.stale_cookie:
        expire_cookie(request, response, SESSION_COOKIE, path="/")
    return response


def _error_page(request: PageRequest, exc: HTTPException) -> Template:
    detail = exc.detail
    if isinstance(exc, ValidationException):
        detail = "; ".join(f"{k}: {v}" for k, v in query_errors(exc).items() if k != "_") or detail
    return render(request, "error.html", status=exc.status_code, status_code=exc.status_code, detail=detail)


def _domain_error_page(request: PageRequest, exc: RosterError) -> Template:
    """A service refusal that no form catches (a 404 for an unknown id, a bad filter) as a page."""
    return render(request, "error.html", status=exc.status, status_code=exc.status, detail=exc.detail)


def set_cookie(
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
        secure=request.app.state["settings"].secure_cookies,
    )


def expire_cookie(request: PageRequest, response: Response[Any], key: str, *, path: str) -> None:
    set_cookie(request, response, key, "", path=path, expire=True)


def pages_router(*handlers: ControllerRouterHandler) -> Router:
    """Pages behind the guard, with HTML errors, out of the OpenAPI schema (the API's contract)."""
    return Router(
        path="/",
        route_handlers=list(handlers),
        middleware=[DefineMiddleware(PageGuardMiddleware)],
        exception_handlers={
            SignInRequired: _to_sign_in,
            HTTPException: _error_page,
            RosterError: _domain_error_page,
        },
        response_headers=PAGE_HEADERS,
        request_class=HTMXRequest,  # request.htmx: a page answers htmx with just the part that changed
        include_in_schema=False,
    )


__all__ = [
    "PAGE_HEADERS",
    "InvalidInput",
    "PageRequest",
    "actor",
    "decode_form",
    "field_errors",
    "form_values",
    "pages_router",
    "query_string",
    "redirect",
    "render",
    "submit",
    "user_of",
]
