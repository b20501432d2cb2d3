"""Schedule routes (api.md "Paths and shapes fixed for the turn-2 resources"): credentialing and admin
write, every role reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, JSONBody, QueryParameter

from roster.alerts import clock_sweep
from roster.api.auth import READ_ROSTER, WRITE_ROSTER
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.keys.schemas import Principal
from roster.matching.service import roster_cache
from roster.schedules import calendar, service
from roster.schedules.schemas import (
    HolidayCreate,
    HolidayRead,
    OnCall,
    OverrideCreate,
    OverrideRead,
    RotationCreate,
    RotationRead,
    RotationUpdate,
    TimeOffCreate,
    TimeOffCreated,
    TimeOffRead,
    TurnaroundClocks,
    WorkingHoursCreate,
    WorkingHoursRead,
)

AuthedRequest = Request[Principal, Any, Any]
TEXT_CALENDAR = "text/calendar"
TAGS = ["schedules"]


@dataclass
class CalendarOperation(Operation):
    """The 200 response is an iCalendar document."""

    def __post_init__(self) -> None:
        if self.responses is not None:
            self.responses["200"] = OpenAPIResponse(
                description="iCalendar (RFC 5545): the on-call shifts from 30 days back to 90 days ahead",
                content={TEXT_CALENDAR: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
            )


def _ics(body: bytes, name: str) -> Response[bytes]:
    return Response(
        body,
        media_type=f"{TEXT_CALENDAR}; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{name}.ics"'},
    )


class PhysicianScheduleController(Controller):
    path = "/physicians"
    tags = TAGS

    @post(
        "/{physician_id:uuid}/working-hours",
        opt=WRITE_ROSTER,
        responses=problems(401, 403, 404, 422),
        summary="Add a working-hours rule (local times in the physician's zone)",
    )
    async def add_working_hours(
        self, request: AuthedRequest, physician_id: FromPath[UUID], data: JSONBody[WorkingHoursCreate]
    ) -> WorkingHoursRead:
        return await service.add_working_hours(physician_id, data, actor=request.user.name)

    @get(
        "/{physician_id:uuid}/working-hours",
        opt=READ_ROSTER,
        responses=problems(401, 403, 404, 422),
        summary="A physician's working-hours rules",
    )
    async def list_working_hours(
        self, physician_id: FromPath[UUID], limit: Limit = 50, cursor: Cursor = None
    ) -> Page[WorkingHoursRead]:
        return await service.list_working_hours(physician_id, cursor=cursor, limit=limit)

    @post(
        "/{physician_id:uuid}/time-off",
        opt=WRITE_ROSTER,
        responses=problems(401, 403, 404, 422),
        summary="Add time off; lists the open assignments it puts at risk, with eligible replacements",
    )
    async def add_time_off(
        self, request: AuthedRequest, physician_id: FromPath[UUID], data: JSONBody[TimeOffCreate]
    ) -> TimeOffCreated:
        settings = request.app.state["settings"]
        created = await service.add_time_off(
            physician_id, data, actor=request.user.name, settings=settings, cache=roster_cache(request.app.state)
        )
        await clock_sweep.reviewer_assignment_clock(physician_id, settings)  # assignment_at_risk now, not in 15 min
        return created

    @get(
        "/{physician_id:uuid}/time-off",
        opt=READ_ROSTER,
        responses=problems(401, 403, 404, 422),
        summary="A physician's time off, earliest first",
    )
    async def list_time_off(
        self, physician_id: FromPath[UUID], limit: Limit = 50, cursor: Cursor = None
    ) -> Page[TimeOffRead]:
        return await service.list_time_off(physician_id, cursor=cursor, limit=limit)

    @get(
        "/{physician_id:uuid}/calendar.ics",
        opt=READ_ROSTER,
        operation_class=CalendarOperation,
        responses=problems(401, 403, 404),
        summary="The physician's on-call shifts as an iCalendar feed",
    )
    async def physician_calendar(self, physician_id: FromPath[UUID]) -> Response[bytes]:
        return _ics(await calendar.physician_feed(physician_id), f"oncall-{physician_id}")


class WorkingHoursController(Controller):
    path = "/working-hours"
    tags = TAGS

    @delete("/{hours_id:uuid}", opt=WRITE_ROSTER, responses=problems(401, 403, 404), summary="Remove a rule")
    async def delete_working_hours(self, request: AuthedRequest, hours_id: FromPath[UUID]) -> None:
        await service.delete_working_hours(hours_id, actor=request.user.name)


class TimeOffController(Controller):
    path = "/time-off"
    tags = TAGS

    @delete("/{time_off_id:uuid}", opt=WRITE_ROSTER, responses=problems(401, 403, 404), summary="Remove time off")
    async def delete_time_off(self, request: AuthedRequest, time_off_id: FromPath[UUID]) -> None:
        await service.delete_time_off(time_off_id, actor=request.user.name)


class HolidayController(Controller):
    path = "/holidays"
    tags = TAGS

    @post("/", opt=WRITE_ROSTER, responses=problems(401, 403, 409, 422), summary="Add an organization holiday")
    async def add_holiday(self, request: AuthedRequest, data: JSONBody[HolidayCreate]) -> HolidayRead:
        return await service.add_holiday(data, actor=request.user.name)

    @get("/", opt=READ_ROSTER, responses=problems(401, 403, 422), summary="Organization holidays, by date")
    async def list_holidays(
        self,
        year: Annotated[int | None, QueryParameter(ge=1900, le=2200, description="only this calendar year")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[HolidayRead]:
        return await service.list_holidays(year=year, cursor=cursor, limit=limit)


class RotationController(Controller):
    path = "/rotations"
    tags = TAGS

    @post("/", opt=WRITE_ROSTER, responses=problems(401, 403, 422), summary="Add an on-call rotation")
    async def create_rotation(self, request: AuthedRequest, data: JSONBody[RotationCreate]) -> RotationRead:
        return await service.create_rotation(data, actor=request.user.name)

    @get("/", opt=READ_ROSTER, responses=problems(401, 403, 422), summary="On-call rotations, by name")
    async def list_rotations(self, limit: Limit = 50, cursor: Cursor = None) -> Page[RotationRead]:
        return await service.list_rotations(cursor=cursor, limit=limit)

    @get("/{rotation_id:uuid}", opt=READ_ROSTER, responses=problems(401, 403, 404, 422))
    async def get_rotation(self, rotation_id: FromPath[UUID]) -> RotationRead:
        return await service.get_rotation(rotation_id)

    @patch(
        "/{rotation_id:uuid}",
        opt=WRITE_ROSTER,
        responses=problems(401, 403, 404, 422),
        summary="Change a rotation (layers given replace them all)",
    )
    async def update_rotation(
        self, request: AuthedRequest, rotation_id: FromPath[UUID], data: JSONBody[RotationUpdate]
    ) -> RotationRead:
        return await service.update_rotation(rotation_id, data, actor=request.user.name)

    @delete(
        "/{rotation_id:uuid}",
        opt=WRITE_ROSTER,
        responses=problems(401, 403, 404),
        summary="Remove a rotation and its overrides (their history stays)",
    )
    async def delete_rotation(self, request: AuthedRequest, rotation_id: FromPath[UUID]) -> None:
        await service.delete_rotation(rotation_id, actor=request.user.name)

    @post(
        "/{rotation_id:uuid}/overrides",
        opt=WRITE_ROSTER,
        responses=problems(401, 403, 404, 409, 422),
        summary="A physician covers an interval of the rotation (409 when not eligible for its cases then)",
    )
    async def add_override(
        self, request: AuthedRequest, rotation_id: FromPath[UUID], data: JSONBody[OverrideCreate]
    ) -> OverrideRead:
        return await service.add_override(
            rotation_id, data, actor=request.user.name, cache=roster_cache(request.app.state)
        )

    @get(
        "/{rotation_id:uuid}/overrides",
        opt=READ_ROSTER,
        responses=problems(401, 403, 404, 422),
        summary="A rotation's overrides, earliest first",
    )
    async def list_overrides(
        self, rotation_id: FromPath[UUID], limit: Limit = 50, cursor: Cursor = None
    ) -> Page[OverrideRead]:
        return await service.list_overrides(rotation_id, cursor=cursor, limit=limit)

    @get(
        "/{rotation_id:uuid}/calendar.ics",
        opt=READ_ROSTER,
        operation_class=CalendarOperation,
        responses=problems(401, 403, 404),
        summary="The rotation's on-call shifts as an iCalendar feed",
    )
    async def rotation_calendar(self, rotation_id: FromPath[UUID]) -> Response[bytes]:
        return _ics(await calendar.rotation_feed(rotation_id), f"rotation-{rotation_id}")


class OverrideController(Controller):
    path = "/overrides"
    tags = TAGS

    @delete("/{override_id:uuid}", opt=WRITE_ROSTER, responses=problems(401, 403, 404), summary="Remove an override")
    async def delete_override(self, request: AuthedRequest, override_id: FromPath[UUID]) -> None:
        await service.delete_override(override_id, actor=request.user.name)


class OnCallController(Controller):
    path = "/oncall"
    tags = TAGS

    @get(
        "/",
        opt=READ_ROSTER,
        responses=problems(401, 403, 404, 422),
        summary="Who is on call in a rotation at an instant, and until when",
    )
    async def on_call(
        self,
        rotation: Annotated[UUID, QueryParameter(description="the rotation's id")],
        at: Annotated[
            datetime | None, QueryParameter(description="default now; a past instant replays the schedule as it stood")
        ] = None,
    ) -> OnCall:
        return await service.on_call(rotation, at)


class TurnaroundClockController(Controller):
    path = "/turnaround-clocks"
    tags = TAGS

    @get("/", opt=READ_ROSTER, responses=problems(401, 403), summary="Regulatory turnaround clocks, with citations")
    async def turnaround_clocks(self, request: AuthedRequest) -> TurnaroundClocks:
        return service.turnaround_clocks(request.app.state["settings"])


CONTROLLERS = [
    PhysicianScheduleController,
    WorkingHoursController,
    TimeOffController,
    HolidayController,
    RotationController,
    OverrideController,
    OnCallController,
    TurnaroundClockController,
]
