from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from litestar import Controller, Request, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation
from litestar.params import QueryParameter

from roster.api.auth import WRITE_ROSTER
from roster.api.problems import PROBLEM_JSON, problems
from roster.api.uploads import multipart_file_body, receive_file
from roster.imports import service
from roster.imports.schemas import ImportProblem, ImportResult
from roster.keys.schemas import Principal

AuthedRequest = Request[Principal, Any, Any]


@dataclass
class RosterUploadOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = multipart_file_body("The roster file (CSV or XLSX) in the import layout")


def rejected(exc: service.ImportRejected) -> Response[ImportProblem]:
    shown = "; ".join(f"{e.field}: {e.message}" for e in exc.errors[:5])
    more = f" (and {len(exc.errors) - 5} more)" if len(exc.errors) > 5 else ""
    return Response(
        ImportProblem(
            type="https://roster.dev/problems/invalid-roster-file",
            title="Invalid roster file",
            status=422,
            detail=f"nothing was imported: {shown}{more}",
            errors=exc.errors,
            physicians=exc.counts["physician"],
            licenses=exc.counts["license"],
            certifications=exc.counts["certification"],
        ),
        status_code=422,
        media_type=PROBLEM_JSON,
    )


class ImportController(Controller):
    path = "/imports"
    tags = ["imports"]

    @post(
        "/roster",
        opt=WRITE_ROSTER,
        status_code=200,
        request_max_body_size=None,  # bounded by receive_file with the deployment's limit
        operation_class=RosterUploadOperation,
        responses={
            **problems(401, 403, 413),
            422: ResponseSpec(
                data_container=ImportProblem,
                media_type=PROBLEM_JSON,
                description="The file has errors (each by sheet, row and column); nothing was written",
                generate_examples=False,
            ),
        },
        summary="Bulk import physicians, licenses and certifications from a CSV or XLSX roster file",
    )
    async def import_roster(
        self,
        request: AuthedRequest,
        dry_run: Annotated[bool, QueryParameter(description="validate and count, write nothing")] = False,
    ) -> Response[ImportResult]:
        settings = request.app.state["settings"]
        upload = await receive_file(
            request, limit=settings.max_roster_file_bytes, dest_dir=settings.data_dir / "imports"
        )
        try:
            content = await anyio.Path(upload.path).read_bytes()
        finally:
            upload.path.unlink(missing_ok=True)
        try:
            result = await service.import_roster(
                content,
                file_name=upload.filename,
                dry_run=dry_run,
                actor=request.user.name,
                default_time_zone=settings.default_time_zone,
            )
        except service.ImportRejected as exc:
            return rejected(exc)  # type: ignore[return-value]
        return Response(result)
