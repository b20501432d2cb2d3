"""``GET /api/v1/audits/files`` (api.md "Paths and shapes fixed for the turn-2 resources"): the names below up
to ``elements``' four scores are fixed by the contract; the rest is added detail."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import msgspec

from roster.credentialing.rules import DecisionKind, DecisionOutcome, Element


class ReliedOnRead(msgspec.Struct):
    """The verification a score rests on."""

    id: UUID
    source: str
    method: str
    verified_on: date
    verified_by: str
    outcome: str
    evidence_sha256: str | None


class ElementScoreRead(msgspec.Struct):
    element: Element
    #: A verification dated on or before the decision exists.
    present: bool
    #: Verified within the element's window before the decision (education: at any time before it).
    timely: bool
    #: The verification's method is acceptable for the element (``fixtures/verification_sources.csv``).
    source_ok: bool
    window_days: int | None
    #: The latest verification on or before the decision, or null when there is none.
    verification: ReliedOnRead | None


class AuditFileRead(msgspec.Struct):
    physician_id: UUID
    decision_id: UUID
    kind: DecisionKind
    decided_on: date
    elements: list[ElementScoreRead]
    decision: DecisionOutcome
    npi: str
    name: str
    #: Every element present, timely and from an acceptable source.
    passes: bool


class AuditFilesRead(msgspec.Struct):
    #: Give it back as ``seed=`` (same period) to draw the same sample again.
    seed: int
    #: How many credentialing decisions the period holds (the files the sample is drawn from).
    population: int
    sample: list[AuditFileRead]
    period_start: date
    period_end: date
    population_by_kind: dict[str, int]
