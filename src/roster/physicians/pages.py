"""The roster and physician pages (api.md "The workspace", pages 2 and 3) over the API's own services.

The roster lists ``physicians.service.list_page`` (the query behind ``GET /api/v1/physicians``) with a
badge per compliance check, computed for the page's rows at once from the roster index's facts
(``compliance.service.current_standing``); the compliance-reason filter selects its physicians over the
whole roster first (``compliance.service.failing_today``), so it holds across pages. Its export is the
exports service's writer, for the filter's physicians. The physician page shows ``compliance.report``
(replayed from history for a past ``as_of``), and its forms call the same ``create``/``update`` as the API.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
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
from roster.assignments import service as assignments
from roster.audit import service as audit
from roster.certifications import service as certifications
from roster.certifications.schemas import CertificationCreate, CertificationRead, CertificationUpdate
from roster.compliance import service as compliance
from roster.compliance.rules import COMPLIANCE_REASONS, SOURCE_CHECKS, Check
from roster.errors import InvalidInput, NotFound, RosterError
from roster.exports import service as exports
from roster.exports.routes import EXPORT_ROSTER
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
#: A check that passes but ends within this many days is shown as due.
DUE_WITHIN_DAYS = 90
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
}
SCREENING_CHECKS = frozenset(check for check, _ in SOURCE_CHECKS.values())
LINES_OF_BUSINESS: tuple[str, ...] = LineOfBusiness.__args__  # type: ignore[attr-defined]
STATUSES: tuple[str, ...] = PhysicianStatus.__args__  # type: ignore[attr-defined]
SORT_LABELS = (("name", "Last name"), ("npi", "NPI"))
LICENSE_STATUSES = ("active", "inactive", "expired", "suspended", "revoked", "probation")
CERTIFICATION_STATUSES = ("certified", "lapsed", "suspended", "revoked", "inactive")
MOC_STATUSES = ("meeting", "not_meeting", "not_required")
DEGREES = ("MD", "DO")
FILTERS = ("q", "state", "specialty", "line_of_business", "status", "reason", "sort")


class RosterQuery(msgspec.Struct, forbid_unknown_fields=False):
    """The roster's URL query: the API list's parameters, plus a compliance reason and a sort."""

    q: Annotated[str, Meta(max_length=100)] | None = None
    state: Annotated[str, Meta(max_length=16)] | None = None
    specialty: Annotated[str, Meta(max_length=64)] | None = None
    line_of_business: LineOfBusiness | None = None
    status: PhysicianStatus | None = None
    reason: Annotated[str, Meta(max_length=64)] | None = None
    sort: Literal["name", "npi"] = "name"
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
    if check.expires_on is not None and check.check not in SCREENING_CHECKS and check.expires_on <= soon:
        return "due", f"until {check.expires_on.isoformat()}"
    return "ok", "ok"


async def _members(request: PageRequest, query: RosterQuery) -> service.Membership | None:
    if query.reason is None:
        return None
    return await compliance.failing_today(roster_cache(request.app.state), query.reason)


def _filters(query: RosterQuery) -> dict[str, Any]:
    return {
        "state": query.state,
        "specialty": query.specialty,
        "line_of_business": query.line_of_business,
        "status": query.status,
        "q": query.q,
    }


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
        "sorts": SORT_LABELS,
        "checks": CHECK_LABELS,
        "can_export": can_export(request),
        "specialties": sorted(((s.slug, s.name) for s in names.values() if s.physician), key=lambda s: s[1]),
    }
    try:
        query = decode_form(params, RosterQuery)
        members = await _members(request, query)
        page = await service.list_page(
            **_filters(query), cursor=query.cursor, limit=PAGE_SIZE, sort=query.sort, members=members
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
    """The current filter's physicians (all pages) in the import layout, through the exports writer."""
    params = _params(request, (*FILTERS, "format"))
    try:
        query = decode_form(params, ExportQuery)
        ids = await service.list_ids(**_filters(query), members=await _members(request, query))
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
    records: list[UUID | str] = [physician_id, *(x.id for x in (*lics, *certs, *hits, *open_assignments))]
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
        events=[(e, _changes(e.before, e.after)) for e in events],
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


@post("/physicians/{physician_id:uuid}/licenses", opt=WRITE_ROSTER, status_code=303)
async def add_license(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    await service.require(physician_id)

    async def create(values: dict[str, Any]) -> None:
        await licenses.create(physician_id, decode_form(values, LicenseCreate), actor=actor(request))

    values, errors = await submit(request, create, booleans=("restricted",))
    if errors is not None:
        return await _physician_page(request, physician_id, status=422, license_form=values, license_errors=errors)
    return redirect(f"/physicians/{physician_id}")


@post("/physicians/{physician_id:uuid}/certifications", opt=WRITE_ROSTER, status_code=303)
async def add_certification(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    await service.require(physician_id)

    async def create(values: dict[str, Any]) -> None:
        await certifications.create(physician_id, decode_form(values, CertificationCreate), actor=actor(request))

    values, errors = await submit(request, create, booleans=("time_unlimited",))
    if errors is not None:
        return await _physician_page(request, physician_id, status=422, cert_form=values, cert_errors=errors)
    return redirect(f"/physicians/{physician_id}")


def _form_of(record: msgspec.Struct) -> dict[str, Any]:
    """A record's fields as its edit form shows them (dates ISO, blanks empty)."""
    return {
        k: ("" if v is None else v.isoformat() if isinstance(v, date) else v)
        for k, v in msgspec.structs.asdict(record).items()
    }


def _edit(
    request: PageRequest, kind: str, record: LicenseRead | CertificationRead, physician: PhysicianRead, **context: Any
) -> Template:
    return render(
        request,
        "physicians/edit.html",
        kind=kind,
        record=record,
        physician=physician,
        degrees=DEGREES,
        license_statuses=LICENSE_STATUSES,
        certification_statuses=CERTIFICATION_STATUSES,
        moc_statuses=MOC_STATUSES,
        **{"values": _form_of(record), "errors": {}, **context},
    )


async def _specialties() -> list[tuple[str, str]]:
    names = (await specialty_index()).by_slug
    return sorted(((s.slug, s.name) for s in names.values() if s.physician), key=lambda s: s[1])


@get("/licenses/{license_id:uuid}/edit", opt=WRITE_ROSTER)
async def edit_license_page(request: PageRequest, license_id: FromPath[UUID]) -> Template:
    record = await licenses.get(license_id)
    return _edit(request, "license", record, await service.get(record.physician_id))


@post("/licenses/{license_id:uuid}/edit", opt=WRITE_ROSTER, status_code=303)
async def edit_license(request: PageRequest, license_id: FromPath[UUID]) -> Response[Any]:
    record = await licenses.get(license_id)

    async def update(values: dict[str, Any]) -> None:
        await licenses.update(license_id, decode_form(values, LicenseUpdate), actor=actor(request))

    values, errors = await submit(request, update, booleans=("restricted",))
    if errors is not None:
        physician = await service.get(record.physician_id)
        return _edit(request, "license", record, physician, values=values, errors=errors, status=422)
    return redirect(f"/physicians/{record.physician_id}")


@get("/certifications/{certification_id:uuid}/edit", opt=WRITE_ROSTER)
async def edit_certification_page(request: PageRequest, certification_id: FromPath[UUID]) -> Template:
    record = await certifications.get(certification_id)
    physician = await service.get(record.physician_id)
    return _edit(request, "certification", record, physician, specialties=await _specialties())


@post("/certifications/{certification_id:uuid}/edit", opt=WRITE_ROSTER, status_code=303)
async def edit_certification(request: PageRequest, certification_id: FromPath[UUID]) -> Response[Any]:
    record = await certifications.get(certification_id)

    async def update(values: dict[str, Any]) -> None:
        await certifications.update(certification_id, decode_form(values, CertificationUpdate), actor=actor(request))

    values, errors = await submit(request, update, booleans=("time_unlimited",))
    if errors is not None:
        physician = await service.get(record.physician_id)
        return _edit(
            request,
            "certification",
            record,
            physician,
            values=values,
            errors=errors,
            status=422,
            specialties=await _specialties(),
        )
    return redirect(f"/physicians/{record.physician_id}")


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
