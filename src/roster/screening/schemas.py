from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

Source = Literal["oig_leie", "sam", "cms_preclusion"]
HitStatus = Literal["pending", "confirmed", "dismissed"]
MatchKind = Literal["npi", "name_dob", "name"]


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
    status: HitStatus
    record_key: str
    snapshot_id: UUID
    run_id: UUID
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str | None


class HitDecision(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["confirmed", "dismissed"]
    #: Why: accreditation requires a record of why a hit was cleared.
    note: Annotated[str, Meta(min_length=1, max_length=2000, pattern=r"\S")]
