from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from roster.api.auth import READ_ROSTER, WRITE_ROSTER
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.keys.schemas import Principal
from roster.licenses import service
from roster.licenses.schemas import LicenseRead, LicenseUpdate
from roster.vocabulary import LicenseStatus

AuthedRequest = Request[Principal, Any, Any]


class LicenseController(Controller):
    path = "/licenses"
    tags = ["licenses"]

    @get("/", opt=READ_ROSTER, responses=problems(401, 403, 422), summary="List licenses, soonest expiry first")
    async def list_license(
        self,
        limit: Limit = 50,
        cursor: Cursor = None,
        state_code: Annotated[str | None, QueryParameter(name="state", description="USPS code")] = None,
        status: FromQuery[LicenseStatus | None] = None,
        expiring_within_days: Annotated[int | None, QueryParameter(ge=0, le=3650)] = None,
        physician_id: FromQuery[UUID | None] = None,
    ) -> Page[LicenseRead]:
        return await service.list_page(
            physician_id=physician_id,
            state=state_code,
            status=status,
            expiring_within_days=expiring_within_days,
            cursor=cursor,
            limit=limit,
        )

    @get("/{license_id:uuid}", opt=READ_ROSTER, responses=problems(401, 403, 404, 422))
    async def get_license(self, license_id: FromPath[UUID]) -> LicenseRead:
        return await service.get(license_id)

    @patch("/{license_id:uuid}", opt=WRITE_ROSTER, responses=problems(401, 403, 404, 409, 422))
    async def update_license(
        self, request: Request[Principal, Any, Any], license_id: FromPath[UUID], data: JSONBody[LicenseUpdate]
    ) -> LicenseRead:
        return await service.update(license_id, data, actor=request.user.name)

    @delete("/{license_id:uuid}", opt=WRITE_ROSTER, responses=problems(401, 403, 404, 422))
    async def delete_license(self, request: Request[Principal, Any, Any], license_id: FromPath[UUID]) -> None:
        await service.delete(license_id, actor=request.user.name)
