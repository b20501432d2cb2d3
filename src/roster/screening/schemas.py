from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

Source = Literal["oig_leie", "sam", "cms_preclusion"]
HitStatus = Literal["pending", "confirmed", "dismissed"]
MatchKind = Literal["npi", "name_dob", "name"]
#: Why the matcher held a pair back (``roster.screening.evidence.VETOES``): another valid NPI on the row.
SuppressReason = Literal["npi_conflict"]


class SnapshotFromUrl(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, Meta(min_length=8, max_length=2000, pattern=r"^https?://")]


class SnapshotRead(msgspec.Struct):
    id: UUID
    source: Source
    sha256: str
    rows: int
    loaded_at: datetime
    file_name: str


class ScreeningRunCreate(msgspec.Struct, forbid_unknown_fields=True):
    #: Default: every source that has a loaded snapshot.
    sources: list[Source] | None = None


class ScreeningRunRead(msgspec.Struct):
    id: UUID
    sources: list[Source]
    #: The snapshot each source was screened against.
    snapshots: dict[str, UUID]
    screened: int
    hits: int
    #: Hits raised for the first time by this run (the rest were already on file).
    new_hits: int
    #: Pairs held back, per reason (``{"npi_conflict": 2}``): not hits, listed at ``/runs/{id}/suppressed``.
    suppressed: dict[str, int]
    started_at: datetime
    finished_at: datetime


class HitRead(msgspec.Struct):
    id: UUID
    physician_id: UUID
    source: Source
    match_kind: MatchKind
    score: float
    matched_fields: list[str]
    #: The list row exactly as published.
    record: dict[str, Any]
    #: How each field compared (``{"npi": "absent", "dob": "equal", "last_name": "typo", ...}``).
    evidence: dict[str, Any]
    status: HitStatus
    record_key: str
    snapshot_id: UUID
    run_id: UUID
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str | None


class SuppressedRead(msgspec.Struct):
    """A pair a run held back: the physician, the list row and why it is no hit."""

    id: UUID
    run_id: UUID
    physician_id: UUID
    #: "First Last", to read the list without looking each physician up.
    physician_name: str
    source: Source
    reason: str
    #: The kind and score the pair would have had as a hit.
    match_kind: MatchKind
    score: float
    record_key: str
    #: The list row exactly as published.
    record: dict[str, Any]
    evidence: dict[str, Any]
    snapshot_id: UUID
    created_at: datetime


class HitDecision(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["confirmed", "dismissed"]
    #: Why: accreditation requires a record of why a hit was cleared.
    note: Annotated[str, Meta(min_length=1, max_length=2000, pattern=r"\S")]
