from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from roster.availability.clocks import Urgency
from roster.matching.schemas import Instant, PriorReviewers
from roster.vocabulary import LineOfBusiness, ReviewType, SpecialtyRef, StateCode

CaseId = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S", description="the router's case identifier")]
AssignmentStatus = Literal["open", "completed", "cancelled"]


class AssignmentCreate(msgspec.Struct, forbid_unknown_fields=True):
    case_id: CaseId
    physician_id: UUID
    state: StateCode
    line_of_business: LineOfBusiness
    specialty: SpecialtyRef
    review_type: ReviewType
    prior_reviewer_ids: PriorReviewers = []
    #: Default: ``received_at`` plus the turnaround clock of (line of business, review type, urgency).
    due_at: Instant | None = None
    urgency: Urgency = "standard"
    received_at: Instant | None = None
    #: The instant the reviewer's availability is judged at (default now).
    at: Instant | None = None
    #: Refuse a reviewer who is neither working nor on call at ``at`` (``off_shift``).
    available_now: bool = False


class AssignmentUpdate(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["completed", "cancelled"]


class AssignmentRead(msgspec.Struct):
    id: UUID
    case_id: str
    physician_id: UUID
    state: str
    line_of_business: str
    specialty: str
    review_type: str
    prior_reviewer_ids: list[UUID]
    status: AssignmentStatus
    #: What eligibility relied on: the license, certifications and list snapshots, with dates and ids.
    evidence: dict[str, Any]
    due_at: datetime | None
    urgency: str
    received_at: datetime | None
    created_by: str
    created_at: datetime
    closed_at: datetime | None
