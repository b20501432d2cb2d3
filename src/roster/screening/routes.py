from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any
from urllib.parse import urlparse
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from roster.api.auth import READ_SCREENING, WRITE_ROSTER
from roster.api.bodies import decode_json
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.api.uploads import multipart_file_body, read_body, receive_file
from roster.errors import FieldError, InvalidInput, PayloadTooLarge, RosterError
from roster.keys.schemas import Principal
from roster.screening import service
from roster.screening.schemas import (
    HitDecision,
    HitRead,
    HitStatus,
    ScreeningRunCreate,
    ScreeningRunRead,
    SnapshotFromUrl,
    SnapshotRead,
    Source,
    SuppressedRead,
    SuppressReason,
)
from roster.sources.download import Downloaded, DownloadError, InvalidUrl, TooLarge, download
from roster.sources.egress import ListFetchPolicy

AuthedRequest = Request[Principal, Any, Any]


@dataclass
class SnapshotUploadOperation(Operation):
    """The snapshot route takes either a multipart upload or a JSON ``{"url"}``; document both."""

    def __post_init__(self) -> None:
        self.request_body = multipart_file_body(
            "The list file as the publisher ships it, or the URL to fetch it from",
            extra={
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        properties={"url": Schema(type=OpenAPIType.STRING, pattern=r"^https?://", max_length=2000)},
                        required=["url"],
                        additional_properties=False,
                    )
                ),
            },
        )


def _upstream(exc: DownloadError) -> RosterError:
    """A failed download as problem details naming ``url``: its message says what was refused or the
    HTTP status, never what the server sent."""
    if isinstance(exc, TooLarge):
        return PayloadTooLarge.over("url", exc.limit)
    if isinstance(exc, InvalidUrl) or (exc.status is not None and 400 <= exc.status < 500):
        return InvalidInput(detail=str(exc), errors=[FieldError("url", str(exc))])
    return RosterError(detail=str(exc), errors=[FieldError("url", str(exc))], status=502, title="Bad gateway")


async def _load_from_url(request: AuthedRequest, source: str, url: str, staging: Path) -> Response[SnapshotRead]:
    """Fetch and load the list at ``url``. A file that does not parse gets one generic message: the
    caller chose the URL, so quoting the file (a reader's errors do) would read internal pages back."""
    settings = request.app.state["settings"]
    try:
        staged = await download(request.app.state["http"], url, staging, ListFetchPolicy.from_settings(settings))
    except DownloadError as exc:
        raise _upstream(exc) from None
    not_a_list = InvalidInput.on("url", f"the file at that URL is not a {source} list file (upload it to see why)")
    if staged.size == 0:
        staged.path.unlink(missing_ok=True)
        raise not_a_list
    try:
        snapshot, created = await service.load_snapshot(
            source,
            staged.path,
            staged.sha256,
            file_name=PurePosixPath(urlparse(url).path).name or f"{source}.download",
            origin=url,
            settings=settings,
            actor=request.user.name,
        )
    except InvalidInput:
        raise not_a_list from None
    return Response(snapshot, status_code=201 if created else 200)


class ScreeningController(Controller):
    path = "/screening"
    tags = ["screening"]

    @post(
        "/{source:str}/snapshots",
        opt=WRITE_ROSTER,
        request_max_body_size=None,  # bounded by receive_file / read_body with the deployment's limits
        operation_class=SnapshotUploadOperation,
        responses={
            200: ResponseSpec(SnapshotRead, description="This exact file was loaded before: the existing snapshot"),
            **problems(401, 403, 413, 415, 502),
        },
        summary='Load a list file (multipart `file`, or JSON `{"url"}`) as a snapshot',
    )
    async def load_snapshot(self, request: AuthedRequest, source: FromPath[Source]) -> Response[SnapshotRead]:
        settings = request.app.state["settings"]
        staging = service.list_dir(settings.data_dir, source)
        media_type = request.content_type[0]
        if media_type == "multipart/form-data":
            upload = await receive_file(request, limit=settings.max_list_file_bytes, dest_dir=staging)
            staged = Downloaded(path=upload.path, sha256=upload.sha256, size=upload.size)
            file_name, origin = upload.filename or f"{source}.csv", "upload"
        elif media_type == "application/json":
            body = decode_json(await read_body(request, settings.max_json_body_bytes), SnapshotFromUrl)
            return await _load_from_url(request, source, body.url, staging)
        else:
            raise RosterError(
                detail="send multipart/form-data with a 'file' field, or application/json with a 'url'",
                status=415,
                title="Unsupported media type",
                errors=[FieldError("content-type", f"{media_type} is not accepted")],
            )
        if staged.size == 0:
            staged.path.unlink(missing_ok=True)
            raise InvalidInput.on("file", "the file is empty")
        snapshot, created = await service.load_snapshot(
            source,
            staged.path,
            staged.sha256,
            file_name=file_name,
            origin=origin,
            settings=settings,
            actor=request.user.name,
        )
        return Response(snapshot, status_code=201 if created else 200)

    @post("/runs", opt=WRITE_ROSTER, responses=problems(401, 403), summary="Screen the whole active roster")
    async def create_run(self, request: AuthedRequest, data: JSONBody[ScreeningRunCreate]) -> ScreeningRunRead:
        return await service.run_screening(
            data.sources, settings=request.app.state["settings"], actor=request.user.name
        )

    @get("/runs/{run_id:uuid}", opt=READ_SCREENING, responses=problems(401, 403, 404), summary="A screening run")
    async def get_run(self, run_id: FromPath[UUID]) -> ScreeningRunRead:
        return await service.get_run(run_id)

    @get(
        "/runs/{run_id:uuid}/suppressed",
        opt=READ_SCREENING,
        responses=problems(401, 403, 404),
        summary="The pairs a run held back (not hits), with the physician and the evidence",
    )
    async def list_suppressed(
        self,
        run_id: FromPath[UUID],
        limit: Limit = 50,
        cursor: Cursor = None,
        reason: FromQuery[SuppressReason | None] = None,
        physician_id: FromQuery[UUID | None] = None,
    ) -> Page[SuppressedRead]:
        return await service.list_suppressed(
            run_id, reason=reason, physician_id=physician_id, cursor=cursor, limit=limit
        )

    @get("/hits", opt=READ_SCREENING, responses=problems(401, 403), summary="Screening hits")
    async def list_hits(
        self,
        limit: Limit = 50,
        cursor: Cursor = None,
        status: FromQuery[HitStatus | None] = None,
        source: Annotated[Source | None, QueryParameter()] = None,
        physician_id: FromQuery[UUID | None] = None,
    ) -> Page[HitRead]:
        return await service.list_hits(
            status=status, source=source, physician_id=physician_id, cursor=cursor, limit=limit
        )

    @get("/hits/{hit_id:uuid}", opt=READ_SCREENING, responses=problems(401, 403, 404))
    async def get_hit(self, hit_id: FromPath[UUID]) -> HitRead:
        return await service.get_hit(hit_id)

    @post(
        "/hits/{hit_id:uuid}/decision",
        opt=WRITE_ROSTER,
        status_code=200,
        responses=problems(401, 403, 404, 409),
        summary="Confirm or dismiss a hit (with the reason)",
    )
    async def decide(self, request: AuthedRequest, hit_id: FromPath[UUID], data: JSONBody[HitDecision]) -> HitRead:
        return await service.decide(hit_id, data, actor=request.user.name)
