from __future__ import annotations

from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from roster.db import current_engine
from roster.matching.service import roster_cache


class Health(msgspec.Struct):
    status: str
    database: str


class Readiness(msgspec.Struct):
    #: ``ready`` or ``warming`` (the matcher's index is still being built) or ``degraded``.
    status: str
    database: str
    #: ``ready``, ``warming``, or ``on_demand`` (``ROSTER_WARM_INDEX`` off: the first match builds it).
    index: str


async def _database_ok() -> bool:
    try:
        await current_engine().run_ddl("SELECT 1")
    except Exception:
        return False
    return True


@get(
    "/health",
    tags=["health"],
    media_type=MediaType.JSON,
    responses={503: ResponseSpec(data_container=Health, description="The database is unreachable")},
    summary="Liveness and database reachability (no auth)",
)
async def health() -> Response[Health]:
    if not await _database_ok():
        return Response(Health(status="degraded", database="unreachable"), status_code=503)
    return Response(Health(status="ok", database="ok"))


@get(
    "/ready",
    tags=["health"],
    media_type=MediaType.JSON,
    responses={
        503: ResponseSpec(
            data_container=Readiness, description="The matcher's index is still being built, or the database is down"
        )
    },
    summary="Readiness for traffic: the database and the matcher's index (no auth)",
)
async def ready(request: Request[Any, Any, Any]) -> Response[Readiness]:
    """A load balancer sends traffic once this is 200: the index is built at start-up (``ROSTER_WARM_INDEX``),
    so no router's first match after a deploy pays for it. ``/health`` stays the liveness probe."""
    state = request.app.state
    if not state["settings"].warm_index:
        index = "on_demand"
    else:
        index = "ready" if roster_cache(state).built else "warming"
    if not await _database_ok():
        return Response(Readiness(status="degraded", database="unreachable", index=index), status_code=503)
    if index == "warming":
        return Response(Readiness(status="warming", database="ok", index=index), status_code=503)
    return Response(Readiness(status="ready", database="ok", index=index))
