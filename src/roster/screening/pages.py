"""The hit review queue (``/hits``): each hit's physician beside the list row, decided with a note.

A thin face over ``roster.screening.service``: the list is ``service.list_hits`` (the API's query, with
the page's extra ``decided`` view), a decision is ``service.decide`` with the API's own ``HitDecision``
schema, so a missing note, a second decision (409) or a role that may not decide are refused exactly
as the API refuses them.

Keyboard: ``j``/``k`` move the selection, ``c``/``d`` open the selected hit's confirm/dismiss form with
its note field focused; only that form's own button decides. A stray key therefore never decides a
hit, and a hit is never decided without a note (the note is required, by the browser and by the API).
With htmx, opening the form and deciding replace just that hit's row; without it, the same links and
forms work as plain pages (the form posts, then 303 back to the list).
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from roster.api.auth import READ_SCREENING, ROLES, WRITE_ROSTER
from roster.api.pagination import Limit
from roster.errors import RosterError
from roster.reports.pages import int_query
from roster.screening import service
from roster.screening.schemas import HitDecision, HitRead, Source
from roster.web.guard import local_path
from roster.web.page import (
    PageRequest,
    actor,
    decode_form,
    field_errors,
    form_values,
    query_errors,
    redirect,
    render,
    user_of,
)

PAGE_SIZE = 20
SOURCES: tuple[str, ...] = Source.__args__  # type: ignore[attr-defined]
SOURCE_LABELS = {"oig_leie": "OIG LEIE", "sam": "SAM.gov", "cms_preclusion": "CMS Preclusion List"}
#: The page's views: the API's statuses, plus every decided hit, plus all.
STATUSES = ("pending", "confirmed", "dismissed", "decided", "all")
DECISIONS = {"confirmed": "Confirm", "dismissed": "Dismiss"}

#: The fields the matcher compares, in the order a person reads them.
FIELDS = (
    ("npi", "NPI", "npi"),
    ("last_name", "Last name", "last_name"),
    ("first_name", "First name", "first_name"),
    ("middle_name", "Middle name", "middle_name"),
    ("dob", "Date of birth", "dob"),
    ("state", "State", "state"),
)
#: How strongly each piece of evidence (``roster.screening.evidence``) ties the row to the physician.
AGREE = frozenset({"equal", "exact", "agree", "licensed"})
NEAR = frozenset({"transposed", "typo", "former", "variant", "truncated", "swapped", "first_word", "initial"})
NEAR |= {"nickname", "middle"}
EVIDENCE_WORDS = {
    "equal": "same",
    "exact": "same",
    "agree": "agree",
    "licensed": "licensed there",
    "transposed": "day and month swapped",
    "typo": "one character differs",
    "former": "a former last name",
    "variant": "same name, written differently",
    "truncated": "cut short on the list",
    "swapped": "first and last names swapped",
    "first_word": "first word of the name",
    "initial": "initial only",
    "nickname": "a nickname",
    "middle": "the physician's middle name",
    "absent": "not on one side",
    "conflict": "different",
    "different": "different",
    "other": "not a state licensed in",
}


class HitsQuery(msgspec.Struct, forbid_unknown_fields=False):
    status: Literal["pending", "confirmed", "dismissed", "decided", "all"] = "pending"
    source: Source | None = None
    cursor: str | None = None


def may_decide(request: PageRequest) -> bool:
    return user_of(request).role in WRITE_ROSTER[ROLES]


def _params(request: PageRequest) -> dict[str, Any]:
    return {k: v for k, v in request.query_params.items() if isinstance(v, str) and v.strip()}


def _list_url(request: PageRequest) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def comparison(hit: HitRead, subject: service.HitSubject | None, columns: dict[str, str]) -> list[dict[str, Any]]:
    """One line per compared field: the physician's value, the list row's, and how they compared."""
    lines = []
    for field, label, evidence_key in FIELDS:
        evidence = hit.evidence.get(evidence_key)
        column = columns.get(field)
        listed = hit.record.get(column) if column else None
        mine: Any = None
        if subject is not None:
            mine = {
                "npi": subject.npi,
                "last_name": " / ".join([subject.last_name, *subject.former_last_names]),
                "first_name": subject.first_name,
                "middle_name": subject.middle_name,
                "dob": subject.date_of_birth.isoformat() if subject.date_of_birth else None,
                "state": ", ".join(subject.states),
            }[field]
        strength = "agree" if evidence in AGREE else "near" if evidence in NEAR else "differ"
        if evidence in (None, "absent"):
            strength = "absent"
        lines.append(
            {
                "field": field,
                "label": label,
                "physician": mine or "",
                "listed": listed or "",
                "column": column,
                "evidence": evidence,
                "words": EVIDENCE_WORDS.get(evidence or "", evidence or "not compared"),
                "strength": strength,
            }
        )
    return lines


async def _cards(request: PageRequest, hits: list[HitRead]) -> list[dict[str, Any]]:
    subjects = await service.hit_subjects([h.physician_id for h in hits])
    settings = request.app.state["settings"]
    return [
        {
            "hit": h,
            "subject": subjects.get(h.physician_id),
            "lines": comparison(h, subjects.get(h.physician_id), service.record_columns(h.source, settings)),
        }
        for h in hits
    ]


def _row(
    request: PageRequest,
    card: dict[str, Any],
    *,
    next_: str,
    opened: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
    selected: bool = True,
) -> Template:
    """One hit's row alone (htmx swaps it in place), or its own page without htmx."""
    context = {
        "card": card,
        "next": next_,
        "opened": opened,
        "errors": errors or {},
        "values": values or {},
        "selected": selected,
        "may_decide": may_decide(request),
        "decisions": DECISIONS,
        "source_labels": SOURCE_LABELS,
    }
    name = "screening/_hit_row.html" if request.htmx else "screening/hit.html"
    return render(request, name, status=status, **context)


@get("/hits", opt=READ_SCREENING)
async def hits_page(request: PageRequest) -> Template:
    params = _params(request)
    context: dict[str, Any] = {
        "params": params,
        "statuses": STATUSES,
        "sources": SOURCES,
        "source_labels": SOURCE_LABELS,
        "decisions": DECISIONS,
        "may_decide": may_decide(request),
        "next": _list_url(request),
    }
    try:
        query = decode_form({k: v for k, v in params.items() if k in ("status", "source", "cursor")}, HitsQuery)
        limit = int_query(request.query_params.get("limit"), "limit", Limit, PAGE_SIZE)
        page = await service.list_hits(
            status=None if query.status == "all" else query.status,
            source=query.source,
            physician_id=None,
            cursor=query.cursor,
            limit=limit,
        )
    except (ValidationException, RosterError) as exc:
        return render(request, "screening/hits.html", status=422, errors=query_errors(exc), cards=[], **context)
    cards = await _cards(request, page.items)
    return render(
        request,
        "screening/hits.html",
        errors={},
        cards=cards,
        status_filter=query.status,
        next_cursor=page.next_cursor,
        first=query.cursor is not None,
        **context,
    )


@get("/hits/{hit_id:uuid}", opt=READ_SCREENING)
async def hit_page(request: PageRequest, hit_id: FromPath[UUID]) -> Template:
    """One hit; ``?decision=confirmed|dismissed`` opens its decision form (for those who may decide)."""
    hit = await service.get_hit(hit_id)
    opened = request.query_params.get("decision")
    if opened not in DECISIONS or hit.status != "pending" or not may_decide(request):
        opened = None
    next_ = local_path(request.query_params.get("next")) or "/hits"
    (card,) = await _cards(request, [hit])
    return _row(request, card, next_=next_, opened=opened)


@post("/hits/{hit_id:uuid}/decision", opt=WRITE_ROSTER)
async def decide(request: PageRequest, hit_id: FromPath[UUID]) -> Response[Any]:
    """``service.decide``, as ``POST /api/v1/screening/hits/{id}/decision``, with the user as actor."""
    values = form_values(await request.form())
    next_ = local_path(values.pop("next", None)) or "/hits"
    try:
        hit = await service.decide(hit_id, decode_form(values, HitDecision), actor=actor(request))
    except RosterError as exc:
        hit = await service.get_hit(hit_id)  # an unknown hit is the 404 page
        errors = field_errors(exc)
        if exc.status == 409:
            errors["_"] = exc.detail
        opened = values.get("decision") if values.get("decision") in DECISIONS else "confirmed"
        (card,) = await _cards(request, [hit])
        return _row(
            request,
            card,
            next_=next_,
            opened=opened if hit.status == "pending" else None,
            errors=errors,
            values=values,
            status=exc.status,
        )
    if request.htmx:
        (card,) = await _cards(request, [hit])
        return _row(request, card, next_=next_)
    return redirect(next_)


HANDLERS: list[ControllerRouterHandler] = [hits_page, hit_page, decide]
