from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery

from roster.alerts import service
from roster.alerts.schemas import AlertKind, AlertRead, AlertStatus
from roster.api.auth import allow
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.keys.schemas import Principal, Role

#: Managers watch alerts; credentialing staff fix the lapses behind them; auditors may look.
READ_ALERTS = allow(Role.manager, Role.credentialing, Role.auditor)
ACKNOWLEDGE_ALERTS = allow(Role.manager, Role.credentialing)


class AlertController(Controller):
    path = "/alerts"
    tags = ["alerts"]

    @get("/", opt=READ_ALERTS, responses=problems(401, 403, 422), summary="Alerts, newest first")
    async def list_alerts(
        self,
        limit: Limit = 50,
        cursor: Cursor = None,
        status: FromQuery[AlertStatus | None] = None,
        kind: FromQuery[AlertKind | None] = None,
        physician_id: FromQuery[UUID | None] = None,
    ) -> Page[AlertRead]:
        return await service.list_page(status=status, kind=kind, physician_id=physician_id, cursor=cursor, limit=limit)

    @post(
        "/{alert_id:uuid}/acknowledge",
        opt=ACKNOWLEDGE_ALERTS,
        status_code=200,
        responses=problems(401, 403, 404),
        summary="Acknowledge an alert",
        description="Idempotent: acknowledging an acknowledged alert returns it unchanged (200), with the first "
        "acknowledgement's time and actor; only the first acknowledgement is audited.",
    )
    async def acknowledge_alert(self, request: Request[Principal, Any, Any], alert_id: FromPath[UUID]) -> AlertRead:
        return await service.acknowledge(alert_id, actor=request.user.name)
