"""The import page: upload a roster file, see what it would do (or every error in it), then load it.

A person previews first: the upload is streamed to disk with the deployment's limit (the API's
``receive_file``) and dry-run through the same ``import_roster`` as ``POST /api/v1/imports/roster``;
nothing is written. A clean file is kept on the server under its sha256, and "Load" imports exactly
those bytes (checked against the hash again), so what loads is what was previewed.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import anyio
from litestar import Response, get, post
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from roster.api.auth import WRITE_ROSTER
from roster.api.uploads import receive_file
from roster.config import Settings
from roster.errors import RosterError
from roster.imports import service
from roster.imports.schemas import ImportResult, RowError
from roster.web.guard import STREAMED_UPLOAD
from roster.web.page import PageRequest, actor, field_errors, render

#: A previewed file waits this long for its "Load"; older ones are removed at the next preview.
STAGED_FOR_SECONDS = 24 * 3600
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: What the staged copy keeps of the client's file name: its kind (the reader tells CSV from XLSX by it too).
_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls")
TEMPLATES = {
    "csv": ("roster_template.csv", "text/csv; charset=utf-8"),
    "xlsx": ("roster_template.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
UPLOAD_OPT = {**WRITE_ROSTER, STREAMED_UPLOAD: True}


def _settings(request: PageRequest) -> Settings:
    return request.app.state["settings"]


def _staging(settings: Settings) -> Path:
    return settings.data_dir / "imports" / "staged"


def _suffix(file_name: str | None) -> str:
    name = (file_name or "").lower()
    return next((s for s in _SUFFIXES if name.endswith(s)), "")


def _staged_path(settings: Settings, sha256: str, file_name: str | None) -> Path:
    return _staging(settings) / f"{sha256}{_suffix(file_name)}"


def _sweep(staging: Path) -> None:
    """Forget previews nobody loaded."""
    cutoff = time.time() - STAGED_FOR_SECONDS
    for path in staging.glob("*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:  # pragma: no cover - another replica removed it meanwhile
            pass


def _form_page(
    request: PageRequest,
    *,
    status: int = 200,
    error: str | None = None,
    errors: list[RowError] | None = None,
    counts: dict[str, int] | None = None,
    result: ImportResult | None = None,
    staged: dict[str, str] | None = None,
    file_name: str | None = None,
) -> Template:
    return render(
        request,
        "imports/import.html",
        status=status,
        error=error,
        row_errors=errors or [],
        counts=counts,
        result=result,
        staged=staged,
        file_name=file_name,
        limit_mib=_settings(request).max_roster_file_bytes >> 20,
    )


@get("/imports", opt=WRITE_ROSTER)
async def import_page(request: PageRequest) -> Template:
    return _form_page(request)


@post("/imports", opt=UPLOAD_OPT, status_code=200, request_max_body_size=None)
async def preview_import(request: PageRequest) -> Template:
    """Dry run: stream the file in (bounded), validate and count it, write nothing; keep a clean file for "Load"."""
    settings = _settings(request)
    staging = _staging(settings)
    try:
        upload = await receive_file(request, limit=settings.max_roster_file_bytes, dest_dir=staging)
    except RosterError as exc:  # too large (413), not multipart or no file (422)
        return _form_page(request, status=exc.status, error=field_errors(exc).get("file") or exc.detail)
    keep = False
    try:
        content = await anyio.Path(upload.path).read_bytes()
        try:
            result = await service.import_roster(
                content,
                file_name=upload.filename,
                dry_run=True,
                actor=actor(request),
                default_time_zone=settings.default_time_zone,
            )
        except service.ImportRejected as exc:
            counts = {f"{kind}s": n for kind, n in exc.counts.items()}
            return _form_page(
                request, status=422, errors=exc.errors, counts=counts, file_name=upload.filename, error=_summary(exc)
            )
        await anyio.to_thread.run_sync(_sweep, staging)
        target = _staged_path(settings, upload.sha256, upload.filename)
        await anyio.Path(upload.path).replace(target)
        keep = True
    finally:
        if not keep:
            upload.path.unlink(missing_ok=True)
    staged = {"sha256": upload.sha256, "file_name": upload.filename or ""}
    return _form_page(request, result=result, staged=staged, file_name=upload.filename)


def _summary(exc: service.ImportRejected) -> str:
    n = len(exc.errors)
    return f"The file has {n} error{'s' if n != 1 else ''}; nothing was imported. Fix them and upload it again."


@post("/imports/load", opt=WRITE_ROSTER, status_code=200)
async def load_import(request: PageRequest) -> Template:
    """Import the previewed file, audited as the signed-in user."""
    settings = _settings(request)
    form = await request.form()
    sha256 = str(form.get("sha256") or "")
    file_name = str(form.get("file_name") or "")[:255] or None
    if not _SHA256.fullmatch(sha256):
        return _form_page(request, status=422, error="Upload the file again: this load names no previewed file.")
    path = anyio.Path(_staged_path(settings, sha256, file_name))
    if not await path.exists():
        return _form_page(
            request,
            status=409,
            error="This preview is no longer kept (it was loaded already or has expired). Upload the file again.",
        )
    content = await path.read_bytes()
    if hashlib.sha256(content).hexdigest() != sha256:  # pragma: no cover - a damaged staging directory
        await path.unlink(missing_ok=True)
        return _form_page(request, status=409, error="The previewed file changed on the server. Upload it again.")
    try:
        result = await service.import_roster(
            content,
            file_name=file_name,
            dry_run=False,
            actor=actor(request),
            default_time_zone=settings.default_time_zone,
        )
    except service.ImportRejected as exc:  # the roster changed since the preview in a way the file now breaks
        counts = {f"{kind}s": n for kind, n in exc.counts.items()}
        return _form_page(
            request, status=422, errors=exc.errors, counts=counts, file_name=file_name, error=_summary(exc)
        )
    finally:
        await path.unlink(missing_ok=True)
    return _form_page(request, result=result, file_name=file_name)


@get([f"/imports/{name}" for name, _ in TEMPLATES.values()], opt=WRITE_ROSTER)
async def import_template(request: PageRequest) -> Response[bytes]:
    """The import templates (``fixtures/templates``), the same files the README gives the API's users."""
    name, media_type = TEMPLATES[request.url.path.rsplit(".", 1)[-1]]
    data = await anyio.Path(_settings(request).fixtures_dir / "templates" / name).read_bytes()
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


HANDLERS: list[ControllerRouterHandler] = [import_page, preview_import, load_import, import_template]
