from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta

from roster.api.auth import ADMIN_ONLY
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.keys import service
from roster.keys.schemas import ApiKeyCreated, ApiKeyRead, Principal, Role

AuthedRequest = Request[Principal, Any, Any]


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S")]
    role: Role
    #: The last day (UTC) the key is accepted; today or later. Omitted: until revoked.
    expires_on: date | None = None


class ApiKeyController(Controller):
    path = "/keys"
    tags = ["keys"]

    @post(
        "/",
        opt=ADMIN_ONLY,
        responses=problems(401, 403, 422),
        summary="Create an API key (shown once)",
        description="`expires_on` is the key's last day, in UTC: it is accepted through the end of that day. "
        "Keys may share a name, so a client's key is rotated by creating its successor first.",
    )
    async def create_key(self, request: AuthedRequest, data: JSONBody[ApiKeyCreate]) -> ApiKeyCreated:
        return await service.create_key(
            name=data.name, role=data.role.value, expires_on=data.expires_on, actor=request.user.name
        )

    @get("/", opt=ADMIN_ONLY, responses=problems(401, 403, 422), summary="List API keys, newest first")
    async def list_keys(
        self,
        limit: Limit = 50,
        cursor: Cursor = None,
        name: Annotated[str | None, QueryParameter(max_length=100)] = None,
        include_revoked: Annotated[bool, QueryParameter(description="false: live and expired keys only")] = True,
    ) -> Page[ApiKeyRead]:
        return await service.list_page(name=name, include_revoked=include_revoked, cursor=cursor, limit=limit)

    @delete(
        "/{key_id:uuid}",
        opt=ADMIN_ONLY,
        responses=problems(401, 403, 404, 422),
        summary="Revoke an API key",
        description="The key is refused (401) from the next request on. Idempotent: revoking a revoked key "
        "answers 204 again and is audited once.",
    )
    async def revoke_key(self, request: AuthedRequest, key_id: FromPath[UUID]) -> None:
        await service.revoke_key(key_id, actor=request.user.name, cache=request.app.state.get("key_cache"))
