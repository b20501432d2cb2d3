"""The roster and physician pages (api.md "The workspace", pages 2 and 3) over the API's own services.

The roster lists ``physicians.service.list_page`` (the query behind ``GET /api/v1/physicians``) with a
badge per compliance check, computed for the page's rows at once from the roster index's facts
(``compliance.service.current_standing``); the compliance-reason filter selects its physicians over the
whole roster first (``compliance.service.failing_today``), so it holds across pages, and so does the
standing filter (compliant, at risk within 90 days, non-compliant: ``compliance.service.in_standing``, the
home page's counts). Sorted by next expiry, the order is the roster index's (``expiry_order``, kept per
roster version) and each page's rows are read with the list's own query. Its export is the exports
service's writer, for the filter's physicians. The physician page shows ``compliance.report``
(replayed from history for a past ``as_of``), and its forms call the same ``create``/``update`` as the API.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from functools import reduce
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler
from msgspec import Meta

from roster import clock
from roster.api.auth import READ_ROSTER, ROLES, WRITE_ROSTER
from roster.api.pagination import Page, cursor_key, encode_cursor
from roster.assignments import service as assignments
from roster.audit import service as audit
from roster.certifications import service as certifications
from roster.certifications.schemas import CertificationCreate, CertificationRead, CertificationUpdate
from roster.compliance import service as compliance
from roster.compliance.rules import COMPLIANCE_REASONS, Check
from roster.errors import FieldError, InvalidInput, NotFound, RosterError
from roster.exports import service as exports
from roster.exports.routes import EXPORT_ROSTER
from roster.history import repository as versions
from roster.history import service as history
from roster.licenses import service as licenses
from roster.licenses.schemas import LicenseCreate, LicenseRead, LicenseUpdate
from roster.matching.facts import reason_words
from roster.matching.service import roster_cache
from roster.physicians import service
from roster.physicians.schemas import PhysicianRead
from roster.reference.service import specialty_index
from roster.screening import service as screening
from roster.vocabulary import LineOfBusiness, PhysicianStatus
from roster.web.page import (
    PageRequest,
    actor,
    decode_form,
    field_errors,
    query_errors,
    redirect,
    render,
    submit,
    user_of,
)

PAGE_SIZE = 50
#: A check that passes but ends within this many days is shown as due (as "at risk" is counted).
DUE_WITHIN_DAYS = compliance.AT_RISK_DAYS
#: The timeline shows this many of the newest audit events.
TIMELINE_EVENTS = 100
#: Short column headings for the compliance checks (the report's check names).
CHECK_LABELS = {
    "active": "Active",
    "license": "License",
    "board_certification": "Board cert.",
    "oig_exclusion": "OIG",
    "sam_exclusion": "SAM",
    "cms_preclusion": "CMS",
    "npi_active": "NPI",
    "recredentialing": "Recred.",
    "irr": "IRR",
    "clinical_experience": "Experience",
    "policy_attestation": "Policies",
}
LINES_OF_BUSINESS: tuple[str, ...] = LineOfBusiness.__args__  # type: ignore[attr-defined]
STATUSES: tuple[str, ...] = PhysicianStatus.__args__  # type: ignore[attr-defined]
SORT_LABELS = (("name", "Last name"), ("npi", "NPI"), ("expiry", "Next expiry"))
STANDING_LABELS = (
    ("compliant", "Compliant today"),
    ("at_risk", f"At risk within {compliance.AT_RISK_DAYS} days"),
    ("non_compliant", "Non-compliant today"),
)
LICENSE_STATUSES = ("active", "inactive", "expired", "suspended", "revoked", "probation")
CERTIFICATION_STATUSES = ("certified", "lapsed", "suspended", "revoked", "inactive")
MOC_STATUSES = ("meeting", "not_meeting", "not_required")
DEGREES = ("MD", "DO")
FILTERS = ("q", "state", "specialty", "line_of_business", "status", "reason", "compliance", "sort")


class RosterQuery(msgspec.Struct, forbid_unknown_fields=False):
    """The roster's URL query: the API list's parameters, plus a compliance reason, a compliance standing
    (``compliance.STANDINGS``) and a sort."""

    q: Annotated[str, Meta(max_length=100)] | None = None
    state: Annotated[str, Meta(max_length=16)] | None = None
    specialty: Annotated[str, Meta(max_length=64)] | None = None
    line_of_business: LineOfBusiness | None = None
    status: PhysicianStatus | None = None
    reason: Annotated[str, Meta(max_length=64)] | None = None
    compliance: Annotated[str, Meta(max_length=32)] | None = None
    sort: Literal["name", "npi", "expiry"] = "name"
    cursor: Annotated[str, Meta(max_length=512)] | None = None


class ExportQuery(RosterQuery):
    format: Literal["csv", "xlsx"] = "csv"


class AsOfQuery(msgspec.Struct, forbid_unknown_fields=False):
    as_of: date | None = None


def _params(request: PageRequest, names: tuple[str, ...]) -> dict[str, str]:
    return {k: v.strip() for k, v in request.query_params.items() if k in names and isinstance(v, str) and v.strip()}


def can_write(request: PageRequest) -> bool:
    return user_of(request).role in WRITE_ROSTER[ROLES]


def can_export(request: PageRequest) -> bool:
    return user_of(request).role in EXPORT_ROSTER[ROLES]


def badge_of(check: Check, today: date) -> tuple[str, str]:
    """(badge status, words) of one check: fails, passes but ends soon, or passes. Screening's date is the
    list's freshness (a monthly reload renews it), so it is no deadline to warn of."""
    if not check.ok:
        return "fail", "fails"
    soon = today + timedelta(days=DUE_WITHIN_DAYS)
    if check.expires_on is not None and check.check not in compliance.SCREENING_CHECKS and check.expires_on <= soon:
        return "due", f"until {check.expires_on.isoformat()}"
    return "ok", "ok"


def _both(a: service.Membership, b: service.Membership) -> service.Membership:
    """Physicians kept by both memberships."""
    share = a.share * b.share
    if a.excluded and b.excluded:
        return service.Membership(ids=a.ids | b.ids, excluded=True, share=share)
    if a.excluded or b.excluded:
        kept, dropped = (b, a) if a.excluded else (a, b)
        return service.Membership(ids=kept.ids - dropped.ids, share=share)
    return service.Membership(ids=a.ids & b.ids, share=share)


async def _members(request: PageRequest, query: RosterQuery) -> service.Membership | None:
    """The physicians the compliance filters (a failing reason, a standing) keep, over the whole roster."""
    errors: list[FieldError] = []
    for name, require in (("reason", compliance.require_reason), ("compliance", compliance.require_standing)):
        value = getattr(query, name)
        try:
            if value is not None:
                require(value)
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(detail="; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    cache = roster_cache(request.app.state)
    chosen = []
    if query.reason is not None:
        chosen.append(await compliance.failing_today(cache, query.reason))
    if query.compliance is not None:
        chosen.append(await compliance.in_standing(cache, query.compliance))
    return reduce(_both, chosen) if chosen else None


def _filters(query: RosterQuery) -> service.RosterFilters:
    return service.RosterFilters(query.state, query.specialty, query.line_of_business, query.status, query.q)


def _expiry_of(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


#: Sorted by next expiry, a page's physicians are looked for this many candidates at a time (then twice
#: as many, up to the most the list query takes as ids).
FIRST_CHUNK = 2 * PAGE_SIZE


async def _expiry_page(
    request: PageRequest, query: RosterQuery, members: service.Membership | None
) -> Page[PhysicianRead]:
    """The filter's physicians soonest next expiry first (``compliance.expiry_order``, kept per roster
    version), keyset-paged on (next expiry, NPI). The order is walked from the cursor, the compliance
    filters applied as it goes, and each run of candidates is handed to the list's own query, which
    applies the other filters and reads the rows: no second copy of any filter."""
    after = cursor_key(query.cursor, _expiry_of, str)
    order = await compliance.expiry_order(roster_cache(request.app.state))
    at = 0 if after is None else bisect_right(order.keys, compliance.expiry_sort_key(*after))
    found: list[tuple[int, PhysicianRead]] = []
    chunk = FIRST_CHUNK
    while True:  # once at least, so that the list query judges the filters (an unknown state is a 422)
        candidates: list[int] = []
        while len(candidates) < chunk and at < len(order.ids):
            if members is None or members.keeps(order.ids[at]):
                candidates.append(at)
            at += 1
        read = await service.list_page(
            _filters(query),
            cursor=None,
            limit=len(candidates),
            sort="npi",
            members=service.Membership(ids=frozenset(order.ids[i] for i in candidates)),
        )
        by_id = {p.id: p for p in read.items}
        found += [(i, by_id[order.ids[i]]) for i in candidates if order.ids[i] in by_id]
        if len(found) > PAGE_SIZE or at >= len(order.ids):
            break
        chunk = min(max(service.MAX_LISTED_IDS, FIRST_CHUNK), chunk * 2)
    if len(found) <= PAGE_SIZE:
        return Page(items=[p for _, p in found], next_cursor=None)
    last = found[PAGE_SIZE - 1][0]
    expiry = order.expiries[last]
    cursor = encode_cursor(expiry.isoformat() if expiry else "", order.keys[last][1])
    return Page(items=[p for _, p in found[:PAGE_SIZE]], next_cursor=cursor)


@get("/roster", opt=READ_ROSTER)
async def roster_page(request: PageRequest) -> Template:
    params = _params(request, (*FILTERS, "cursor"))
    names = (await specialty_index()).by_slug
    common = {
        "params": params,
        "filters": {k: v for k, v in params.items() if k != "cursor"},
        "lines": LINES_OF_BUSINESS,
        "statuses": STATUSES,
        "reasons": [(r, r.replace("_", " ")) for r in COMPLIANCE_REASONS],
        "standings": STANDING_LABELS,
        "sorts": SORT_LABELS,
        "checks": CHECK_LABELS,
        "can_export": can_export(request),
        "specialties": sorted(((s.slug, s.name) for s in names.values() if s.physician), key=lambda s: s[1]),
    }
    try:
        query = decode_form(params, RosterQuery)
        members = await _members(request, query)
        if query.sort == "expiry":
            page = await _expiry_page(request, query, members)
        else:
            page = await service.list_page(
                _filters(query), cursor=query.cursor, limit=PAGE_SIZE, sort=query.sort, members=members
            )
    except RosterError as exc:
        return render(request, "physicians/roster.html", status=422, errors=query_errors(exc), rows=None, **common)
    standing = await compliance.current_standing(roster_cache(request.app.state), [p.id for p in page.items])
    today = clock.today()
    rows = []
    for physician in page.items:
        facts, report = standing[physician.id]
        rows.append(
            {
                "physician": physician,
                "specialties": [names[s].name if s in names else s for s in physician.specialties],
                "states": sorted({lic.state for lic in facts.licenses}),
                "report": report,
                "next_expiry": compliance.next_expiry(report),
                "badges": {c.check: (*badge_of(c, today), c.detail) for c in report.checks},
            }
        )
    return render(
        request,
        "physicians/roster.html",
        errors={},
        rows=rows,
        next_cursor=page.next_cursor,
        first=query.cursor is not None,
        **common,
    )


@get("/roster/export", opt=EXPORT_ROSTER)
async def roster_export(request: PageRequest) -> Response[bytes] | Template:
    """The current filter's physicians (all pages) in the import layout, through the exports writer, handed
    over in the page's order (by next expiry when the page is sorted so)."""
    params = _params(request, (*FILTERS, "format"))
    try:
        query = decode_form(params, ExportQuery)
        ids = await service.list_ids(_filters(query), members=await _members(request, query))
        if query.sort == "expiry":
            position = (await compliance.expiry_order(roster_cache(request.app.state))).position
            ids.sort(key=lambda pid: position.get(pid, len(position)))
    except RosterError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in query_errors(exc).items())
        return render(request, "error.html", status=422, status_code=422, detail=detail)
    exported = await exports.export_roster(query.format, ids)
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={"Content-Disposition": f'attachment; filename="{exported.file_name}"'},
    )


# ------------------------------------------------------------------------------------ the physician


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """The fields an audited write changed (timestamps aside), for the timeline."""
    before, after = before or {}, after or {}
    skip = {"id", "created_at", "updated_at", "physician_id"}
    keys = [k for k in dict.fromkeys([*before, *after]) if k not in skip and before.get(k) != after.get(k)]
    return [(k, before.get(k), after.get(k)) for k in keys]


def _subject(entity: str, record: dict[str, Any] | None) -> str:
    """What a license or certification event is about, in the words of the page's tables."""
    if not record:
        return ""
    if entity == "license":
        return f"{record.get('state', '')} {record.get('number', '')}".strip()
    if entity == "certification":
        return f"{record.get('board', '')} {str(record.get('specialty', '')).replace('_', ' ')}".strip()
    return ""


async def _ever_owned(physician_id: UUID) -> list[str]:
    """Every license and certification the physician has had, deleted ones included: each record's
    version in force now (a deletion is a version too, carrying the record as it was)."""
    rows = await versions.versions_at(physician_id=physician_id, at=clock.now())
    return [str(row["data"]["id"]) for row in rows if row["entity"] != "physician" and row["data"].get("id")]


async def _records_now(physician_id: UUID) -> tuple[list[LicenseRead], list[CertificationRead]]:
    lics = await licenses.list_page(
        physician_id=physician_id, state=None, status=None, expiring_within_days=None, cursor=None, limit=500
    )
    certs = await certifications.list_page(
        physician_id=physician_id, specialty=None, expiring_within_days=None, cursor=None, limit=500
    )
    return lics.items, certs.items


async def _file(physician_id: UUID, at: datetime) -> tuple[PhysicianRead, list[LicenseRead], list[CertificationRead]]:
    """The physician, licenses and certifications as recorded at ``at``."""
    file = await history.physician_file_as_of(physician_id, at)
    return (
        msgspec.convert(file["physician"][0], PhysicianRead, strict=False),
        sorted(
            (msgspec.convert(d, LicenseRead, strict=False) for d in file.get("license", [])),
            key=lambda lic: (lic.expires_on, str(lic.id)),
        ),
        [msgspec.convert(d, CertificationRead, strict=False) for d in file.get("certification", [])],
    )


async def _physician_page(
    request: PageRequest,
    physician_id: UUID,
    *,
    status: int = 200,
    license_form: dict[str, Any] | None = None,
    license_errors: dict[str, str] | None = None,
    cert_form: dict[str, Any] | None = None,
    cert_errors: dict[str, str] | None = None,
) -> Template:
    current = await service.get(physician_id)  # 404 for an unknown id, whatever the date
    params = _params(request, ("as_of",))
    errors: dict[str, str] = {}
    as_of: date | None = None
    report = None
    try:
        as_of = decode_form(params, AsOfQuery).as_of
        report = await compliance.report(physician_id, as_of, request.app.state["policy"])
    except (InvalidInput, NotFound) as exc:
        errors = field_errors(exc)
        if isinstance(exc, NotFound):  # not yet on the roster then: the message belongs to the date
            errors = {"as_of": exc.detail}
        as_of = None
        report = await compliance.report(physician_id, None, request.app.state["policy"])
        status = 422
    today = clock.today()
    replay_at = compliance.end_of_day(as_of) if as_of is not None and as_of < today else None
    if replay_at is not None:
        physician, lics, certs = await _file(physician_id, replay_at)
    else:
        physician, (lics, certs) = current, await _records_now(physician_id)
    hits = (
        await screening.list_hits(status=None, source=None, physician_id=physician_id, cursor=None, limit=200)
    ).items
    open_assignments = await assignments.open_for_physician(physician_id)
    owned = await _ever_owned(physician_id)  # so that a deleted record's events stay on the timeline
    records = list(dict.fromkeys([str(physician_id), *owned, *(str(x.id) for x in (*hits, *open_assignments))]))
    events = await audit.for_records(records, limit=TIMELINE_EVENTS)
    if replay_at is not None:
        events = [e for e in events if e.occurred_at <= replay_at]
    names = (await specialty_index()).by_slug
    slugs = {*physician.specialties, *(c.specialty for c in certs)}
    return render(
        request,
        "physicians/physician.html",
        status=status,
        physician=physician,
        report=report,
        badges={c.check: badge_of(c, report.as_of) for c in report.checks},
        check_labels=CHECK_LABELS,
        reason_words=reason_words,
        licenses=lics,
        certifications=certs,
        hits=hits,
        assignments=open_assignments,
        events=[(e, _changes(e.before, e.after), _subject(e.entity, e.after or e.before)) for e in events],
        as_of=as_of,
        replaying=replay_at is not None,
        errors=errors,
        params={"as_of": params.get("as_of", "")},
        can_write=can_write(request) and replay_at is None,
        license_form=license_form or {"license_type": "MD", "status": "active"},
        license_errors=license_errors or {},
        cert_form=cert_form or {"moc_status": "meeting", "status": "certified"},
        cert_errors=cert_errors or {},
        specialty_names={s: names[s].name if s in names else s for s in slugs},
        specialties=sorted(((s.slug, s.name) for s in names.values() if s.physician), key=lambda s: s[1]),
        degrees=DEGREES,
        license_statuses=LICENSE_STATUSES,
        certification_statuses=CERTIFICATION_STATUSES,
        moc_statuses=MOC_STATUSES,
    )


@get("/physicians/{physician_id:uuid}", opt=READ_ROSTER)
async def physician_page(request: PageRequest, physician_id: FromPath[UUID]) -> Template:
    return await _physician_page(request, physician_id)


#: The checkbox of each form kind (absent from a post when unchecked).
CHECKBOXES = {"license": "restricted", "cert": "time_unlimited"}


async def _add(
    request: PageRequest, physician_id: UUID, create: Callable[[dict[str, Any]], Awaitable[Any]], *, kind: str
) -> Response[Any]:
    """An add form (a license or a certification) posted: written by ``create`` (the API's service, on the
    API's schema), or the physician page again with the service's messages beside the form's fields."""
    await service.require(physician_id)
    values, errors = await submit(request, create, booleans=(CHECKBOXES[kind],))
    if errors is not None:
        forms = {f"{kind}_form": values, f"{kind}_errors": errors}
        return await _physician_page(request, physician_id, status=422, **forms)
    return redirect(f"/physicians/{physician_id}")


@post("/physicians/{physician_id:uuid}/licenses", opt=WRITE_ROSTER, status_code=303)
async def add_license(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    async def create(values: dict[str, Any]) -> None:
        await licenses.create(physician_id, decode_form(values, LicenseCreate), actor=actor(request))

    return await _add(request, physician_id, create, kind="license")


@post("/physicians/{physician_id:uuid}/certifications", opt=WRITE_ROSTER, status_code=303)
async def add_certification(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    async def create(values: dict[str, Any]) -> None:
        await certifications.create(physician_id, decode_form(values, CertificationCreate), actor=actor(request))

    return await _add(request, physician_id, create, kind="cert")


def _form_of(record: msgspec.Struct) -> dict[str, Any]:
    """A record's fields as its edit form shows them (dates ISO, blanks empty)."""
    return {
        k: ("" if v is None else v.isoformat() if isinstance(v, date) else v)
        for k, v in msgspec.structs.asdict(record).items()
    }


async def _specialties() -> list[tuple[str, str]]:
    names = (await specialty_index()).by_slug
    return sorted(((s.slug, s.name) for s in names.values() if s.physician), key=lambda s: s[1])


async def _edit(request: PageRequest, kind: str, record: LicenseRead | CertificationRead, **context: Any) -> Template:
    """A license's or certification's edit form: the record's values, or the posted ones with the service's
    messages beside their fields."""
    extra = {"specialties": await _specialties()} if kind == "certification" else {}
    return render(
        request,
        "physicians/edit.html",
        kind=kind,
        record=record,
        physician=await service.get(record.physician_id),
        degrees=DEGREES,
        license_statuses=LICENSE_STATUSES,
        certification_statuses=CERTIFICATION_STATUSES,
        moc_statuses=MOC_STATUSES,
        **{"values": _form_of(record), "errors": {}, **extra, **context},
    )


async def _save(
    request: PageRequest,
    kind: str,
    record: LicenseRead | CertificationRead,
    update: Callable[[dict[str, Any]], Awaitable[Any]],
) -> Response[Any]:
    """An edit form posted: written by ``update`` (the API's service, on the API's PATCH schema; an emptied
    optional field clears it), or the form again with the service's messages."""
    checkbox = CHECKBOXES["license" if kind == "license" else "cert"]
    values, errors = await submit(request, update, booleans=(checkbox,), blank_clears=True)
    if errors is not None:
        return await _edit(request, kind, record, values=values, errors=errors, status=422)
    return redirect(f"/physicians/{record.physician_id}")


@get("/licenses/{license_id:uuid}/edit", opt=WRITE_ROSTER)
async def edit_license_page(request: PageRequest, license_id: FromPath[UUID]) -> Template:
    return await _edit(request, "license", await licenses.get(license_id))


@post("/licenses/{license_id:uuid}/edit", opt=WRITE_ROSTER, status_code=303)
async def edit_license(request: PageRequest, license_id: FromPath[UUID]) -> Response[Any]:
    async def update(values: dict[str, Any]) -> None:
        await licenses.update(license_id, decode_form(values, LicenseUpdate), actor=actor(request))

    return await _save(request, "license", await licenses.get(license_id), update)


@get("/certifications/{certification_id:uuid}/edit", opt=WRITE_ROSTER)
async def edit_certification_page(request: PageRequest, certification_id: FromPath[UUID]) -> Template:
    return await _edit(request, "certification", await certifications.get(certification_id))


@post("/certifications/{certification_id:uuid}/edit", opt=WRITE_ROSTER, status_code=303)
async def edit_certification(request: PageRequest, certification_id: FromPath[UUID]) -> Response[Any]:
    async def update(values: dict[str, Any]) -> None:
        await certifications.update(certification_id, decode_form(values, CertificationUpdate), actor=actor(request))

    return await _save(request, "certification", await certifications.get(certification_id), update)


HANDLERS: list[ControllerRouterHandler] = [
    roster_page,
    roster_export,
    physician_page,
    add_license,
    add_certification,
    edit_license_page,
    edit_license,
    edit_certification_page,
    edit_certification,
]
