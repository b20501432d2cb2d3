"""The audit pack page (issues 13 and 15): draw the period's sample of credentialing files and read its scores.

``/audits`` is ``GET /api/v1/audits/files`` for people: the same ``service.pull`` and the same audit event
per pull (``service.record_pull``, with the signed-in user as actor), so viewing a sample is recorded as a
JSON pull is. The ZIP and XLSX are the API's own downloads (``routes.zip_download`` / ``xlsx_download``),
served under the page's path because browsers carry no API key. A query without a seed is sent on to one
with a new seed, so every URL of the page names its draw: the download, the next page, a reload and a
bookmark hold exactly the files on screen.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Response, get
from litestar.response import File, Redirect, Template
from litestar.types import ControllerRouterHandler
from msgspec import Meta

from roster import clock
from roster.api.auth import READ_AUDIT
from roster.api.pagination import encode_cursor
from roster.audits import pack, routes, service
from roster.audits.rules import KINDS, MAX_SAMPLE, MAX_SEED
from roster.errors import RosterError
from roster.reports.monitoring import default_period
from roster.reports.pages import offset_of
from roster.web.page import PageRequest, actor, decode_form, form_values, query_errors, query_string, redirect, render

#: Files per page of the sample table (a sample may hold up to ``MAX_SAMPLE``).
PAGE_FILES = 50
FILTERS = ("period_start", "period_end", "sample", "seed")


class AuditQuery(msgspec.Struct, forbid_unknown_fields=False):
    """The page's URL query: ``GET /api/v1/audits/files``'s parameters, with the same bounds."""

    period_start: date
    period_end: date
    sample: Annotated[int, Meta(ge=1, le=MAX_SAMPLE)] | None = None
    seed: Annotated[int, Meta(ge=0, le=MAX_SEED)] | None = None
    cursor: str | None = None


def _params(request: PageRequest, names: tuple[str, ...]) -> dict[str, Any]:
    return form_values({k: v for k, v in request.query_params.items() if k in names})


async def _pull(request: PageRequest, query: AuditQuery) -> service.AuditPull:
    return await service.pull(
        query.period_start,
        query.period_end,
        settings=request.app.state["settings"],
        sample=query.sample,
        seed=query.seed,
    )


@get("/audits", opt=READ_AUDIT)
async def audits_page(request: PageRequest) -> Template | Redirect:
    params = _params(request, (*FILTERS, "cursor"))
    filters = {k: v for k, v in params.items() if k != "cursor"}
    if "period_start" not in params and "period_end" not in params:
        # Nothing asked yet: the form, filled with a suggested period; drawing a sample is a recorded pull.
        start, end = default_period(clock.today())
        suggested = {"period_start": start.isoformat(), "period_end": end.isoformat()}
        return render(request, "audits/audits.html", errors={}, params=suggested, pulled=None)
    try:
        query = decode_form(params, AuditQuery)
        if query.seed is None:
            # The seed goes into the URL before anything is drawn, so a reload or a bookmark shows these files.
            return redirect("/audits" + query_string(filters, seed=service.new_seed()))
        first = offset_of(query.cursor)
        pulled = await _pull(request, query)
    except RosterError as exc:
        errors = query_errors(exc)
        return render(request, "audits/audits.html", status=exc.status, errors=errors, params=filters, pulled=None)
    await service.record_pull(pulled, actor=actor(request), media="html")
    following = first + PAGE_FILES
    drawn = {**filters, "seed": pulled.seed}
    return render(
        request,
        "audits/audits.html",
        errors={},
        params=filters,
        pulled=pulled,
        kinds=KINDS,
        files=list(enumerate(pulled.files[first:following], start=first + 1)),
        failing=sum(1 for f in pulled.files if not f.passes),
        verdict=pack.verdict,
        drawn=drawn,
        next_cursor=encode_cursor(following) if following < len(pulled.files) else None,
        first=first > 0,
    )


async def _download_pull(request: PageRequest) -> service.AuditPull:
    """The pull a download link names (a bad query is the 422 error page, nothing pulled or recorded)."""
    return await _pull(request, decode_form(_params(request, FILTERS), AuditQuery))


@get("/audits/files.zip", opt=READ_AUDIT)
async def audit_pack_zip(request: PageRequest) -> File:
    """The pack (one PDF per file and an index), as ``Accept: application/zip`` gives it."""
    return await routes.zip_download(await _download_pull(request), actor=actor(request))


@get("/audits/files.xlsx", opt=READ_AUDIT)
async def audit_pack_xlsx(request: PageRequest) -> Response[bytes]:
    """The scores, one row per file and element, as the API's XLSX."""
    return await routes.xlsx_download(await _download_pull(request), actor=actor(request))


HANDLERS: list[ControllerRouterHandler] = [audits_page, audit_pack_zip, audit_pack_xlsx]
