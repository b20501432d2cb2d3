"""The audit pack's rules: which credentialing files an auditor reviews, and how each element of a file scores.

Pure functions of the facts passed in (no clock, no database). The default sample follows the "5% or 50
files" method NCQA prescribes for auditing credentialing files (Health Plan Accreditation FAQ, 15 Feb 2022,
"Sampling for UM/CR System Controls Monitoring": 5% or 50 files, whichever is less, of the credentialing and
recredentialing universe, with at least 10 credentialing and 10 recredentialing files; where fewer than 10
were decided, the whole universe of that kind). The numbers are the organization's configuration
(``ROSTER_AUDIT_SAMPLE_*``), so a stricter contract or another accreditor's method changes data, not code.

Timeliness is the credentialing file's own rule (:mod:`roster.credentialing.rules`, the windows table); this
module adds whether each element's verification came from a source acceptable for that element, which is
data too (``fixtures/verification_sources.csv``, one citation per row).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import get_args
from uuid import UUID

from roster.credentialing.rules import (
    DEFAULT_WINDOWS_PATH,
    ELEMENTS,
    DecisionKind,
    Verification,
    Window,
    WindowTableError,
    held_elements,
    judge_decision,
)
from roster.credentialing.schemas import METHODS

#: The kinds of credentialing file, in the order their per-kind minimum is drawn.
KINDS: tuple[str, ...] = get_args(DecisionKind)
#: The largest sample a caller may ask for (``sample=``): a pack of this many PDFs is already a long read.
MAX_SAMPLE = 500
#: Seeds are whole numbers a JSON client can hold exactly (up to 2**53 - 1).
MAX_SEED = 2**53 - 1


# -- the sample ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleRule:
    """``percent`` of the population or ``maximum`` files, whichever is less, with at least ``min_per_kind``
    files of each kind the population has (all of that kind when it has fewer)."""

    percent: float = 5.0
    maximum: int = 50
    min_per_kind: int = 10


@dataclass(frozen=True, slots=True)
class FileRef:
    """One credentialing file of the population: a decision and the physician it is about."""

    decision_id: UUID
    physician_id: UUID
    kind: str
    decided_on: date
    decision: str = "approved"

    @property
    def key(self) -> tuple[str, date, str]:
        """The stable order the draw starts from, whatever order the database returned."""
        return (self.kind, self.decided_on, str(self.decision_id))


@dataclass(frozen=True, slots=True)
class SampleSize:
    size: int
    #: Files drawn first from each kind (the per-kind minimum as far as the size allows).
    floors: Mapping[str, int]


def sample_size(counts: Mapping[str, int], rule: SampleRule, requested: int | None = None) -> SampleSize:
    """How many files to draw from a population of ``counts`` files per kind.

    By default: ``rule.percent`` of the population (rounded up) or ``rule.maximum``, whichever is less, raised
    to hold the per-kind minimum, never more than the population. ``requested`` (the caller's ``sample=``)
    replaces that size; the per-kind minimum then holds as far as it fits, the size shared evenly."""
    total = sum(counts.values())
    floors = {kind: min(rule.min_per_kind, counts.get(kind, 0)) for kind in KINDS}
    if requested is None:
        base = min(math.ceil(total * rule.percent / 100), rule.maximum)
        size = min(total, max(base, sum(floors.values())))
    else:
        size = min(total, requested)
    while sum(floors.values()) > size:
        largest = max(reversed(KINDS), key=lambda kind: floors[kind])
        floors[largest] -= 1
    return SampleSize(size, floors)


def draw_sample(
    population: Iterable[FileRef], seed: int, rule: SampleRule, requested: int | None = None
) -> list[FileRef]:
    """The files an auditor reviews, in their stable order: the same population and seed give the same
    sample, whatever order the population came in. Each kind's minimum is drawn first, the rest of the size
    from all remaining files."""
    ordered = sorted(set(population), key=lambda f: f.key)
    counts = {kind: sum(1 for f in ordered if f.kind == kind) for kind in KINDS}
    plan = sample_size(counts, rule, requested)
    rng = random.Random(seed)
    chosen: set[FileRef] = set()
    for kind in KINDS:
        of_kind = [f for f in ordered if f.kind == kind]
        chosen.update(rng.sample(of_kind, plan.floors[kind]))
    rest = [f for f in ordered if f not in chosen]
    chosen.update(rng.sample(rest, plan.size - len(chosen)))
    return sorted(chosen, key=lambda f: f.key)


# -- acceptable sources ------------------------------------------------------------------------------

DEFAULT_SOURCES_PATH = DEFAULT_WINDOWS_PATH.with_name("verification_sources.csv")
_SOURCE_COLUMNS = ("element", "methods", "citation")


@dataclass(frozen=True, slots=True)
class SourceRule:
    """The verification methods acceptable for one element (one row of the sources table)."""

    element: str
    methods: frozenset[str]
    citation: str


def load_sources(path: Path | str = DEFAULT_SOURCES_PATH) -> dict[str, SourceRule]:
    """The sources table: one row per element, ``methods`` ``;``-separated from the verification methods."""
    source = Path(path)
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _SOURCE_COLUMNS:
            raise WindowTableError(f"{source.name} row 1: the header must be {','.join(_SOURCE_COLUMNS)}")
        rules: dict[str, SourceRule] = {}
        for row_number, row in enumerate(reader, start=2):
            where = f"{source.name} row {row_number}"
            element = row["element"]
            if element not in ELEMENTS:
                raise WindowTableError(f"{where}, column element: {element!r} is not one of {', '.join(ELEMENTS)}")
            if element in rules:
                raise WindowTableError(f"{where}, column element: {element} appears twice")
            methods = frozenset(m.strip() for m in (row["methods"] or "").split(";") if m.strip())
            unknown = sorted(methods - set(METHODS))
            if not methods or unknown:
                raise WindowTableError(
                    f"{where}, column methods: {', '.join(unknown) or 'none given'}: "
                    f"each must be one of {', '.join(METHODS)}"
                )
            if not (row["citation"] or "").strip():
                raise WindowTableError(f"{where}, column citation: every row cites its source")
            rules[element] = SourceRule(element, methods, row["citation"].strip())
    missing = [element for element in ELEMENTS if element not in rules]
    if missing:
        raise WindowTableError(f"{source.name}: no row for {', '.join(missing)}")
    return rules


# -- scoring a file ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """A verification on the physician's file, as the pack shows it."""

    id: UUID
    element: str
    source: str
    method: str
    verified_on: date
    verified_by: str
    outcome: str
    evidence_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class ElementScore:
    element: str
    #: A verification dated on or before the decision exists.
    present: bool
    #: The one relied on falls inside the element's window before the decision (``once`` elements: any date).
    timely: bool
    #: Its method is acceptable for the element (sources table).
    source_ok: bool
    window_days: int | None
    #: The verification the decision rests on for this element: the latest on or before it, or None.
    relied_on: VerificationRecord | None


def relied_on(
    element: str, decided_on: date, verifications: Iterable[VerificationRecord], sources: Mapping[str, SourceRule]
) -> VerificationRecord | None:
    """The latest verification of ``element`` dated on or before the decision; on a tie, one from an
    acceptable source, then a ``verified`` outcome, then the lowest id (so the pick never depends on order)."""
    acceptable = sources[element].methods
    candidates = [v for v in verifications if v.element == element and v.verified_on <= decided_on]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda v: (v.verified_on, v.method in acceptable, v.outcome == "verified", _desc(str(v.id))),
    )


def _desc(text: str) -> tuple[int, ...]:
    """Orders text descending inside ``max`` (the lowest id wins a tie)."""
    return tuple(-ord(c) for c in text)


def score_file(
    file: FileRef,
    verifications: Sequence[VerificationRecord],
    windows: Mapping[str, Window],
    sources: Mapping[str, SourceRule],
) -> list[ElementScore]:
    """Every required element of one file, scored. Required: every ``always`` element, and an ``if_held`` one
    (DEA/CDS) when the physician has any verification of it; timeliness is the credentialing rule's own
    (:func:`roster.credentialing.rules.judge_decision`), judged over the physician's whole file."""
    facts = [Verification(v.element, v.verified_on, v.outcome) for v in verifications]
    holds = held_elements(facts, windows)
    judged = judge_decision(file.kind, file.decided_on, facts, windows, holds=holds)
    late = {e.element for e in judged.late_elements}
    scores = []
    for element in ELEMENTS:
        window = windows[element]
        if window.required == "if_held" and element not in holds:
            continue
        relied = relied_on(element, file.decided_on, verifications, sources)
        present = relied is not None
        scores.append(
            ElementScore(
                element=element,
                present=present,
                timely=present and element not in late,
                source_ok=relied is not None and relied.method in sources[element].methods,
                window_days=window.window_days,
                relied_on=relied,
            )
        )
    return scores


def file_passes(scores: Iterable[ElementScore]) -> bool:
    """Every element present, timely and from an acceptable source."""
    return all(s.present and s.timely and s.source_ok for s in scores)
