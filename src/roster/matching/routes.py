from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody

from roster.api.auth import allow
from roster.api.bodies import decode_json
from roster.api.problems import problems
from roster.keys.schemas import Role
from roster.matching import service
from roster.matching.schemas import MatchRequest, MatchResult

#: Case routers match and assign; nobody else routes cases.
ROUTE_CASES = allow(Role.router)


class MatchController(Controller):
    path = "/match"
    tags = ["matching"]

    @post(
        "/",
        opt=ROUTE_CASES,
        status_code=200,
        responses=problems(401, 403, 422),
        summary="Ranked eligible reviewers for a case, and why the others are not",
    )
    async def match_case(self, request: Request[Any, Any, Any], data: JSONBody[MatchRequest]) -> MatchResult:
        # Litestar converts bodies leniently (``"explain": 0`` would pass as false): decode strictly too.
        data = decode_json(await request.body(), MatchRequest)
        return await service.match(data, service.roster_cache(request.app.state))
