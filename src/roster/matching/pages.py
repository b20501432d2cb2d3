"""Try a case: the match form, and the answer of ``POST /api/v1/match`` with ``explain`` in words.

The form is read with the API's own ``MatchRequest`` and answered by the same ``service.match``; the
page adds only the words for each reason code (``REASON_WORDS``, kept beside the codes). A GET form, so
a tried case is a URL that can be shared. ``at`` and ``received_at`` are typed as local times of the
organization's zone (``ROSTER_DEFAULT_TIME_ZONE``, whose business hours decide who is on call first) or
given with an offset in a shared link; the answer's times are shown in that zone, named.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import get
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from roster.api.auth import allow
from roster.api.pagination import cursor_key, encode_cursor
from roster.availability.clocks import Urgency
from roster.errors import InvalidInput, RosterError
from roster.keys.schemas import Role
from roster.matching import service
from roster.matching.facts import reason_words
from roster.matching.schemas import MatchRequest
from roster.reference.service import specialty_index
from roster.schedules.pages import in_zone, instant_field
from roster.vocabulary import LineOfBusiness, ReviewType
from roster.web.page import PageRequest, decode_form, field_errors, form_values, render

FIELDS = tuple(f for f in MatchRequest.__struct_fields__ if f != "explain")
LINES_OF_BUSINESS: tuple[str, ...] = LineOfBusiness.__args__  # type: ignore[attr-defined]
REVIEW_TYPES: tuple[str, ...] = ReviewType.__args__  # type: ignore[attr-defined]
_SEPARATORS = re.compile(r"[\s,;]+")
#: Ineligible reviewers shown per page (a big roster has thousands for a rare specialty).
INELIGIBLE_PAGE = 50
#: The urgencies of ``MatchRequest`` (with the line of business and review type, they pick the clock).
URGENCIES: tuple[str, ...] = Urgency.__args__  # type: ignore[attr-defined]
#: Routers, and managers checking coverage for a case: trying one records nothing (assigning stays the
#: API's, router only), so the page admits both, as the workspace issue asks.
TRY_CASES = allow(Role.router, Role.manager)


def request_of(values: dict[str, Any], zone_name: str) -> MatchRequest:
    """The form as the API's ``MatchRequest`` (``explain`` on: the page shows every reason); local times
    are read in ``zone_name``."""
    body = {k: v for k, v in values.items() if k in FIELDS}
    ids = body.pop("prior_reviewer_ids", None)
    if ids:
        body["prior_reviewer_ids"] = [i for i in _SEPARATORS.split(str(ids)) if i]
    for name in ("at", "received_at"):
        if name in body:
            body[name] = instant_field(body, name, zone_name, required=False)
    if "available_now" in body:
        body["available_now"] = body["available_now"] in ("on", "true", "1", "yes")
    return decode_form({**body, "explain": True}, MatchRequest)


@get("/match", opt=TRY_CASES)
async def match_page(request: PageRequest) -> Template:
    cache = service.roster_cache(request.app.state)
    roster = await cache.current()
    specialties = sorted(
        ((s.slug, s.name) for s in (await specialty_index()).by_slug.values() if s.physician), key=lambda s: s[1]
    )
    values = form_values({k: v for k, v in request.query_params.items() if k in FIELDS})
    zone_name = request.app.state["settings"].default_time_zone
    errors: dict[str, str] = {}
    result = None
    status = 200
    start = 0
    if values:
        try:
            start = _offset(request.query_params.get("cursor"))
            result = await service.match(request_of(values, zone_name), cache)
        except RosterError as exc:
            errors, status = field_errors(exc), exc.status
    ineligible = []
    everyone = result.ineligible if result is not None and isinstance(result.ineligible, list) else []
    for r in everyone[start : start + INELIGIBLE_PAGE]:
        ineligible.append({"reviewer": r, "reasons": [(code, reason_words(code)) for code in r.reasons]})
    following = start + INELIGIBLE_PAGE
    return render(
        request,
        "matching/match.html",
        status=status,
        values={"limit": 5, **values},
        errors=errors,
        result=result,
        ineligible=ineligible,
        ineligible_total=len(everyone),
        first_shown=start + 1,
        next_cursor=encode_cursor(following) if following < len(everyone) else None,
        paged=start > 0,
        case_params=values,
        states=sorted(roster.states),
        specialties=specialties,
        lines=LINES_OF_BUSINESS,
        review_types=REVIEW_TYPES,
        urgencies=URGENCIES,
        zone_name=zone_name,
        local=in_zone,
    )


def _offset(cursor: str | None) -> int:
    """Where the page of ineligible reviewers starts (a cursor of an earlier page; 0 without one)."""
    key = cursor_key(cursor or None, int)
    if key is None:
        return 0
    if key[0] < 0:
        raise InvalidInput.on("cursor", "not a cursor returned by this API")
    return key[0]


HANDLERS: list[ControllerRouterHandler] = [match_page]
