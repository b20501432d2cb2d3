from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import QueryParameter

from roster.api.auth import allow
from roster.api.problems import problems
from roster.exports import service
from roster.exports.service import MEDIA_TYPES, ExportFormat
from roster.keys.schemas import Role

#: The roster file holds dates of birth and contact details: the roles that manage or oversee the
#: roster export it; routers (case-routing systems) read physicians one at a time instead.
EXPORT_ROSTER = allow(Role.credentialing, Role.manager, Role.auditor)


@dataclass
class RosterExportOperation(Operation):
    """One 200 response in three media types, chosen by ``format``."""

    def __post_init__(self) -> None:
        binary = Schema(type=OpenAPIType.STRING, format="binary")
        if self.responses is not None:
            self.responses["200"] = OpenAPIResponse(
                description="The roster in the import layout, as an attachment",
                content={
                    media_type.split(";")[0]: OpenAPIMediaType(schema=binary) for media_type in MEDIA_TYPES.values()
                },
            )


class ExportController(Controller):
    path = "/exports"
    tags = ["exports"]

    @get(
        "/roster",
        opt=EXPORT_ROSTER,
        operation_class=RosterExportOperation,
        responses=problems(401, 403),
        summary="Export physicians, licenses and certifications (CSV, XLSX or Parquet) in the import layout",
    )
    async def export_roster(
        self, format: Annotated[ExportFormat, QueryParameter(description="file format")] = "csv"
    ) -> Response[bytes]:
        exported = await service.export_roster(format)
        return Response(
            exported.content,
            media_type=exported.media_type,
            headers={"Content-Disposition": f'attachment; filename="{exported.file_name}"'},
        )
