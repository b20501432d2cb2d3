from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from roster.api.auth import READ_ROSTER, WRITE_ROSTER
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.certifications import service
from roster.certifications.schemas import CertificationRead, CertificationUpdate
from roster.keys.schemas import Principal

AuthedRequest = Request[Principal, Any, Any]


class CertificationController(Controller):
    path = "/certifications"
    tags = ["certifications"]

    @get("/", opt=READ_ROSTER, responses=problems(401, 403, 422), summary="List board certifications")
    async def list_certification(
        self,
        limit: Limit = 50,
        cursor: Cursor = None,
        expiring_within_days: Annotated[int | None, QueryParameter(ge=0, le=3650)] = None,
        specialty: Annotated[str | None, QueryParameter(max_length=64, description="slug or NUCC code")] = None,
        physician_id: FromQuery[UUID | None] = None,
    ) -> Page[CertificationRead]:
        return await service.list_page(
            physician_id=physician_id,
            specialty=specialty,
            expiring_within_days=expiring_within_days,
            cursor=cursor,
            limit=limit,
        )

    @get("/{certification_id:uuid}", opt=READ_ROSTER, responses=problems(401, 403, 404, 422))
    async def get_certification(self, certification_id: FromPath[UUID]) -> CertificationRead:
        return await service.get(certification_id)

    @patch("/{certification_id:uuid}", opt=WRITE_ROSTER, responses=problems(401, 403, 404, 409, 422))
    async def update_certification(
        self, request: AuthedRequest, certification_id: FromPath[UUID], data: JSONBody[CertificationUpdate]
    ) -> CertificationRead:
        return await service.update(certification_id, data, actor=request.user.name)

    @delete("/{certification_id:uuid}", opt=WRITE_ROSTER, responses=problems(401, 403, 404, 422))
    async def delete_certification(self, request: AuthedRequest, certification_id: FromPath[UUID]) -> None:
        await service.delete(certification_id, actor=request.user.name)
