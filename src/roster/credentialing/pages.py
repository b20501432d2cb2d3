"""The credentialing file and policy-update pages (issues 13 and 15) over the API's own services.

``/physicians/{id}/file`` shows and adds what ``/api/v1/physicians/{id}/verifications``,
``credentialing-decisions``, ``irr-sessions`` and ``cme`` hold, with the CME standing and the physician's
attestation status; ``/policy-updates`` publishes updates and records attestations. Roles are the API's
(``roster.credentialing.routes``). A verification's evidence file comes in the same form as the
verification: the upload streams through the API's ``receive_file`` (the deployment's size limit, staged in
the evidence directory) while the form's text fields are read beside it, and is kept by the same
``store_evidence`` as ``POST /api/v1/evidence``. Browsers carry no API key, so evidence is downloaded
from ``/evidence/{id}`` (the service's ``evidence_file``, to the same readers as the API's download).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import File, Template
from litestar.types import ControllerRouterHandler, Message
from msgspec import Meta
from multipart import MultipartSegment, ParserError, PushMultipartParser

from roster import clock
from roster.api.auth import ROLES
from roster.api.uploads import FRAMING, Upload, receive_file
from roster.config import Settings
from roster.credentialing import rules, service
from roster.credentialing.routes import PUBLISH_POLICY, READ_FILE, RECORD_ATTESTATION, WRITE_FILE
from roster.credentialing.schemas import (
    CME_CATEGORIES,
    METHODS,
    AttestationCreate,
    CmeCreditCreate,
    DecisionCreate,
    IrrSessionCreate,
    PolicyUpdateCreate,
    VerificationCreate,
)
from roster.errors import RosterError
from roster.physicians import service as physicians
from roster.web.guard import STREAMED_UPLOAD
from roster.web.page import (
    PageRequest,
    actor,
    decode_form,
    field_errors,
    form_values,
    query_errors,
    redirect,
    render,
    submit,
    user_of,
)

PAGE_SIZE = 50
#: A physician's file shows this many of each kind of record (a file holds tens, not hundreds).
FILE_ROWS = 500
UPLOAD_OPT = {**WRITE_FILE, STREAMED_UPLOAD: True}
DECISION_KINDS: tuple[str, ...] = rules.DecisionKind.__args__  # type: ignore[attr-defined]
DECISIONS: tuple[str, ...] = rules.DecisionOutcome.__args__  # type: ignore[attr-defined]
#: The file page's add forms: the prefix of their field ids, and the form's defaults.
FORMS = {
    "ver": {"outcome": "verified", "method": "primary_source"},
    "dec": {"kind": "recredentialing", "decision": "approved"},
    "irr": {},
    "cme": {"category": "ama_pra_1"},
}


def _settings(request: PageRequest) -> Settings:
    return request.app.state["settings"]


def _may(request: PageRequest, opt: dict[str, frozenset[Any]]) -> bool:
    return user_of(request).role in opt[ROLES]


# ------------------------------------------------------------------------------ the credentialing file


def _decided(request: PageRequest) -> UUID | None:
    """The decision just recorded (``?decided=``), whose judgment the page announces."""
    try:
        return UUID(request.query_params.get("decided") or "")
    except ValueError:
        return None


async def _file_page(
    request: PageRequest,
    physician_id: UUID,
    *,
    status: int = 200,
    form: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    """The file, with one add form (``form``) showing what was posted and the service's messages."""
    physician = await physicians.get(physician_id)  # 404 for an unknown id
    settings = _settings(request)
    verifications = (await service.list_verifications(physician_id, cursor=None, limit=FILE_ROWS)).items
    decisions = (await service.list_decisions(physician_id, cursor=None, limit=FILE_ROWS)).items
    sessions = (await service.list_irr_sessions(physician_id, cursor=None, limit=FILE_ROWS)).items
    credits = (await service.list_cme_credits(physician_id, cursor=None, limit=FILE_ROWS)).items
    standing = await service.cme_standing(physician_id, service.cme_requirements(settings))
    attestations = (await service.attestation_status(physician_id)).items
    by_element: dict[str, list[Any]] = {element: [] for element in rules.ELEMENTS}
    for verification in verifications:
        by_element[verification.element].append(verification)
    decided = _decided(request)
    forms = {name: dict(defaults) for name, defaults in FORMS.items()}
    form_errors: dict[str, dict[str, str]] = {name: {} for name in FORMS}
    if form is not None:
        forms[form] = {**forms[form], **(values or {})}
        form_errors[form] = errors or {}
    return render(
        request,
        "credentialing/file.html",
        status=status,
        physician=physician,
        by_element=by_element,
        windows=service.verification_windows(settings),
        decisions=decisions[::-1],  # newest first
        just_decided=next((d for d in decisions if d.id == decided), None),
        sessions=sessions[::-1],
        credits=credits[::-1],
        standing=standing,
        attestations=attestations,
        forms=forms,
        errors=form_errors,
        can_write=_may(request, WRITE_FILE),
        elements=[(e, e.replace("_", " ")) for e in rules.ELEMENTS],
        methods=METHODS,
        outcomes=rules.OUTCOMES,
        decision_kinds=DECISION_KINDS,
        decision_outcomes=DECISIONS,
        cme_categories=CME_CATEGORIES,
        limit_mib=settings.max_evidence_file_bytes >> 20,
        today=clock.today(),
    )


@get("/physicians/{physician_id:uuid}/file", opt=READ_FILE)
async def file_page(request: PageRequest, physician_id: FromPath[UUID]) -> Template:
    return await _file_page(request, physician_id)


async def _add(
    request: PageRequest,
    physician_id: UUID,
    form: str,
    create: Callable[[dict[str, Any]], Awaitable[Any]],
) -> Response[Any]:
    """An add form posted: written by ``create`` (the API's service on the API's schema, audited as the
    signed-in user), or the file page again with the service's messages beside the form's fields."""
    await physicians.require(physician_id)
    values, errors = await submit(request, create)
    if errors is not None:
        return await _file_page(request, physician_id, status=422, form=form, values=values, errors=errors)
    return redirect(f"/physicians/{physician_id}/file#h-{form}")


@post("/physicians/{physician_id:uuid}/file/decisions", opt=WRITE_FILE, status_code=303)
async def add_decision(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    """On success the page announces the decision's judgment: timely, or late with the late elements."""
    await physicians.require(physician_id)
    values = form_values(await request.form())
    try:
        windows = service.verification_windows(_settings(request))
        decision = await service.add_decision(
            physician_id, decode_form(values, DecisionCreate), actor=actor(request), windows=windows
        )
    except RosterError as exc:
        return await _file_page(request, physician_id, status=422, form="dec", values=values, errors=field_errors(exc))
    return redirect(f"/physicians/{physician_id}/file?decided={decision.id}#h-dec")


@post("/physicians/{physician_id:uuid}/file/irr-sessions", opt=WRITE_FILE, status_code=303)
async def add_irr_session(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    async def create(values: dict[str, Any]) -> None:
        await service.add_irr_session(physician_id, decode_form(values, IrrSessionCreate), actor=actor(request))

    return await _add(request, physician_id, "irr", create)


@post("/physicians/{physician_id:uuid}/file/cme", opt=WRITE_FILE, status_code=303)
async def add_cme_credit(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    async def create(values: dict[str, Any]) -> None:
        await service.add_cme_credit(physician_id, decode_form(values, CmeCreditCreate), actor=actor(request))

    return await _add(request, physician_id, "cme", create)


class _TextFields:
    """The text fields of a multipart body, read from the same chunks ``receive_file`` streams (which keeps
    only the file). Each value is bounded as ``receive_file`` bounds them; a malformed body is left for
    ``receive_file`` to refuse."""

    def __init__(self, boundary: str) -> None:
        self._parser = PushMultipartParser(boundary, max_segment_count=16)
        self._segment: MultipartSegment | None = None
        self._value = bytearray()
        self._broken = False
        self.values: dict[str, str] = {}
        #: A file part came (chosen or left empty); without one, the form is a verification without evidence.
        self.file_part = False

    def feed(self, chunk: bytes) -> None:
        if self._broken:
            return
        try:
            for event in self._parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    self.file_part = self.file_part or event.filename is not None
                    self._segment = event if event.filename is None else None
                    self._value = bytearray()
                elif event is None:
                    if self._segment is not None:
                        self.values.setdefault(self._segment.name, self._value.decode("utf-8", "replace"))
                    self._segment = None
                elif self._segment is not None and len(self._value) <= FRAMING:
                    self._value += event
        except ParserError:
            self._broken = True


@dataclass(frozen=True, slots=True)
class _Posted:
    """The verification form as posted: its text fields, the evidence file (None when none was chosen),
    or the refusal of the file (413 over the limit, 422 for a malformed body or two files)."""

    values: dict[str, str]
    upload: Upload | None = None
    refused: RosterError | None = None


async def _verification_form(request: PageRequest) -> _Posted:
    media_type, options = request.content_type
    if media_type != "multipart/form-data" or not options.get("boundary"):
        return _Posted({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    fields = _TextFields(options["boundary"])

    async def teed() -> Message:
        message = await request.receive()
        if message["type"] == "http.request":
            fields.feed(message.get("body", b""))
        return message

    settings = _settings(request)
    try:
        upload = await receive_file(
            Request(request.scope, receive=teed),
            limit=settings.max_evidence_file_bytes,
            dest_dir=service.evidence_dir(settings.data_dir),
        )
    except RosterError as exc:
        if exc.status == 422 and not fields.file_part:
            return _Posted(fields.values)  # a form without a file part: a verification without evidence
        return _Posted(fields.values, refused=exc)
    if upload.size == 0 and upload.filename is None:  # the file control left empty
        upload.path.unlink(missing_ok=True)
        return _Posted(fields.values)
    return _Posted(fields.values, upload)


@post("/physicians/{physician_id:uuid}/file/verifications", opt=UPLOAD_OPT, status_code=303, request_max_body_size=None)
async def add_verification(request: PageRequest, physician_id: FromPath[UUID]) -> Response[Any]:
    """A verification with an optional evidence file. Its fields are checked first (the schema, and the
    service's date check on the physician), so a refused form stores no file; the file is then kept as
    ``POST /api/v1/evidence`` keeps it (refused unless PDF or PNG, or when empty) and the verification
    recorded with it, as an API client does in two calls."""
    physician = await physicians.get(physician_id)
    posted = await _verification_form(request)
    values = form_values(posted.values)
    values.pop("file", None)
    upload = posted.upload
    if posted.refused is not None:
        errors = {"file": field_errors(posted.refused).get("file") or posted.refused.detail}
        return await _file_page(
            request, physician_id, status=posted.refused.status, form="ver", values=values, errors=errors
        )
    try:
        try:
            data = decode_form(values, VerificationCreate)
            service.check_fact_date(
                "verified_on", data.verified_on, date_of_birth=physician.date_of_birth, today=clock.today()
            )
            if upload is not None:
                settings = _settings(request)
                evidence, _ = await service.store_evidence(
                    upload.path, upload.sha256, upload.size, data_dir=settings.data_dir, actor=actor(request)
                )
                data = msgspec.structs.replace(data, evidence_id=evidence.id)
        finally:
            if upload is not None:
                upload.path.unlink(missing_ok=True)  # store_evidence moved it into place, or it was refused
        await service.add_verification(physician_id, data, actor=actor(request))
    except RosterError as exc:
        return await _file_page(request, physician_id, status=422, form="ver", values=values, errors=field_errors(exc))
    return redirect(f"/physicians/{physician_id}/file#h-ver")


@get("/evidence/{evidence_id:uuid}", opt=READ_FILE)
async def evidence_download(request: PageRequest, evidence_id: FromPath[UUID]) -> File:
    """An evidence file, shown in the browser (its type is what its first bytes said when it was stored)."""
    record, path = await service.evidence_file(evidence_id, _settings(request).data_dir)
    suffix = "pdf" if record.content_type == "application/pdf" else "png"
    return File(
        path=path,
        media_type=record.content_type,
        filename=f"{record.sha256}.{suffix}",
        content_disposition_type="inline",
    )


# ------------------------------------------------------------------------------------ policy updates


class ListQuery(msgspec.Struct, forbid_unknown_fields=False):
    cursor: Annotated[str, Meta(max_length=512)] | None = None


class RollQuery(ListQuery):
    """``show``: who has not attested yet (the default: the list to chase) or who has."""

    show: Literal["outstanding", "attested"] = "outstanding"


def _params(request: PageRequest, names: tuple[str, ...]) -> dict[str, str]:
    return {k: v.strip() for k, v in request.query_params.items() if k in names and isinstance(v, str) and v.strip()}


async def _updates_page(
    request: PageRequest,
    *,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    params = _params(request, ("cursor",))
    today = clock.today()
    context: dict[str, Any] = {
        "params": params,
        "can_publish": _may(request, PUBLISH_POLICY),
        "values": values or {},
        "errors": errors or {},
        "query_errors": {},
        "updates": [],
        "next_cursor": None,
        "first": "cursor" in params,
    }
    try:
        query = decode_form(params, ListQuery)
        page = await service.list_policy_updates(cursor=query.cursor, limit=PAGE_SIZE)
    except RosterError as exc:
        return render(
            request, "credentialing/policy_updates.html", status=422, **{**context, "query_errors": query_errors(exc)}
        )
    context["updates"] = [(u, service.policy_update_overdue(u, today)) for u in page.items]
    context["next_cursor"] = page.next_cursor
    return render(request, "credentialing/policy_updates.html", status=status, **context)


@get("/policy-updates", opt=READ_FILE)
async def policy_updates_page(request: PageRequest) -> Template:
    return await _updates_page(request)


@post("/policy-updates", opt=PUBLISH_POLICY, status_code=303)
async def publish_policy_update(request: PageRequest) -> Response[Any]:
    published: list[UUID] = []

    async def create(values: dict[str, Any]) -> None:
        update = await service.add_policy_update(decode_form(values, PolicyUpdateCreate), actor=actor(request))
        published.append(update.id)

    values, errors = await submit(request, create)
    if errors is not None:
        return await _updates_page(request, status=422, values=values, errors=errors)
    return redirect(f"/policy-updates/{published[0]}")


async def _update_page(
    request: PageRequest,
    update_id: UUID,
    *,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    update = await service.get_policy_update(update_id)  # 404 for an unknown id
    params = _params(request, ("cursor", "show"))
    today = clock.today()
    context: dict[str, Any] = {
        "update": update,
        "overdue": service.policy_update_overdue(update, today),
        "params": params,
        "show": params.get("show", "outstanding"),
        "can_attest": _may(request, RECORD_ATTESTATION),
        "values": values or {"attested_on": today.isoformat()},
        "errors": errors or {},
        "query_errors": {},
        "roll": [],
        "next_cursor": None,
        "first": "cursor" in params,
        "today": today,
    }
    try:
        query = decode_form(params, RollQuery)
        roll = await service.attestation_roll(
            update_id, attested=query.show == "attested", cursor=query.cursor, limit=PAGE_SIZE
        )
    except RosterError as exc:
        context["query_errors"] = query_errors(exc)
        return render(request, "credentialing/policy_update.html", status=422, **context)
    context["roll"] = roll.items
    context["next_cursor"] = roll.next_cursor
    context["show"] = query.show
    candidates = roll.items
    if context["can_attest"] and query.show == "attested":  # the picker lists who may still attest
        candidates = (await service.attestation_roll(update_id, attested=False, cursor=None, limit=PAGE_SIZE)).items
    context["candidates"] = [(str(c.physician_id), f"{c.last_name}, {c.first_name} ({c.npi})") for c in candidates]
    return render(request, "credentialing/policy_update.html", status=status, **context)


@get("/policy-updates/{update_id:uuid}", opt=READ_FILE)
async def policy_update_page(request: PageRequest, update_id: FromPath[UUID]) -> Template:
    return await _update_page(request, update_id)


@post("/policy-updates/{update_id:uuid}/attestations", opt=RECORD_ATTESTATION, status_code=303)
async def record_attestation(request: PageRequest, update_id: FromPath[UUID]) -> Response[Any]:
    """Refused with the API's status: 422 for bad input, 409 for a physician who has already attested."""
    await service.get_policy_update(update_id)
    values = form_values(await request.form())
    try:
        await service.add_attestation(update_id, decode_form(values, AttestationCreate), actor=actor(request))
    except RosterError as exc:
        return await _update_page(request, update_id, status=exc.status, values=values, errors=field_errors(exc))
    return redirect(f"/policy-updates/{update_id}?show=attested")


HANDLERS: list[ControllerRouterHandler] = [
    file_page,
    add_verification,
    add_decision,
    add_irr_session,
    add_cme_credit,
    evidence_download,
    policy_updates_page,
    publish_policy_update,
    policy_update_page,
    record_attestation,
]
