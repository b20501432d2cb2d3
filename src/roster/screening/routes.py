from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import urlparse
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from roster.api.auth import READ_SCREENING, WRITE_ROSTER
from roster.api.bodies import decode_json
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.errors import FieldError, InvalidInput, RosterError
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
)
from roster.sources.download import DownloadError, InvalidUrl, download, save_stream

AuthedRequest = Request[Principal, Any, Any]
MAX_LIST_FILE = 512 * 1024 * 1024


@dataclass
class SnapshotUploadOperation(Operation):
    """The snapshot route takes either a multipart upload or a JSON ``{"url"}``; document both."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        properties={"file": Schema(type=OpenAPIType.STRING, format="binary")},
                        required=["file"],
                    )
                ),
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
    if isinstance(exc, InvalidUrl) or (exc.status is not None and 400 <= exc.status < 500):
        return InvalidInput(detail=str(exc), errors=[FieldError("url", str(exc))])
    return RosterError(detail=str(exc), errors=[FieldError("url", str(exc))], status=502, title="Bad gateway")


class ScreeningController(Controller):
    path = "/screening"
    tags = ["screening"]

    @post(
        "/{source:str}/snapshots",
        opt=WRITE_ROSTER,
        request_max_body_size=MAX_LIST_FILE,
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
            form = await request.form()
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput.on("file", "send the list file in the multipart field 'file'")
            staged = await save_stream(_chunks(upload), staging)
            file_name, origin = PurePosixPath(upload.filename or f"{source}.csv").name, "upload"
        elif media_type == "application/json":
            body = decode_json(await request.body(), SnapshotFromUrl)
            try:
                staged = await download(request.app.state["http"], body.url, staging)
            except DownloadError as exc:
                raise _upstream(exc) from None
            file_name, origin = PurePosixPath(urlparse(body.url).path).name or f"{source}.download", body.url
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


async def _chunks(upload: UploadFile):  # type: ignore[no-untyped-def]
    while chunk := await upload.read(1 << 20):
        yield chunk
