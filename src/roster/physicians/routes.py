from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter

from roster.api.auth import READ_ROSTER, WRITE_ROSTER
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.certifications import service as certifications
from roster.certifications.schemas import CertificationCreate, CertificationRead
from roster.compliance import service as compliance
from roster.credentialing.service import cme_requirements
from roster.keys.schemas import Principal
from roster.licenses import service as licenses
from roster.licenses.schemas import LicenseCreate, LicenseRead
from roster.matching.service import roster_cache
from roster.physicians import service
from roster.physicians.schemas import ComplianceReport, PhysicianCreate, PhysicianRead, PhysicianUpdate
from roster.vocabulary import LineOfBusiness, PhysicianStatus

AuthedRequest = Request[Principal, Any, Any]
StateFilter = Annotated[str | None, QueryParameter(name="state", description="has a license in this state")]
NpiPath = Annotated[str, PathParameter(pattern=r"^[0-9]{10}$", description="10-digit NPI")]


class PhysicianController(Controller):
    path = "/physicians"
    tags = ["physicians"]

    @post("/", opt=WRITE_ROSTER, responses=problems(401, 403, 409, 422), summary="Add a physician")
    async def create_physician(self, request: AuthedRequest, data: JSONBody[PhysicianCreate]) -> PhysicianRead:
        return await service.create(
            data, actor=request.user.name, default_time_zone=request.app.state["settings"].default_time_zone
        )

    @get("/", opt=READ_ROSTER, responses=problems(401, 403, 422), summary="List physicians")
    async def list_physician(
        self,
        limit: Limit = 50,
        cursor: Cursor = None,
        state_code: StateFilter = None,
        specialty: Annotated[str | None, QueryParameter(max_length=64, description="slug or NUCC code")] = None,
        line_of_business: FromQuery[LineOfBusiness | None] = None,
        status: FromQuery[PhysicianStatus | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=100, description="name or NPI")] = None,
    ) -> Page[PhysicianRead]:
        filters = service.RosterFilters(state_code, specialty, line_of_business, status, q)
        return await service.list_page(filters, cursor=cursor, limit=limit)

    @get("/npi/{npi:str}", opt=READ_ROSTER, responses=problems(401, 403, 404, 422), summary="Find by NPI")
    async def get_by_npi(self, npi: NpiPath) -> PhysicianRead:
        return await service.get_by_npi(npi)

    @get("/{physician_id:uuid}", opt=READ_ROSTER, responses=problems(401, 403, 404, 422))
    async def get_physician(self, physician_id: FromPath[UUID]) -> PhysicianRead:
        return await service.get(physician_id)

    @patch("/{physician_id:uuid}", opt=WRITE_ROSTER, responses=problems(401, 403, 404, 409, 422))
    async def update_physician(
        self, request: AuthedRequest, physician_id: FromPath[UUID], data: JSONBody[PhysicianUpdate]
    ) -> PhysicianRead:
        return await service.update(physician_id, data, actor=request.user.name)

    @delete(
        "/{physician_id:uuid}",
        opt=WRITE_ROSTER,
        status_code=200,
        responses=problems(401, 403, 404, 422),
        summary="Deactivate a physician (history is kept)",
    )
    async def deactivate(self, request: AuthedRequest, physician_id: FromPath[UUID]) -> PhysicianRead:
        return await service.deactivate(physician_id, actor=request.user.name)

    @get(
        "/{physician_id:uuid}/compliance",
        opt=READ_ROSTER,
        responses=problems(401, 403, 404, 422),
        summary="Every compliance requirement and its state as of a date",
    )
    async def compliance(
        self,
        request: AuthedRequest,
        physician_id: FromPath[UUID],
        as_of: Annotated[
            date | None, QueryParameter(description="default today; a past date replays recorded history")
        ] = None,
    ) -> ComplianceReport:
        cme = cme_requirements(request.app.state["settings"])
        state = request.app.state
        return await compliance.report(physician_id, as_of, state["policy"], cme, roster_cache(state))

    @post("/{physician_id:uuid}/licenses", opt=WRITE_ROSTER, responses=problems(401, 403, 404, 409, 422))
    async def add_license(
        self, request: AuthedRequest, physician_id: FromPath[UUID], data: JSONBody[LicenseCreate]
    ) -> LicenseRead:
        return await licenses.create(physician_id, data, actor=request.user.name)

    @post("/{physician_id:uuid}/certifications", opt=WRITE_ROSTER, responses=problems(401, 403, 404, 409, 422))
    async def add_certification(
        self, request: AuthedRequest, physician_id: FromPath[UUID], data: JSONBody[CertificationCreate]
    ) -> CertificationRead:
        return await certifications.create(physician_id, data, actor=request.user.name)
