"""``GET /api/v1/audits/files`` (api.md "Audit readiness"): the sample of the period's credentialing files with
each element's score, as JSON, an XLSX (``Accept: application/vnd.openxmlformats-...sheet``) or the pack
(``Accept: application/zip``: one PDF per file and an index). Read by the roles that read the audit log."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import anyio
from litestar import Controller, Request, Response, get
from litestar.background_tasks import BackgroundTask
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import QueryParameter
from litestar.response import File

from roster import clock
from roster.api.auth import READ_AUDIT
from roster.api.problems import problems
from roster.audits import pack, service
from roster.audits.rules import MAX_SAMPLE, MAX_SEED
from roster.audits.schemas import AuditFilesRead
from roster.keys.schemas import Principal

AuthedRequest = Request[Principal, Any, Any]
JSON = "application/json"

PeriodStart = Annotated[date, QueryParameter(description="First day of the period (decided_on on or after it).")]
PeriodEnd = Annotated[
    date, QueryParameter(description="Last day of the period (on or after period_start, at most 36 months later).")
]
Sample = Annotated[
    int | None,
    QueryParameter(
        ge=1,
        le=MAX_SAMPLE,
        description=f"How many files to draw (1-{MAX_SAMPLE}) instead of the organization's rule "
        "(default: 5% or 50 files, whichever is less, at least 10 of each kind).",
    ),
]
Seed = Annotated[
    int | None,
    QueryParameter(
        ge=0,
        le=MAX_SEED,
        description="The draw's seed (0 to 2^53-1); the same seed and period give the same sample. "
        "Without one a seed is drawn and returned.",
    ),
]


@dataclass
class AuditFilesOperation(Operation):
    """The 200 response in three media types, chosen by ``Accept``."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            binary = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format="binary"))
            ok.content[pack.ZIP] = binary
            ok.content[pack.XLSX] = binary
            ok.description = "The sample as JSON; the pack (ZIP of PDFs and an index) or the scores (XLSX) by Accept"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _render_zip(pulled: service.AuditPull, *, actor: str) -> str:
    """The pack in a temporary file (removed by the caller once sent, or here when rendering fails)."""
    handle, path = tempfile.mkstemp(prefix="roster-audit-pack-", suffix=".zip")
    try:
        with os.fdopen(handle, "wb") as target:
            pack.write_zip(pulled, target, actor=actor, generated_at=clock.now())
    except BaseException:
        os.unlink(path)
        raise
    return path


async def zip_download(pulled: service.AuditPull, *, actor: str) -> File:
    """The pack as a download, its pull recorded once rendered (the API's and the workspace's download)."""
    path = await anyio.to_thread.run_sync(lambda: _render_zip(pulled, actor=actor))
    try:
        await service.record_pull(pulled, actor=actor, media="zip")
    except BaseException:
        os.unlink(path)
        raise
    return File(
        path,
        filename=pack.pack_name(pulled, "zip"),
        media_type=pack.ZIP,
        background=BackgroundTask(os.unlink, path),
    )


async def xlsx_download(pulled: service.AuditPull, *, actor: str) -> Response[bytes]:
    """The scores as an XLSX download, its pull recorded (the API's and the workspace's download)."""
    content = await anyio.to_thread.run_sync(pack.xlsx, pulled)
    await service.record_pull(pulled, actor=actor, media="xlsx")
    return Response(content, media_type=pack.XLSX, headers=_attachment(pack.pack_name(pulled, "xlsx")))


class AuditFilesController(Controller):
    path = "/audits"
    tags = ["audit readiness"]

    @get(
        "/files",
        opt=READ_AUDIT,
        responses=problems(401, 403, 422),
        operation_class=AuditFilesOperation,
        summary="A reproducible sample of the period's credentialing files, each element scored",
        description=(
            "Population: the initial and recredentialing decisions with `decided_on` in the period. Each sampled "
            "file scores every required element (DEA/CDS only where the physician has one): `present` (verified "
            "on or before the decision), `timely` (within the element's window) and `source_ok` (a method the "
            "organization accepts for it). `Accept: application/zip` returns one PDF per file with `index.html` "
            "and `index.csv`; `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet` one row "
            "per file and element. Every pull is recorded in the audit log."
        ),
    )
    async def audit_files(
        self,
        request: AuthedRequest,
        period_start: PeriodStart,
        period_end: PeriodEnd,
        sample: Sample = None,
        seed: Seed = None,
    ) -> Response[AuditFilesRead]:
        media = request.accept.best_match([JSON, pack.ZIP, pack.XLSX], default=JSON) or JSON
        settings = request.app.state["settings"]
        pulled = await service.pull(period_start, period_end, settings=settings, sample=sample, seed=seed)
        actor = request.user.name
        if media == pack.ZIP:
            return await zip_download(pulled, actor=actor)
        if media == pack.XLSX:
            return await xlsx_download(pulled, actor=actor)
        await service.record_pull(pulled, actor=actor, media="json")
        return Response(service.files_read(pulled))
