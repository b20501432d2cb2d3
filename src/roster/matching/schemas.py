from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from roster.availability.clocks import Urgency
from roster.vocabulary import Language, LineOfBusiness, ReviewType, SpecialtyRef, StateCode

Instant = Annotated[datetime, Meta(tz=True, description="ISO 8601 with an offset, e.g. 2027-03-08T14:00:00Z")]
PriorReviewers = Annotated[list[UUID], Meta(max_length=100, description="physicians already involved in the case")]


class MatchRequest(msgspec.Struct, forbid_unknown_fields=True):
    state: StateCode
    line_of_business: LineOfBusiness
    specialty: SpecialtyRef
    review_type: ReviewType
    prior_reviewer_ids: PriorReviewers = []
    language: Language | None = None
    #: Default today; a past date replays the roster as recorded at the end of that day.
    as_of: date | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 5
    explain: bool = False
    #: ``expedited`` or ``standard``: with the line of business and review type, picks the turnaround clock.
    urgency: Urgency = "standard"
    #: When the case was received (default now): the turnaround clock starts here.
    received_at: Instant | None = None
    #: The instant availability is judged at (default now); a past one replays schedules as they stood.
    at: Instant | None = None
    #: Only reviewers working or on call at ``at`` (``off_shift`` then excludes).
    available_now: bool = False


class MatchLicense(msgspec.Struct):
    state: str
    number: str
    expires_on: date


class EligibleReviewer(msgspec.Struct):
    physician_id: UUID
    npi: str
    name: str
    score: float
    specialty_match: Literal["same", "similar"]
    open_cases: int
    license: MatchLicense
    #: Working or on call at ``at`` (rules.md §5); a reviewer with no schedule always is.
    available_now: bool = True
    #: When not available now: the next instant within 30 days (null when none).
    available_from: datetime | None = None


class IneligibleReviewer(msgspec.Struct, omit_defaults=True):
    physician_id: UUID
    name: str
    reasons: list[str]
    #: With a time reason (``off_shift``, ``on_leave``, ``cannot_meet_due``): the next available instant.
    available_from: datetime | None = None


class MatchResult(msgspec.Struct):
    eligible: list[EligibleReviewer]
    #: Physicians per reason code; with ``explain`` every ineligible physician with all of its reasons.
    ineligible: dict[str, int] | list[IneligibleReviewer]
    evaluated: int
    as_of: date
    #: The instant availability was judged at, and when the case is due by its turnaround clock.
    at: datetime | None = None
    due_at: datetime | None = None
