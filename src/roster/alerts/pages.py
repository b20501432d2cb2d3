"""The alerts page (``/alerts``): filter by kind, status and physician; acknowledge one or many.

A thin face over ``roster.alerts.service``: the list is ``service.list_page`` with the API's own filter
types (so a bad filter is the API's 422, shown beside the filter), and acknowledging calls
``service.acknowledge`` once per chosen alert, for the roles the API's acknowledge route admits; it is
idempotent there, so an alert someone else acknowledged meanwhile keeps its first acknowledgement.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.exceptions import ValidationException
from litestar.response import Template
from litestar.types import ControllerRouterHandler
from msgspec import Meta

from roster.alerts import service
from roster.alerts.routes import ACKNOWLEDGE_ALERTS, READ_ALERTS
from roster.alerts.schemas import AlertKind, AlertStatus
from roster.api.auth import ROLES
from roster.api.pagination import Limit
from roster.errors import RosterError
from roster.reports.pages import int_query
from roster.web.guard import local_path
from roster.web.page import PageRequest, actor, decode_form, query_errors, redirect, render, user_of

PAGE_SIZE = 50
KINDS: tuple[str, ...] = AlertKind.__args__  # type: ignore[attr-defined]
STATUSES: tuple[str, ...] = AlertStatus.__args__  # type: ignore[attr-defined]


class AlertsQuery(msgspec.Struct, forbid_unknown_fields=False):
    """The API's filters (``GET /api/v1/alerts``), with the same types."""

    kind: AlertKind | None = None
    status: AlertStatus | None = None
    physician_id: UUID | None = None
    cursor: str | None = None


class AcknowledgeForm(msgspec.Struct):
    #: The chosen alerts (one checkbox each).
    alert: Annotated[list[UUID], Meta(min_length=1, max_length=500)]


def may_acknowledge(request: PageRequest) -> bool:
    return user_of(request).role in ACKNOWLEDGE_ALERTS[ROLES]


def _params(pairs: Any) -> dict[str, str]:
    return {k: v for k, v in pairs if isinstance(v, str) and v.strip()}


async def _page(
    request: PageRequest,
    params: dict[str, str],
    next_: str,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    """The list for the filters in ``params``; ``next_`` is where the acknowledge form returns to."""
    context: dict[str, Any] = {
        "params": params,
        "kinds": KINDS,
        "statuses": STATUSES,
        "may_acknowledge": may_acknowledge(request),
        "next": next_,
    }
    try:
        query = decode_form({k: v for k, v in params.items() if k in AlertsQuery.__struct_fields__}, AlertsQuery)
        limit = int_query(params.get("limit"), "limit", Limit, PAGE_SIZE)
        page = await service.list_page(
            status=query.status, kind=query.kind, physician_id=query.physician_id, cursor=query.cursor, limit=limit
        )
    except (ValidationException, RosterError) as exc:
        return render(request, "alerts/alerts.html", status=422, errors=query_errors(exc), alerts=[], **context)
    names = await service.physician_names(page.items)
    return render(
        request,
        "alerts/alerts.html",
        status=status,
        errors=errors or {},
        alerts=page.items,
        names=names,
        next_cursor=page.next_cursor,
        first=query.cursor is not None,
        **context,
    )


@get("/alerts", opt=READ_ALERTS)
async def alerts_page(request: PageRequest) -> Template:
    query = request.url.query
    return await _page(request, _params(request.query_params.items()), "/alerts" + (f"?{query}" if query else ""))


@post("/alerts/acknowledge", opt=ACKNOWLEDGE_ALERTS)
async def acknowledge(request: PageRequest) -> Response[Any]:
    """``service.acknowledge`` for each chosen alert (as ``POST /api/v1/alerts/{id}/acknowledge``), then
    303 back to the list the form was on."""
    form = await request.form()
    next_ = local_path(form.get("next")) or "/alerts"
    chosen = [v.strip() for v in form.getall("alert", []) if isinstance(v, str) and v.strip()]
    try:
        data = decode_form({"alert": chosen} if chosen else {}, AcknowledgeForm)
        chosen_ids = list(dict.fromkeys(data.alert))
        for alert_id in chosen_ids:  # every one exists, or none is acknowledged
            await service.get(alert_id)
        for alert_id in chosen_ids:
            await service.acknowledge(alert_id, actor=actor(request))
    except RosterError as exc:
        if not chosen:
            message = "choose at least one alert"
        elif exc.status == 404 or not exc.errors:
            message = exc.detail
        else:
            message = exc.errors[0].message
        # The list the form was on, with the message above it (nothing was written).
        params = _params(parse_qsl(urlsplit(next_).query))
        return await _page(request, params, next_, errors={"alert": message}, status=exc.status)
    return redirect(next_)


HANDLERS: list[ControllerRouterHandler] = [alerts_page, acknowledge]
