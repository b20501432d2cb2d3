from __future__ import annotations

import msgspec
from litestar import MediaType, Response, get
from litestar.openapi.datastructures import ResponseSpec

from roster.db import current_engine


class Health(msgspec.Struct):
    status: str
    database: str


@get(
    "/health",
    tags=["health"],
    media_type=MediaType.JSON,
    responses={503: ResponseSpec(data_container=Health, description="The database is unreachable")},
    summary="Liveness and database reachability (no auth)",
)
async def health() -> Response[Health]:
    try:
        await current_engine().run_ddl("SELECT 1")
    except Exception:
        return Response(Health(status="degraded", database="unreachable"), status_code=503)
    return Response(Health(status="ok", database="ok"))
