"""Request and response bodies of the schedule resources (api.md "Paths and shapes fixed for the turn-2 resources")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from roster.availability.zones import TimeZoneName
from roster.vocabulary import LineOfBusiness, ReviewType, SpecialtyRef, StateCode

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WallTime = Annotated[
    str,
    Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="local wall-clock time, HH:MM", examples=["09:00"]),
]
Instant = Annotated[datetime, Meta(tz=True, description="ISO 8601 with an offset; stored as UTC")]
TimeOffReason = Literal["pto", "leave", "training"]
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S")]
Priority = Annotated[int, Meta(ge=1, le=1000, description="1 is tried first")]
ShiftHours = Annotated[int, Meta(ge=1, le=8784, description="wall-clock hours per shift, e.g. 12 or 168")]


# -- working hours ---------------------------------------------------------------------------------


class WorkingHoursCreate(msgspec.Struct, forbid_unknown_fields=True):
    weekdays: Annotated[list[Weekday], Meta(min_length=1, max_length=7)]
    start: WallTime
    end: Annotated[WallTime, Meta(description="HH:MM; at or before start: an overnight span")]
    effective_from: date | None = None
    effective_until: date | None = None


class WorkingHoursRead(msgspec.Struct):
    id: UUID
    physician_id: UUID
    weekdays: list[Weekday]
    start: str
    end: str
    effective_from: date | None
    effective_until: date | None
    #: The physician's zone the times are read in.
    time_zone: str
    created_at: datetime


# -- time off --------------------------------------------------------------------------------------


class TimeOffCreate(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Instant
    ends_at: Instant
    reason: TimeOffReason = "pto"


class TimeOffRead(msgspec.Struct):
    id: UUID
    physician_id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: TimeOffReason
    created_at: datetime


class Replacement(msgspec.Struct):
    physician_id: UUID
    name: str


class AtRisk(msgspec.Struct):
    """An open assignment of the physician the time off endangers (its due time falls in it, or too
    little available time is left before it), with eligible reviewers who could take it over."""

    assignment_id: UUID
    case_id: str
    due_at: datetime
    replacements: list[Replacement]


class TimeOffCreated(msgspec.Struct):
    id: UUID
    physician_id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: TimeOffReason
    created_at: datetime
    at_risk: list[AtRisk]


# -- holidays --------------------------------------------------------------------------------------


class HolidayCreate(msgspec.Struct, forbid_unknown_fields=True):
    date: date
    name: Name


class HolidayRead(msgspec.Struct):
    id: UUID
    date: date
    name: str
    created_at: datetime


# -- rotations -------------------------------------------------------------------------------------


class RotationCase(msgspec.Struct, forbid_unknown_fields=True):
    """The cases the rotation covers: an override's physician must be eligible for them."""

    state: StateCode
    line_of_business: LineOfBusiness
    specialty: SpecialtyRef
    review_type: ReviewType


class LayerBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    members: Annotated[list[UUID], Meta(min_length=1, max_length=500, description="physician ids, in turn order")]
    handoff_time: WallTime
    shift_hours: ShiftHours
    starts_on: date
    priority: Priority = 1


class RotationCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    time_zone: TimeZoneName
    layers: Annotated[list[LayerBody], Meta(min_length=1, max_length=20)]
    case: RotationCase | None = None


class RotationUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Fields given replace the stored ones; ``layers`` replaces every layer, ``case: null`` removes the case."""

    name: Name | UnsetType = UNSET
    time_zone: TimeZoneName | UnsetType = UNSET
    layers: Annotated[list[LayerBody], Meta(min_length=1, max_length=20)] | UnsetType = UNSET
    case: RotationCase | UnsetType | None = UNSET


class LayerRead(msgspec.Struct):
    name: str
    priority: int
    members: list[UUID]
    handoff_time: str
    shift_hours: int
    starts_on: date


class RotationRead(msgspec.Struct):
    id: UUID
    name: str
    time_zone: str
    case: RotationCase | None
    layers: list[LayerRead]
    created_at: datetime
    updated_at: datetime


class OverrideCreate(msgspec.Struct, forbid_unknown_fields=True):
    physician_id: UUID
    starts_at: Instant
    ends_at: Instant


class OverrideRead(msgspec.Struct):
    id: UUID
    rotation_id: UUID
    physician_id: UUID
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


# -- on call and clocks ----------------------------------------------------------------------------


class OnCallEntry(msgspec.Struct, rename={"from_": "from"}):
    physician_id: UUID
    name: str
    from_: datetime
    until: datetime
    #: The layer's name, or ``override``.
    layer: str


class OnCall(msgspec.Struct):
    rotation: UUID
    at: datetime
    on_call: list[OnCallEntry]


class TurnaroundClockRead(msgspec.Struct):
    line_of_business: str
    review_type: str
    urgency: Literal["standard", "expedited"]
    unit: Literal["hours", "calendar_days", "business_days"]
    amount: int
    extension_days: int
    citation: str


class TurnaroundClocks(msgspec.Struct):
    items: list[TurnaroundClockRead]


class OnCallGapRow(msgspec.Struct):
    rotation_id: UUID
    rotation: str
    starts_at: datetime
    ends_at: datetime
    hours: float
    #: ``nobody`` (no layer has started, or no member) or ``on_leave`` (the reviewer on call has time off).
    reason: str
    physician_id: UUID | None = None
    name: str | None = None


class OnCallGapReport(msgspec.Struct, rename={"from_": "from"}):
    from_: datetime
    until: datetime
    days: int
    gaps: list[OnCallGapRow]
