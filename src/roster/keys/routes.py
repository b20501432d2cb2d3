from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody
from msgspec import Meta

from roster.api.auth import ADMIN_ONLY
from roster.api.problems import problems
from roster.keys import service
from roster.keys.schemas import ApiKeyCreated, Principal, Role


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S")]
    role: Role


class ApiKeyController(Controller):
    path = "/keys"
    tags = ["keys"]

    @post("/", opt=ADMIN_ONLY, responses=problems(401, 403, 422), summary="Create an API key (shown once)")
    async def create_key(self, request: Request[Principal, Any, Any], data: JSONBody[ApiKeyCreate]) -> ApiKeyCreated:
        return await service.create_key(name=data.name, role=data.role.value, actor=request.user.name)
