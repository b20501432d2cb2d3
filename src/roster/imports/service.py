"""Bulk roster import: all or nothing, idempotent, every change audited and versioned.

The file is read and every record validated before anything is written; one invalid record and
nothing is. Records are upserted: physicians by NPI, licenses by (physician, state, number),
certifications by (physician, board, specialty). A record equal to the stored one is not written
and not audited; a changed one is updated (changed fields only) with its before and after in the
audit log; a new one is inserted. Records absent from the file are left alone: import never
deletes or deactivates (a physician row saying ``status`` inactive does deactivate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import polars as pl
from piccolo.table import Table

from roster import clock, collector
from roster.audit.tables import AuditEvent
from roster.certifications import repository as certification_rows
from roster.certifications import service as certifications
from roster.certifications.tables import Certification
from roster.config import env_default_time_zone
from roster.db import write_tx
from roster.db.bulk import new_id_texts
from roster.history import service as history
from roster.history.tables import RecordVersion
from roster.imports import repository
from roster.imports.layout import KINDS, RecordKind
from roster.imports.reader import ROW, FileRejected, RosterFile, read_roster
from roster.imports.schemas import ImportResult, RecordCounts, RowError
from roster.imports.validation import CHUNK, NPI, Record, Reference, ValidatedRoster, records_of, validate
from roster.licenses import repository as license_rows
from roster.licenses import service as licenses
from roster.licenses.tables import License
from roster.physicians import repository as physician_rows
from roster.physicians import service as physicians
from roster.physicians.tables import Physician
from roster.reference import service as reference

#: Audited changes per batch of audit events and versions.
BATCH = 5000
#: Writes after which the planner statistics are refreshed.
ANALYZE_AFTER = 10_000

#: Called with (records done so far, valid records in the file), a chunk at a time.
Progress = Callable[[int, int], None]

_KEYS: dict[RecordKind, tuple[str, ...]] = {
    "license": ("state", "number"),
    "certification": ("board", "specialty"),
}


class ImportRejected(Exception):
    """The file has errors; nothing was written. ``counts`` are the records found per kind."""

    def __init__(self, errors: list[RowError], counts: dict[RecordKind, int] | None = None) -> None:
        super().__init__(f"{len(errors)} error(s) in the roster file")
        self.errors = errors
        self.counts = counts or dict.fromkeys(KINDS, 0)


def _npis(source: RosterFile) -> list[str]:
    """Every NPI the file mentions (physician and credential rows), once."""
    frames = [frame.get_column("npi") for frame in source.frames.values() if "npi" in frame.columns]
    if not frames:
        return []
    return pl.concat(frames).drop_nulls().unique().to_list()


async def import_roster(
    data: bytes,
    *,
    file_name: str | None,
    dry_run: bool,
    actor: str,
    progress: Progress | None = None,
    default_time_zone: str | None = None,
) -> ImportResult:
    """Validate ``data`` (CSV or XLSX) and, unless ``dry_run``, write it in one transaction.

    Raises :class:`ImportRejected` with every error, by sheet, row and column, when any record is
    invalid; then nothing is written. A new physician with an empty ``time_zone`` gets
    ``default_time_zone`` (the organization's; when not given, ``ROSTER_DEFAULT_TIME_ZONE``'s); an
    existing one keeps theirs.
    """
    zone = default_time_zone or env_default_time_zone()
    with collector.paused():
        return await _import(
            data, file_name=file_name, dry_run=dry_run, actor=actor, progress=progress, default_time_zone=zone
        )


async def _import(
    data: bytes, *, file_name: str | None, dry_run: bool, actor: str, progress: Progress | None, default_time_zone: str
) -> ImportResult:
    try:
        source = await asyncio.to_thread(read_roster, data, file_name)
    except FileRejected as exc:
        raise ImportRejected(exc.errors) from None
    now = clock.now()
    npis = _npis(source)
    on_roster = await repository.physician_ids(npis)
    ref = Reference(
        specialties=await reference.specialty_index(), states=await repository.state_codes(), roster_npis=on_roster
    )
    # Validation runs before the write transaction, so other writers are not held up by it. What
    # it read can only grow meanwhile (physicians are never deleted), so its verdict stands; the
    # plan is made again from the rows as they are under the write lock.
    checked = await asyncio.to_thread(validate, source, now.date(), ref)
    del source  # the valid records are in ``checked``, column-wise
    if checked.errors:
        raise ImportRejected(checked.errors, checked.counts)
    if dry_run:
        load = _Load(checked, on_roster, now, default_time_zone=default_time_zone)
        await load.run()
    else:
        async with write_tx():
            await repository.commit_asynchronously()
            load = _Load(
                checked,
                await repository.physician_ids(npis),
                now,
                default_time_zone=default_time_zone,
                writer=_Writer(actor, now),
                progress=progress,
            )
            await load.run()
    return ImportResult(
        physicians=checked.counts["physician"],
        licenses=checked.counts["license"],
        certifications=checked.counts["certification"],
        dry_run=dry_run,
        changes={f"{kind}s": load.counts[kind] for kind in KINDS},
    )


_encode = msgspec.json.Encoder().encode


def _diff(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if current[k] != v}


#: Columns an import fills with one value (its instant, its roster version): their indexes are kept.
_ONE_VALUE = frozenset({"occurred_at", "recorded_from", "roster_version"})
_TABLES: dict[RecordKind, type[Table]] = {"physician": Physician, "license": License, "certification": Certification}
_UPDATE = {
    "physician": physician_rows.update,
    "license": license_rows.update,
    "certification": certification_rows.update,
}
_STORED = {"license": repository.licenses_of, "certification": repository.certifications_of}
_TO_READ = {"license": licenses.to_read, "certification": certifications.to_read}


@dataclass(slots=True)
class _Writer:
    """What a real import adds to a dry run: the writes, their audit and versions, and index upkeep."""

    actor: str
    at: datetime
    changes: list[history.Change] = field(default_factory=list)
    writes: int = 0

    async def insert(self, kind: RecordKind, rows: pl.DataFrame, constants: dict[str, Any]) -> None:
        await repository.insert_new(_TABLES[kind], rows, constants)
        self.writes += rows.height

    async def update(self, kind: RecordKind, record_id: UUID, changed: dict[str, Any]) -> None:
        await _UPDATE[kind](record_id, changed)
        self.writes += 1

    async def change(self, change: history.Change) -> None:
        self.changes.append(change)
        if len(self.changes) >= BATCH:
            await self.flush()

    async def created(self, kind: RecordKind, ids: list[str], owners: list[str], documents: list[str]) -> None:
        for record_id, owner, document in zip(ids, owners, documents, strict=True):
            self.changes.append(history.Change("create", kind, record_id, owner, None, document))
        if len(self.changes) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        if self.changes:
            await history.record_changes(self.changes, actor=self.actor, at=self.at)
            self.changes = []


class _Load:
    """The upsert of validated records, a chunk at a time: new records are inserted column-wise
    (ids, documents and rows made by polars), existing ones compared and updated row by row.
    Without a writer (a dry run) it only counts what would change."""

    def __init__(
        self,
        checked: ValidatedRoster,
        on_roster: dict[str, str],
        now: datetime,
        *,
        default_time_zone: str,
        writer: _Writer | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.checked = checked
        self.on_roster = on_roster
        #: Physician id by NPI: those on the roster, then those this import creates.
        self.ids = dict(on_roster)
        #: Ids of the physicians on the roster before this import: only they can have stored credentials.
        self.roster_ids = set(on_roster.values())
        self.roster_npis = pl.Series(list(on_roster), dtype=pl.String)
        self.now = now
        self.stamp = _encode(now).decode()[1:-1]  # a timestamp as the documents hold it
        self.default_time_zone = default_time_zone
        self.writer = writer
        self.progress = progress
        self.counts: dict[RecordKind, RecordCounts] = {}
        self.total = sum(frame.height for frame in checked.frames.values())
        self.done = 0

    async def run(self) -> None:
        suspended: list[str] = []
        if self.writer is not None:
            records = {kind: self.checked.frames[kind].height for kind in KINDS}
            loads = {_TABLES[kind]: records[kind] for kind in KINDS}
            loads |= {AuditEvent: self.total, RecordVersion: self.total}
            suspended = await repository.suspend_indexes(loads, in_order=_ONE_VALUE)
        for kind in KINDS:  # physicians first: credentials reference them
            created = updated = 0
            for chunk in self.checked.chunks(kind, CHUNK):
                new, changed = await (self._physicians(chunk) if kind == "physician" else self._owned(kind, chunk))
                created, updated = created + new, updated + changed
                self.done += chunk.height
                if self.progress is not None:
                    self.progress(self.done, self.total)
            total = self.checked.frames[kind].height
            self.counts[kind] = RecordCounts(created, updated, total - created - updated)
        if self.writer is not None:
            await self.writer.flush()
            await repository.restore_indexes(suspended)
            if self.writer.writes >= ANALYZE_AFTER:
                await repository.refresh_statistics()

    async def _physicians(self, chunk: pl.DataFrame) -> tuple[int, int]:
        known = chunk.get_column(NPI).is_in(self.roster_npis) if self.on_roster else None
        updated = 0
        if known is not None and known.any():
            updated = await self._update_physicians(records_of(chunk.filter(known)))
            chunk = chunk.filter(~known)
        if chunk.is_empty():
            return 0, updated
        if self.writer is None:  # a dry run's new physicians need no ids: they have no stored credentials
            self.ids.update(dict.fromkeys(chunk.get_column(NPI).to_list(), ""))
            return chunk.height, updated
        ids = new_id_texts(chunk.height)
        self.ids.update(zip(chunk.get_column(NPI).to_list(), ids, strict=True))
        rows = chunk.select(
            *[pl.col(name) for name in chunk.columns if name not in (ROW, NPI, "status", "time_zone")],
            pl.col("time_zone").fill_null(pl.lit(self.default_time_zone)),
            pl.Series("id", ids, dtype=pl.String),
            pl.col("status").fill_null(pl.lit("active")),
        )
        # The document a new record's audit event and version hold: its read schema, encoded by polars
        # in the read schema's field order (what ``to_builtins(to_read(row))`` gives, byte for byte).
        documents = rows.select(
            pl.struct(
                pl.all(),
                pl.lit("unknown").alias("npi_status"),
                pl.lit(None, dtype=pl.Date).alias("npi_checked_on"),
                pl.lit(self.stamp).alias("created_at"),
                pl.lit(self.stamp).alias("updated_at"),
            ).struct.json_encode()
        )
        constants = {"npi_status": "unknown", "npi_checked_on": None, "created_at": self.now, "updated_at": self.now}
        await self.writer.insert("physician", rows, constants)
        await self.writer.created("physician", ids, ids, documents.to_series().to_list())
        return chunk.height, updated

    async def _update_physicians(self, records: list[Record]) -> int:
        existing = await repository.physicians_by_npi([record.npi for record in records], on_roster=True)
        updated = 0
        for record in records:
            values = dict(record.values)
            status = values.pop("status")
            current = existing[record.npi]
            if values.get("time_zone") is None:  # an empty cell: an existing physician keeps theirs
                values.pop("time_zone", None)
            if status is not None:
                values["status"] = status
            changed = _diff(current, values)
            if not changed:
                continue
            updated += 1
            if self.writer is None:
                continue
            changed["updated_at"] = self.now
            await self.writer.update("physician", current["id"], changed)
            before = physicians.snapshot(physicians.to_read(current))
            after = physicians.snapshot(physicians.to_read({**current, **changed}))
            await self.writer.change(history.Change("update", "physician", current["id"], current["id"], before, after))
        return updated

    async def _owned(self, kind: RecordKind, chunk: pl.DataFrame) -> tuple[int, int]:
        """Licenses or certifications: insert the new, update the changed, by their natural key."""
        owners = [self.ids[npi] for npi in chunk.get_column(NPI).to_list()]
        chunk = chunk.with_columns(pl.Series("physician_id", owners, dtype=pl.String))
        prior = {owner for owner in owners if owner in self.roster_ids}
        updated = 0
        if prior:
            key_fields = _KEYS[kind]
            stored = {
                (str(row["physician_id"]), *(row[k] for k in key_fields)): row
                for row in await _STORED[kind](list(prior))
            }
            keys = chunk.select("physician_id", *key_fields).iter_rows()
            found = pl.Series([key in stored for key in keys], dtype=pl.Boolean)
            if found.any():
                for record in records_of(chunk.filter(found)):
                    physician_id = record.values.pop("physician_id")
                    current = stored[(physician_id, *(record.values[k] for k in key_fields))]
                    updated += await self._update_owned(kind, current, record.values)
                chunk = chunk.filter(~found)
        if chunk.is_empty():
            return 0, updated
        if self.writer is None:
            return chunk.height, updated
        ids = new_id_texts(chunk.height)
        rows = chunk.drop(ROW, NPI).with_columns(pl.Series("id", ids, dtype=pl.String))
        fields = [name for name in rows.columns if name not in ("id", "physician_id")]
        documents = rows.select(
            pl.struct(
                *fields,
                "id",
                "physician_id",
                pl.lit(self.stamp).alias("created_at"),
                pl.lit(self.stamp).alias("updated_at"),
            ).struct.json_encode()
        )
        await self.writer.insert(kind, rows, {"created_at": self.now, "updated_at": self.now})
        await self.writer.created(kind, ids, rows.get_column("physician_id").to_list(), documents.to_series().to_list())
        return chunk.height, updated

    async def _update_owned(self, kind: RecordKind, current: dict[str, Any], values: dict[str, Any]) -> int:
        changed = _diff(current, values)
        if not changed:
            return 0
        if self.writer is not None:
            changed["updated_at"] = self.now
            await self.writer.update(kind, current["id"], changed)
            before = msgspec.to_builtins(_TO_READ[kind](current))
            after = msgspec.to_builtins(_TO_READ[kind]({**current, **changed}))
            await self.writer.change(
                history.Change("update", kind, current["id"], current["physician_id"], before, after)
            )
        return 1
