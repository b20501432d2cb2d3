"""Exclusion and preclusion screening: list snapshots, runs over the whole roster, hits and decisions.

A snapshot is a publisher file loaded once (identified by its sha256) and kept as a parsed Parquet
frame; a run screens every active physician against the newest snapshot of each source and records
which snapshots it used, so "was this reviewer clear on that date, against which list?" has an
answer. Hits are leads until a person decides them.
"""

from __future__ import annotations

import functools
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio.to_thread
import msgspec
import polars as pl

from roster import clock
from roster.alerts.service import alert_row, raise_alerts
from roster.api.pagination import Page, cursor_key, page_of
from roster.audit import service as audit
from roster.config import SOURCES, Settings
from roster.credentialing import service as credentialing
from roster.db import write_tx
from roster.db.tx import claim_roster_version
from roster.errors import Conflict, FieldError, InvalidInput, NotFound
from roster.screening import repository
from roster.screening.matching import MATCH_KINDS, ROSTER_SCHEMA, PreparedRoster, empty_hits, screen_prepared
from roster.screening.names import load_nicknames
from roster.screening.schemas import HitDecision, HitRead, ScreeningRunRead, SnapshotRead, SuppressedRead
from roster.sources import leie, sam
from roster.sources.leie import apply_leie_supplement, read_leie
from roster.sources.preclusion import PreclusionLayout, layout_with, read_preclusion
from roster.sources.records import RECORD, ListFormatError
from roster.sources.sam import read_sam

#: The Preclusion List is CMS's list keyed by NPI (reference.md §3.3): its NPI identifies; the LEIE and
#: SAM mostly lack NPIs, so names (with DOB where published) are the leads there.
MATCH_KINDS_BY_SOURCE = {"oig_leie": MATCH_KINDS, "sam": MATCH_KINDS, "cms_preclusion": ("npi",)}
ALERT_KIND = {"oig_leie": "exclusion_hit", "sam": "exclusion_hit", "cms_preclusion": "preclusion_hit"}
#: How each list is named in the sanctions verification a clean run records (with its snapshot's date).
LIST_NAMES = {"oig_leie": "OIG LEIE", "sam": "SAM.gov exclusions", "cms_preclusion": "CMS Preclusion List"}
_LEIE_SUPPLEMENT = re.compile(r"^\d{4}(EXCL|REIN)\.csv$", re.IGNORECASE)


# -- where snapshots live --------------------------------------------------------------------


def list_dir(data_dir: Path, source: str) -> Path:
    path = data_dir / "lists" / source
    path.mkdir(parents=True, exist_ok=True)
    return path


def parquet_path(data_dir: Path, source: str, sha256: str) -> Path:
    return list_dir(data_dir, source) / f"{sha256}.parquet"


def snapshot_read(row: dict[str, Any]) -> SnapshotRead:
    return msgspec.convert(row, SnapshotRead, from_attributes=True, strict=False)


# -- loading a snapshot ----------------------------------------------------------------------


def _parse(source: str, raw: Path, file_name: str, base: pl.DataFrame | None, layout: PreclusionLayout) -> pl.DataFrame:
    """Publisher file -> normalized list frame. Runs in a worker thread (polars releases the GIL)."""
    if source == "oig_leie":
        frame = read_leie(raw)
        supplement = _LEIE_SUPPLEMENT.match(file_name)
        if supplement is None:
            return frame
        if base is None:
            raise ListFormatError(f"{file_name} is a monthly supplement; load a full UPDATED.csv first")
        if base.schema[RECORD] != frame.schema[RECORD]:  # a snapshot parsed before records were kept as structs
            raise ListFormatError(f"{file_name} is a monthly supplement; reload the full UPDATED.csv first")
        return apply_leie_supplement(base, frame, "excl" if supplement.group(1).upper() == "EXCL" else "rein")
    if source == "sam":
        return read_sam(raw)
    return read_preclusion(raw, layout=layout, file_name=file_name)


async def load_snapshot(
    source: str, staged: Path, sha256: str, *, file_name: str, origin: str, settings: Settings, actor: str
) -> tuple[SnapshotRead, bool]:
    """Parse a staged file and record it as the newest snapshot of ``source``.

    Returns ``(snapshot, created)``; the same bytes loaded twice give back the first snapshot. A
    file that does not parse is rejected before anything is stored.
    """
    try:
        existing = await repository.snapshot_by_sha(source, sha256)
        if existing is not None:
            return snapshot_read(existing), False
        base = None
        if source == "oig_leie" and _LEIE_SUPPLEMENT.match(file_name):
            newest = await repository.newest_snapshot(source)
            if newest is not None:
                base = pl.read_parquet(parquet_path(settings.data_dir, source, newest["sha256"]))
        try:
            layout = layout_with(settings.preclusion_columns)
            frame = await anyio.to_thread.run_sync(_parse, source, staged, file_name, base, layout)
        except ListFormatError as exc:
            raise InvalidInput(detail=f"{file_name}: {exc}", errors=[FieldError("file", str(exc))]) from None
        target = parquet_path(settings.data_dir, source, sha256)
        tmp = target.with_suffix(".parquet.part")
        await anyio.to_thread.run_sync(frame.write_parquet, tmp)
        os.replace(tmp, target)
        row = {
            "id": uuid.uuid4(),
            "source": source,
            "sha256": sha256,
            "rows": frame.height,
            "file_name": file_name[:255],
            "origin": origin,
            "published_on": None,
            "loaded_at": clock.now(),
        }
        # Not a roster change: a list decides nothing until a run screens the roster against it.
        async with write_tx(roster_change=False):
            await repository.insert_snapshot(row)
            await audit.record(
                actor=actor,
                action="load",
                entity="list_snapshot",
                entity_id=row["id"],
                after={"source": source, "sha256": sha256, "rows": frame.height, "file_name": row["file_name"]},
            )
        return snapshot_read(row), True
    finally:
        staged.unlink(missing_ok=True)


# -- runs ------------------------------------------------------------------------------------


def verification_source(source: str, snapshot: Mapping[str, Any]) -> str:
    """``OIG LEIE 2026-11-01``: the list and the date it was published (else loaded)."""
    published = snapshot.get("published_on") or snapshot["loaded_at"].date()
    return f"{LIST_NAMES[source]} {published.isoformat()}"


async def _record_clean_screenings(
    roster: pl.DataFrame,
    hits: pl.DataFrame,
    snapshots: Mapping[str, Mapping[str, Any]],
    *,
    on: date,
    actor: str,
) -> None:
    """The run's primary-source check, in the credentialing file: one sanctions verification per physician,
    its source naming every list of the run the physician matched no row of (a suppressed pair is no match),
    e.g. ``OIG LEIE 2026-11-01; SAM.gov exclusions 2026-11-02``. A list with a hit on the physician, pending,
    confirmed or dismissed before, is left out (a person's decision on the hit is the evidence there), and
    a physician with a hit on every list gets none. One row per physician rather than per list keeps the
    run's added writes to one bulk insert of a row per physician."""
    flagged: dict[str, set[str]] = {}
    for physician_id, source in hits.select("physician_id", "source").iter_rows():
        flagged.setdefault(physician_id, set()).add(source)
    groups: dict[tuple[str, ...], list[str]] = {}
    for physician_id in roster.get_column("physician_id").to_list():
        lists = flagged.get(physician_id)
        clean = tuple(snapshots) if lists is None else tuple(s for s in snapshots if s not in lists)
        if clean:
            groups.setdefault(clean, []).append(physician_id)
    for clean, physician_ids in groups.items():
        await credentialing.record_performed(
            physician_ids,
            element="sanctions",
            source="; ".join(verification_source(s, snapshots[s]) for s in clean),
            method="primary_source",
            verified_on=on,
            verified_by=actor,
        )


async def roster_frame() -> pl.DataFrame:
    """Every active physician with the states they hold licenses in, as the matcher's input."""
    people = await repository.active_roster()
    states: dict[str, list[str]] = {}
    for row in await repository.license_states():
        states.setdefault(str(row["physician"]), []).append(row["state"])
    return pl.DataFrame(
        {
            "physician_id": [str(p["id"]) for p in people],
            "npi": [p["npi"] for p in people],
            "first_name": [p["first_name"] for p in people],
            "middle_name": [p["middle_name"] for p in people],
            "last_name": [p["last_name"] for p in people],
            "former_last_names": [p["former_last_names"] or [] for p in people],
            "dob": [p["date_of_birth"] for p in people],
            "states": [sorted(set(states.get(str(p["id"]), []))) for p in people],
        },
        schema=ROSTER_SCHEMA,
    )


#: A list to screen: its frame, or a function that loads it (see :func:`screen_lists`).
Listing = pl.DataFrame | Callable[[], pl.DataFrame]


def screen_lists(
    roster: pl.DataFrame, listings: Mapping[str, Listing], nicknames: pl.DataFrame, threshold: float
) -> pl.DataFrame:
    """Every source's matches in one frame (HIT_SCHEMA and ``source``); the roster is prepared once.

    The roster is prepared, and each list screened, in threads: polars releases the GIL, and one list's
    screening is a chain of small steps that rarely keeps every core busy, so the others fill its gaps.
    A list given as a loader is loaded in the calling thread, one after another, and screened as soon as
    it is loaded, so that screening one list also fills the cores that loading the next leaves idle
    (a ZIP's single-threaded inflate, a reader's Python between its polars calls). Loading them all at once
    instead would have their polars passes and Python steps contend for the cores and the GIL."""
    with ThreadPoolExecutor(max_workers=len(listings) + 1) as pool:
        prepared = pool.submit(PreparedRoster, roster, nicknames)

        def screened(source: str, listing: pl.DataFrame) -> pl.DataFrame:
            kinds = MATCH_KINDS_BY_SOURCE[source]
            hits = screen_prepared(prepared.result, listing, fuzzy_threshold=threshold, kinds=kinds)
            return hits.with_columns(source=pl.lit(source))

        futures = [
            pool.submit(screened, source, listing() if callable(listing) else listing)
            for source, listing in listings.items()
        ]
        frames = [future.result() for future in futures]
    return pl.concat(frames) if frames else empty_hits().with_columns(source=pl.lit(None, pl.String()))


def screen_sources(roster: pl.DataFrame, listings: dict[str, Path], nicknames: Path, threshold: float) -> pl.DataFrame:
    """:func:`screen_lists` on the snapshots' Parquet files. CPU-bound polars work: run it off the event loop."""
    loaders = {source: functools.partial(pl.read_parquet, path) for source, path in listings.items()}
    return screen_lists(roster, loaders, load_nicknames(nicknames), threshold)


async def run_screening(
    sources: list[str] | None, *, settings: Settings, actor: str, progress: Callable[[str], None] | None = None
) -> ScreeningRunRead:
    started = clock.now()
    wanted = list(sources) if sources else list(SOURCES)
    snapshots: dict[str, dict[str, Any]] = {}
    for source in wanted:
        newest = await repository.newest_snapshot(source)
        if newest is not None:
            snapshots[source] = newest
        elif sources:
            raise InvalidInput.on("sources", f"no {source} list has been loaded yet")
    if not snapshots:
        raise InvalidInput.on("sources", "no list has been loaded yet: load a snapshot first")
    roster = await roster_frame()
    listings = {source: parquet_path(settings.data_dir, source, snap["sha256"]) for source, snap in snapshots.items()}
    nicknames = settings.fixtures_dir / "nicknames.csv"
    if progress:
        progress(f"screening {roster.height} physicians against {', '.join(snapshots)}")
    matched = await anyio.to_thread.run_sync(screen_sources, roster, listings, nicknames, settings.fuzzy_name_threshold)
    # A pair the matcher held back is no hit: listed and counted on the run, never pending, never alerted.
    hits = matched.filter(pl.col("suppressed").is_null())
    held = matched.filter(pl.col("suppressed").is_not_null())
    suppressed = dict(sorted(Counter(held.get_column("suppressed").to_list()).items()))
    run_id = uuid.uuid4()
    async with write_tx():
        known = await repository.existing_hit_keys(list(snapshots))
        now = clock.now()
        new_rows: list[dict[str, Any]] = []
        for hit in hits.iter_rows(named=True):
            key = (hit["physician_id"], hit["source"], hit["record_key"], hit["record_hash"])
            if key in known:
                continue  # pending stays one lead; a dismissed row is never raised again
            known.add(key)
            new_rows.append(
                {
                    "id": uuid.uuid4(),
                    "run": run_id,
                    "snapshot": snapshots[hit["source"]]["id"],
                    "physician": UUID(hit["physician_id"]),
                    "source": hit["source"],
                    "record_key": hit["record_key"],
                    "record_hash": hit["record_hash"],
                    "match_kind": hit["match_kind"],
                    "score": float(hit["score"]),
                    "matched_fields": list(hit["matched_fields"]),
                    "record": msgspec.json.decode(hit["record"]),
                    "evidence": msgspec.json.decode(hit["evidence"]),
                    "status": "pending",
                    "decided_by": None,
                    "decided_at": None,
                    "note": None,
                    "created_at": now,
                }
            )
        held_rows = [
            {
                "id": uuid.uuid4(),
                "run": run_id,
                "snapshot": snapshots[row["source"]]["id"],
                "physician": UUID(row["physician_id"]),
                "source": row["source"],
                "record_key": row["record_key"],
                "record_hash": row["record_hash"],
                "reason": row["suppressed"],
                "match_kind": row["match_kind"],
                "score": float(row["score"]),
                "evidence": msgspec.json.decode(row["evidence"]),
                "record": msgspec.json.decode(row["record"]),
                "created_at": now,
            }
            for row in held.iter_rows(named=True)
        ]
        run = {
            "id": run_id,
            "sources": list(snapshots),
            "snapshots": {source: str(snap["id"]) for source, snap in snapshots.items()},
            "screened": roster.height,
            "hits": hits.height,
            "suppressed": suppressed,
            "status": "succeeded",
            "error": None,
            "started_at": started,
            "finished_at": clock.now(),
        }
        # The version this run commits as: the matcher's index recomputes only everyone's screening.
        await repository.insert_run({**run, "roster_version": await claim_roster_version()})
        await repository.insert_hits(new_rows)
        await repository.insert_suppressed(held_rows)
        await _record_clean_screenings(roster, hits, snapshots, on=now.date(), actor=actor)
        await raise_alerts([_hit_alert(row, "pending") for row in new_rows])
        await audit.record(
            actor=actor,
            action="run",
            entity="screening_run",
            entity_id=run_id,
            after={
                **run,
                "id": str(run_id),
                "new_hits": len(new_rows),
                "started_at": started.isoformat(),
                "finished_at": run["finished_at"].isoformat(),
            },
        )
    return ScreeningRunRead(
        id=run_id,
        sources=run["sources"],
        snapshots={source: snap["id"] for source, snap in snapshots.items()},
        screened=roster.height,
        hits=hits.height,
        new_hits=len(new_rows),
        suppressed=suppressed,
        started_at=started,
        finished_at=run["finished_at"],
    )


async def get_run(run_id: UUID) -> ScreeningRunRead:
    row = await repository.get_run(run_id)
    if row is None:
        raise NotFound(f"no screening run {run_id}")
    return msgspec.convert({**row, "new_hits": await repository.count_run_hits(run_id)}, ScreeningRunRead, strict=False)


def suppressed_read(row: dict[str, Any]) -> SuppressedRead:
    name = " ".join(part for part in (row.pop("first_name"), row.pop("last_name")) if part)
    return msgspec.convert({**row, "physician_name": name}, SuppressedRead, strict=False)


async def list_suppressed(
    run_id: UUID, *, reason: str | None, physician_id: UUID | None, cursor: str | None, limit: int
) -> Page[SuppressedRead]:
    after = cursor_key(cursor, datetime.fromisoformat, UUID)
    if not await repository.run_exists(run_id):
        raise NotFound(f"no screening run {run_id}")
    rows = await repository.page_suppressed(
        run_id, reason=reason, physician_id=physician_id, after=after, limit=limit + 1
    )
    return page_of([suppressed_read(r) for r in rows], limit, lambda s: (s.created_at.isoformat(), str(s.id)))


def _hit_alert(hit: dict[str, Any], status: str) -> dict[str, Any]:
    return alert_row(
        kind=ALERT_KIND[hit["source"]],
        physician_id=hit["physician"],
        subject_type="screening_hit",
        subject_id=hit["id"],
        threshold=status,
        detail={"source": hit["source"], "match_kind": hit["match_kind"], "score": hit["score"]},
    )


# -- hits and decisions ----------------------------------------------------------------------


def hit_read(row: dict[str, Any]) -> HitRead:
    return msgspec.convert(row, HitRead, strict=False)


async def get_hit(hit_id: UUID) -> HitRead:
    row = await repository.get_hit(hit_id)
    if row is None:
        raise NotFound(f"no screening hit {hit_id}")
    return hit_read(row)


async def decide(hit_id: UUID, decision: HitDecision, *, actor: str) -> HitRead:
    now = clock.now()
    async with write_tx():
        hit = await get_hit(hit_id)
        if hit.status != "pending":
            raise Conflict(
                f"hit {hit_id} was already {hit.status} by {hit.decided_by}",
                errors=[FieldError("decision", f"already {hit.status}")],
            )
        values = {"status": decision.decision, "decided_by": actor, "decided_at": now, "note": decision.note}
        # The version this decision commits as: the matcher's index reloads just this physician.
        await repository.decide_hit(hit_id, {**values, "roster_version": await claim_roster_version()})
        decided = msgspec.structs.replace(hit, **values)
        if decision.decision == "confirmed":
            await raise_alerts(
                [
                    _hit_alert(
                        {
                            "id": hit.id,
                            "source": hit.source,
                            "physician": hit.physician_id,
                            "match_kind": hit.match_kind,
                            "score": hit.score,
                        },
                        "confirmed",
                    )
                ]
            )
        await audit.record(
            actor=actor,
            action=decision.decision,
            entity="screening_hit",
            entity_id=hit_id,
            before={"status": hit.status},
            after={"status": decision.decision, "note": decision.note},
        )
    return decided


async def list_hits(
    *, status: str | None, source: str | None, physician_id: UUID | None, cursor: str | None, limit: int
) -> Page[HitRead]:
    after = cursor_key(cursor, datetime.fromisoformat, UUID)
    rows = await repository.page_hits(
        status=status, source=source, physician_id=physician_id, after=after, limit=limit + 1
    )
    return page_of([hit_read(r) for r in rows], limit, lambda h: (h.created_at.isoformat(), str(h.id)))


async def hit_counts() -> dict[str, int]:
    """Hits per status, every status present (``{"pending": 3, "confirmed": 0, "dismissed": 7}``)."""
    counts = await repository.count_hits_by_status()
    return {status: counts.get(status, 0) for status in ("pending", "confirmed", "dismissed")}


class HitSubject(msgspec.Struct, frozen=True):
    """The physician side of a hit: the fields the matcher compared with the list row."""

    id: UUID
    npi: str
    first_name: str
    middle_name: str | None
    last_name: str
    former_last_names: list[str]
    date_of_birth: Any
    status: str
    #: The states the physician holds licenses in (compared with the row's state).
    states: list[str]

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name) if part)


async def hit_subjects(physician_ids: list[UUID]) -> dict[UUID, HitSubject]:
    """The physicians of a page of hits, in two queries whatever the page's size."""
    people, licenses = await repository.hit_subjects(sorted(set(physician_ids)))
    states: dict[str, set[str]] = {}
    for row in licenses:
        states.setdefault(str(row["physician"]), set()).add(row["state"])
    return {
        UUID(str(p["id"])): HitSubject(
            id=UUID(str(p["id"])),
            npi=p["npi"],
            first_name=p["first_name"],
            middle_name=p["middle_name"] or None,
            last_name=p["last_name"],
            former_last_names=list(p["former_last_names"] or []),
            date_of_birth=p["date_of_birth"],
            status=p["status"],
            states=sorted(states.get(str(p["id"]), ())),
        )
        for p in people
    }


#: The published column holding each field the matcher compares, per list (``roster.sources``' readers).
_RECORD_COLUMNS = {"oig_leie": leie.FIELD_COLUMNS, "sam": sam.FIELD_COLUMNS}


def record_columns(source: str, settings: Settings) -> dict[str, str]:
    """Field -> the list row's column holding it (a preclusion file's columns are the deployment's layout)."""
    if source in _RECORD_COLUMNS:
        return _RECORD_COLUMNS[source]
    mapped = layout_with(settings.preclusion_columns).columns()
    return {f: mapped[f] for f in ("npi", "last_name", "first_name", "middle_name", "state") if mapped.get(f)}
