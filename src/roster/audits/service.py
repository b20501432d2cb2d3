"""The audit pack: draw the period's sample of credentialing files, score each, and record who pulled which.

The rules are :mod:`roster.audits.rules` (the sample, the acceptable sources) and the credentialing file's own
(:mod:`roster.credentialing.rules`, the windows); this module gathers their facts. Every pull, whatever its
format, is one audit event naming the caller, the period, the seed and each file pulled: the auditor's
sample can be replayed, and the organization knows who saw which physicians' files.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from uuid import UUID

from roster.audit import service as audit
from roster.audits import repository
from roster.audits.rules import (
    KINDS,
    MAX_SEED,
    ElementScore,
    FileRef,
    SampleRule,
    SourceRule,
    VerificationRecord,
    draw_sample,
    file_passes,
    load_sources,
    score_file,
)
from roster.audits.schemas import AuditFileRead, AuditFilesRead, ElementScoreRead, ReliedOnRead
from roster.config import Settings
from roster.credentialing.rules import Window
from roster.credentialing.service import verification_windows
from roster.db import write_tx
from roster.reports.monitoring import checked_period


@cache
def _sources(path: Path) -> Mapping[str, SourceRule]:
    return MappingProxyType(load_sources(path))


def verification_sources(settings: Settings) -> Mapping[str, SourceRule]:
    """The sources table (``verification_sources.csv`` under ``ROSTER_FIXTURES_DIR``), read once per process."""
    return _sources(settings.fixtures_dir / "verification_sources.csv")


def sample_rule(settings: Settings) -> SampleRule:
    return SampleRule(settings.audit_sample_percent, settings.audit_sample_max, settings.audit_sample_min_per_kind)


@dataclass(frozen=True, slots=True)
class AuditFile:
    """One sampled file with everything the pack shows of it."""

    ref: FileRef
    physician: Mapping[str, Any]
    decided_by: str
    #: The timeliness judged when the decision was recorded (the score below is judged on today's file).
    recorded_timely: bool
    scores: list[ElementScore]

    @property
    def name(self) -> str:
        return display_name(self.physician)

    @property
    def passes(self) -> bool:
        return file_passes(self.scores)


@dataclass(frozen=True, slots=True)
class AuditPull:
    period_start: date
    period_end: date
    seed: int
    population_by_kind: Mapping[str, int]
    files: list[AuditFile]
    windows: Mapping[str, Window]
    sources: Mapping[str, SourceRule]

    @property
    def population(self) -> int:
        return sum(self.population_by_kind.values())


def display_name(physician: Mapping[str, Any]) -> str:
    parts = [physician.get("first_name"), physician.get("middle_name"), physician.get("last_name")]
    name = " ".join(p for p in parts if p)
    if physician.get("suffix"):
        name += f" {physician['suffix']}"
    return f"{name}, {physician['degree']}" if physician.get("degree") else name


def new_seed() -> int:
    """A seed for a pull that named none (returned with the sample, so it can be replayed)."""
    return secrets.randbelow(MAX_SEED + 1)


async def pull(
    period_start: date, period_end: date, *, settings: Settings, sample: int | None = None, seed: int | None = None
) -> AuditPull:
    """The sample of the period's credentialing files (``sample``: its size instead of the rule's), scored."""
    checked_period(period_start, period_end)
    seed = new_seed() if seed is None else seed
    windows = verification_windows(settings)
    sources = verification_sources(settings)
    population = [
        FileRef(row["id"], row["physician_id"], row["kind"], row["decided_on"], row["decision"])
        for row in await repository.decisions_between(period_start, period_end)
    ]
    by_kind = {kind: sum(1 for f in population if f.kind == kind) for kind in KINDS}
    drawn = draw_sample(population, seed, sample_rule(settings), sample)
    physician_ids = list(dict.fromkeys(f.physician_id for f in drawn))
    people = {row["id"]: row for row in await repository.physicians(physician_ids)}
    recorded = {row["id"]: row for row in await repository.decisions([f.decision_id for f in drawn])}
    files_of: dict[UUID, list[VerificationRecord]] = defaultdict(list)
    for row in await repository.verifications(physician_ids):
        files_of[row["physician_id"]].append(
            VerificationRecord(
                id=row["id"],
                element=row["element"],
                source=row["source"],
                method=row["method"],
                verified_on=row["verified_on"],
                verified_by=row["verified_by"],
                outcome=row["outcome"],
                evidence_sha256=row["evidence_sha256"],
            )
        )
    files = [
        AuditFile(
            ref=ref,
            physician=people[ref.physician_id],
            decided_by=recorded[ref.decision_id]["decided_by"],
            recorded_timely=recorded[ref.decision_id]["timely"],
            scores=score_file(ref, files_of[ref.physician_id], windows, sources),
        )
        for ref in drawn
    ]
    return AuditPull(period_start, period_end, seed, by_kind, files, windows, sources)


async def record_pull(pulled: AuditPull, *, actor: str, media: str) -> None:
    """The audit event of a pull (call it once the answer is ready, before it is sent)."""
    async with write_tx(roster_change=False):
        await audit.record(
            actor=actor,
            action="pull",
            entity="audit_files",
            entity_id=uuid.uuid4(),
            after={
                "period_start": pulled.period_start.isoformat(),
                "period_end": pulled.period_end.isoformat(),
                "seed": pulled.seed,
                "format": media,
                "population": pulled.population,
                "files": [
                    {"physician_id": str(f.ref.physician_id), "decision_id": str(f.ref.decision_id)}
                    for f in pulled.files
                ],
            },
        )


def _score_read(score: ElementScore) -> ElementScoreRead:
    v = score.relied_on
    relied = (
        None
        if v is None
        else ReliedOnRead(v.id, v.source, v.method, v.verified_on, v.verified_by, v.outcome, v.evidence_sha256)
    )
    return ElementScoreRead(score.element, score.present, score.timely, score.source_ok, score.window_days, relied)


def files_read(pulled: AuditPull) -> AuditFilesRead:
    return AuditFilesRead(
        seed=pulled.seed,
        population=pulled.population,
        sample=[
            AuditFileRead(
                physician_id=f.ref.physician_id,
                decision_id=f.ref.decision_id,
                kind=f.ref.kind,
                decided_on=f.ref.decided_on,
                elements=[_score_read(s) for s in f.scores],
                decision=f.ref.decision,
                npi=f.physician["npi"],
                name=f.name,
                passes=f.passes,
            )
            for f in pulled.files
        ],
        period_start=pulled.period_start,
        period_end=pulled.period_end,
        population_by_kind=dict(pulled.population_by_kind),
    )
