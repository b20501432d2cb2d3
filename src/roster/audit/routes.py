from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from roster.api.auth import READ_AUDIT
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.audit import service
from roster.audit.schemas import AuditEventRead


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get("/", opt=READ_AUDIT, responses=problems(401, 403, 422), summary="Audit log, newest first")
    async def list_audit_events(
        self,
        limit: Limit = 50,
        cursor: Cursor = None,
        entity: Annotated[str | None, QueryParameter(max_length=32)] = None,
        entity_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> Page[AuditEventRead]:
        return await service.list_page(entity=entity, entity_id=entity_id, cursor=cursor, limit=limit)
