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
