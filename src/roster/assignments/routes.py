from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, patch, post
from litestar.params import FromPath, JSONBody

from roster.api.bodies import decode_json
from roster.api.problems import problems
from roster.assignments import service
from roster.assignments.schemas import AssignmentCreate, AssignmentRead, AssignmentUpdate
from roster.keys.schemas import Principal
from roster.matching.routes import ROUTE_CASES
from roster.matching.service import roster_cache


class AssignmentController(Controller):
    path = "/assignments"
    tags = ["matching"]

    @post(
        "/",
        opt=ROUTE_CASES,
        responses=problems(401, 403, 404, 409, 422),
        summary="Assign a case to a reviewer who is eligible right now (409 with the reasons otherwise)",
    )
    async def assign_case(
        self, request: Request[Principal, Any, Any], data: JSONBody[AssignmentCreate]
    ) -> AssignmentRead:
        data = decode_json(await request.body(), AssignmentCreate)  # strictly: no 0 for false, no "1" for 1
        return await service.create(data, roster_cache(request.app.state), actor=request.user.name)

    @patch(
        "/{assignment_id:uuid}",
        opt=ROUTE_CASES,
        responses=problems(401, 403, 404, 409, 422),
        summary="Complete or cancel an assignment, freeing the reviewer's capacity",
    )
    async def close_assignment(
        self, request: Request[Principal, Any, Any], assignment_id: FromPath[UUID], data: JSONBody[AssignmentUpdate]
    ) -> AssignmentRead:
        data = decode_json(await request.body(), AssignmentUpdate)
        return await service.close(assignment_id, data, actor=request.user.name)
