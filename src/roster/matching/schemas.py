from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from roster.vocabulary import Language, LineOfBusiness, ReviewType, SpecialtyRef, StateCode

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


class IneligibleReviewer(msgspec.Struct):
    physician_id: UUID
    name: str
    reasons: list[str]


class MatchResult(msgspec.Struct):
    eligible: list[EligibleReviewer]
    #: Physicians per reason code; with ``explain`` every ineligible physician with all of its reasons.
    ineligible: dict[str, int] | list[IneligibleReviewer]
    evaluated: int
    as_of: date
