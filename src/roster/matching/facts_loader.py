"""Assemble ``ReviewerFacts`` for the whole roster (or one physician) in a handful of bulk queries,
from the live tables or from the recorded history as it stood at a past instant."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from roster.compliance.facts import CertificationFact, LicenseFact, PhysicianFacts, ScreeningFact
from roster.config import SOURCES
from roster.credentialing.repository import unattested_attest_by
from roster.matching import repository
from roster.matching.facts import ReviewerFacts, ScreeningStanding, SnapshotRef

_DATE_FIELDS = ("clinical_practice_start", "credentialed_on", "irr_passed_on")


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _physician_from_history(data: dict[str, Any]) -> dict[str, Any]:
    row = dict(data)
    for key in _DATE_FIELDS:
        row[key] = date.fromisoformat(row[key]) if row.get(key) else None
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    row["id"] = _uuid(row["id"])
    return row


async def _screening(
    physicians: list[dict[str, Any]], at: datetime, physician_ids: Collection[UUID] | None
) -> dict[UUID, ScreeningStanding]:
    """Per physician and source: the newest run that screened them (started after they joined the roster)
    and the hits open at ``at`` — the same reading as ``roster.screening.facts``, for many physicians at once."""
    runs = await repository.screening_runs_by(at)
    per_source: dict[str, list[tuple[datetime, UUID, UUID]]] = defaultdict(list)
    for run in runs:
        for source in run["sources"]:
            snapshot_id = (run["snapshots"] or {}).get(source)
            if snapshot_id:
                per_source[source].append((run["started_at"], _uuid(snapshot_id), _uuid(run["id"])))
    wanted = list({snap for entries in per_source.values() for _, snap, _ in entries})
    snapshots = {_uuid(s["id"]): s for s in await repository.snapshots(wanted)}
    # Candidate snapshots per source, newest run first, each with its (shared, immutable) fact and evidence.
    choices: dict[str, list[tuple[datetime, ScreeningFact, SnapshotRef]]] = defaultdict(list)
    for source, entries in per_source.items():
        for started, snapshot_id, run_id in entries:
            snapshot = snapshots.get(snapshot_id)
            if snapshot is not None:
                ref = SnapshotRef(
                    source=source,
                    snapshot_id=snapshot_id,
                    sha256=snapshot["sha256"],
                    loaded_at=snapshot["loaded_at"],
                    run_id=run_id,
                )
                fact = ScreeningFact(source=source, snapshot_loaded_on=snapshot["loaded_at"].date())
                choices[source].append((started, fact, ref))
    hits: dict[UUID, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for hit in await repository.open_hits_at(at, physician_ids):
        tally = hits[_uuid(hit["physician_id"])][hit["source"]]
        if hit["decided_at"] is not None and hit["decided_at"] <= at:
            tally[1] += hit["status"] == "confirmed"
        else:
            tally[0] += 1
    never = {source: ScreeningFact(source=source) for source in SOURCES}

    def standing(joined: datetime, open_hits: dict[str, list[int]] | None) -> ScreeningStanding:
        facts, refs = [], []
        for source in SOURCES:
            fact = never[source]
            for started, candidate, ref in choices.get(source, ()):
                if started >= joined:  # a run screens only physicians already on the roster
                    fact = candidate
                    refs.append(ref)
                    break
            if open_hits is not None and source in open_hits:
                pending, confirmed = open_hits[source]
                fact = msgspec.structs.replace(fact, pending_hits=pending, confirmed_hits=confirmed)
            facts.append(fact)
        return tuple(facts), tuple(refs)

    # Without hits, a standing depends only on which runs started before the physician joined: shared by
    # everyone who joined between the same two runs (a run after a big roster reads 50,000 of them).
    starts = sorted({started for entries in choices.values() for started, _, _ in entries})
    shared: dict[int, ScreeningStanding] = {}
    out: dict[UUID, ScreeningStanding] = {}
    for physician in physicians:
        pid, joined = physician["id"], physician["created_at"]
        open_hits = hits.get(pid)
        if open_hits is not None:
            out[pid] = standing(joined, open_hits)
            continue
        runs_before = bisect_left(starts, joined)
        found = shared.get(runs_before)
        if found is None:
            found = shared[runs_before] = standing(joined, None)
        out[pid] = found
    return out


def _reviewer(
    physician: dict[str, Any],
    licenses: list[dict[str, Any]],
    certifications: list[dict[str, Any]],
    screening: ScreeningStanding,
    open_cases: int,
    unattested: list[date] | None = None,
) -> ReviewerFacts:
    return ReviewerFacts(
        compliance=PhysicianFacts(
            id=physician["id"],
            npi=physician["npi"],
            status=physician["status"],
            npi_status=physician["npi_status"],
            clinical_practice_start=physician["clinical_practice_start"],
            credentialed_on=physician["credentialed_on"],
            irr_passed_on=physician["irr_passed_on"],
            licenses=tuple(msgspec.convert(r, LicenseFact, strict=False) for r in licenses),
            certifications=tuple(msgspec.convert(r, CertificationFact, strict=False) for r in certifications),
            screening=screening[0],
            unattested_attest_by=tuple(sorted(unattested or ())),
        ),
        name=f"{physician['first_name']} {physician['last_name']}",
        lines_of_business=tuple(physician["lines_of_business"] or ()),
        specialties=tuple(physician["specialties"] or ()),
        languages=tuple(physician["languages"] or ()),
        max_open_cases=int(physician["max_open_cases"]),
        open_cases=open_cases,
        snapshots=screening[1],
    )


def _by_owner(rows: list[dict[str, Any]]) -> dict[UUID, list[dict[str, Any]]]:
    out: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[_uuid(row["physician_id"])].append(row)
    return out


async def current_reviewers(
    now: datetime,
    physician_id: UUID | None = None,
    open_cases: dict[UUID, int] | None = None,
    *,
    physician_ids: Collection[UUID] | None = None,
) -> list[ReviewerFacts]:
    """The live roster, or only ``physician_id`` / ``physician_ids`` (those still on it); ``open_cases``
    is left at 0 unless given."""
    ids = [physician_id] if physician_id is not None else physician_ids
    if ids is not None and not ids:
        return []
    physicians = await repository.physicians(ids)
    for p in physicians:
        p["id"] = _uuid(p["id"])
    licenses = _by_owner(await repository.licenses(ids))
    certifications = _by_owner(await repository.certifications(ids))
    screening = await _screening(physicians, now, ids)
    unattested = await unattested_attest_by(now, ids)
    counts = open_cases or {}
    return [
        _reviewer(
            p,
            licenses.get(p["id"], []),
            certifications.get(p["id"], []),
            screening[p["id"]],
            counts.get(p["id"], 0),
            unattested.get(p["id"]),
        )
        for p in physicians
    ]


async def screening_standing(now: datetime) -> dict[UUID, ScreeningStanding]:
    """Every physician's screening standing at ``now``, alone: after a run, for ``RosterIndex.rescreened``."""
    physicians = await repository.joined_roster()
    for p in physicians:
        p["id"] = _uuid(p["id"])
    return await _screening(physicians, now, None)


async def reviewers_as_recorded(at: datetime) -> list[ReviewerFacts]:
    """The roster exactly as recorded at a past instant, with the assignments open then."""
    physicians: list[dict[str, Any]] = []
    licenses: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    certifications: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for version in await repository.versions_at(at):
        owner = _uuid(version["physician_id"])
        if version["entity"] == "physician":
            physicians.append(_physician_from_history(version["data"]))
        elif version["entity"] == "license":
            licenses[owner].append(version["data"])
        elif version["entity"] == "certification":
            certifications[owner].append(version["data"])
    screening = await _screening(physicians, at, None)
    unattested = await unattested_attest_by(at)
    counts = await repository.open_assignment_counts_at(at)
    return [
        _reviewer(
            p,
            licenses.get(p["id"], []),
            certifications.get(p["id"], []),
            screening[p["id"]],
            counts.get(p["id"], 0),
            unattested.get(p["id"]),
        )
        for p in physicians
    ]
