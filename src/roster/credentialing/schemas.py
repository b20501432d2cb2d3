"""The credentialing file's API shapes (api.md "Audit readiness" and "Credentialing file")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args
from uuid import UUID

import msgspec
from msgspec import Meta

from roster.credentialing.rules import DecisionKind, DecisionOutcome, Element, Outcome

#: How a verification was made (the implementer's vocabulary; api.md leaves it open):
#: ``primary_source`` (the issuing board, school or registry itself), ``cvo`` (a credentials verification
#: organization), ``nppes`` (the NPI Registry), ``abms`` (ABMS Certification Matters / CertiFacts),
#: ``npdb`` (a National Practitioner Data Bank query), ``other`` (say which in ``source``).
MethodName = Literal["primary_source", "cvo", "nppes", "abms", "npdb", "other"]
METHODS: tuple[str, ...] = get_args(MethodName)
Method = Annotated[
    MethodName,
    Meta(
        description="primary_source: the issuing board, school or registry itself; cvo: a credentials verification "
        "organization; nppes: the NPI Registry; abms: ABMS Certification Matters; npdb: a National Practitioner "
        "Data Bank query; other: say which in source"
    ),
]
EvidenceType = Literal["application/pdf", "image/png"]

SourceName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        pattern=r"\S",
        description="Who was consulted, e.g. a board's name",
        examples=["Texas Medical Board"],
    ),
]
CaseSet = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S", examples=["oncology-2027-q1"])]
Percent = Annotated[float, Meta(ge=0, le=100, description="Percent, 0 to 100")]


class EvidenceRead(msgspec.Struct):
    id: UUID
    sha256: str
    content_type: EvidenceType
    size: int


class VerificationCreate(msgspec.Struct, forbid_unknown_fields=True):
    element: Element
    source: SourceName
    method: Method
    verified_on: date
    outcome: Outcome
    evidence_id: UUID | None = None


class VerificationRead(msgspec.Struct):
    id: UUID
    physician_id: UUID
    element: Element
    source: str
    method: Method
    verified_on: date
    #: The caller who recorded it (the API key's name, as in the audit log).
    verified_by: str
    outcome: Outcome
    evidence_id: UUID | None
    #: The uploaded file behind it (its id and sha256), or null.
    evidence: EvidenceRead | None
    created_at: datetime


class DecisionCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: DecisionKind
    decided_on: Annotated[date, Meta(description="The committee's date")]
    decision: DecisionOutcome


class LateElementRead(msgspec.Struct):
    element: Element
    #: The latest verification dated on or before the decision, or null when there is none.
    verified_on: date | None
    #: The element's window (null for an element verified once, such as education).
    window_days: int | None


class DecisionRead(msgspec.Struct):
    id: UUID
    physician_id: UUID
    kind: DecisionKind
    decided_on: date
    decision: DecisionOutcome
    decided_by: str
    timely: bool
    late_elements: list[LateElementRead]
    #: Recredentialing: 36 months after the previous approval (null without one, and for initial).
    cycle_due_on: date | None
    #: Recredentialing: decided before ``cycle_due_on`` (false without a previous approval; null for initial).
    cycle_met: bool | None
    created_at: datetime


class IrrSessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    taken_on: date
    case_set: CaseSet
    score: Percent
    pass_mark: Percent


class IrrSessionRead(msgspec.Struct):
    id: UUID
    physician_id: UUID
    taken_on: date
    case_set: str
    score: float
    pass_mark: float
    #: ``score`` at or above ``pass_mark``.
    passed: bool
    created_by: str
    created_at: datetime


# -- policy updates and attestations ----------------------------------------------------------------

Title = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="The update's title (1 to 200 characters, not blank)",
        examples=["Oncology drug coverage policy, 2027 Q1 revision"],
    ),
]


class PolicyUpdateCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    effective_on: Annotated[date, Meta(description="The day the updated policy takes effect")]
    attest_by: Annotated[
        date, Meta(description="Reviewers attest having read it by this day (on or after effective_on)")
    ]


class PolicyUpdateRead(msgspec.Struct):
    id: UUID
    title: str
    effective_on: date
    attest_by: date
    created_by: str
    created_at: datetime
    #: Active physicians who have attested this update.
    attested: int
    #: Active physicians who have not (yet) attested it.
    outstanding: int


class AttestationCreate(msgspec.Struct, forbid_unknown_fields=True):
    physician_id: UUID
    attested_on: Annotated[
        date, Meta(description="The day the reviewer attested: not before effective_on, not in the future")
    ]


class AttestationRead(msgspec.Struct):
    id: UUID
    policy_update_id: UUID
    physician_id: UUID
    attested_on: date
    #: The caller who recorded it (the API key's name, as in the audit log).
    recorded_by: str
    created_at: datetime


class AttestationStatus(msgspec.Struct):
    policy_update_id: UUID
    title: str
    attest_by: date
    #: The day the physician attested, or null while unattested.
    attested_on: date | None
    #: Past its attest-by date (today is after it) and not attested.
    overdue: bool


class AttestationStatusList(msgspec.Struct):
    items: list[AttestationStatus]


# -- CME ------------------------------------------------------------------------------------------

#: CME credit categories (the implementer's vocabulary; api.md leaves it open).
CmeCategoryName = Literal["ama_pra_1", "ama_pra_2", "aoa_1a", "aoa_1b", "other"]
CME_CATEGORIES: tuple[str, ...] = get_args(CmeCategoryName)
CmeCategory = Annotated[
    CmeCategoryName,
    Meta(
        description="ama_pra_1: AMA PRA Category 1 Credit; ama_pra_2: AMA PRA Category 2 Credit; aoa_1a: AOA "
        "Category 1-A; aoa_1b: AOA Category 1-B; other: any other accredited CME (say which in activity)"
    ),
]
Activity = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="What was completed (course, conference, journal CME...)",
        examples=["ASCO Annual Meeting 2026"],
    ),
]
Hours = Annotated[
    float, Meta(gt=0, le=200, description="Credit hours, more than 0 and at most 200, to at most two decimals")
]


class CmeCreditCreate(msgspec.Struct, forbid_unknown_fields=True):
    completed_on: Annotated[date, Meta(description="The day the activity was completed (not in the future)")]
    activity: Activity
    hours: Hours
    category: CmeCategory


class CmeCreditRead(msgspec.Struct):
    id: UUID
    physician_id: UUID
    completed_on: date
    activity: str
    hours: float
    category: CmeCategory
    created_by: str
    created_at: datetime


class CmeStandingRead(msgspec.Struct):
    #: The current cycle's first day.
    cycle_start: date
    #: The current cycle's last day (inclusive).
    cycle_end: date
    #: Hours the cycle requires (the strictest row of the CME table among the physician's license states,
    #: else the organization's default).
    required_hours: float
    #: Hours completed from cycle_start through today.
    earned_hours: float
    #: earned_hours carried to the cycle's end at the rate so far (to two decimals).
    projected_hours: float
    #: At that rate, the cycle will end short of required_hours.
    short: bool
