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
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.certifications import repository as certification_rows
from roster.certifications import service as certifications
from roster.config import env_default_time_zone
from roster.db import write_tx
from roster.db.bulk import new_id_texts
from roster.history import service as history
from roster.imports import repository
from roster.imports.layout import KINDS, RecordKind
from roster.imports.reader import FileRejected, RosterFile, read_roster
from roster.imports.schemas import ImportResult, RecordCounts, RowError
from roster.imports.validation import Record, Reference, ValidatedRoster, validate
from roster.licenses import repository as license_rows
from roster.licenses import service as licenses
from roster.physicians import repository as physician_rows
from roster.physicians import service as physicians
from roster.reference import service as reference

#: Rows per insert batch (and per progress step).
BATCH = 5000
#: Writes after which the planner statistics are refreshed.
ANALYZE_AFTER = 10_000

#: Called with (records written so far, records to write) while the import writes.
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


@dataclass(slots=True)
class _Plan:
    inserts: dict[RecordKind, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in KINDS})
    #: (kind, id, changed values) for each record that differs from the file.
    updates: list[tuple[RecordKind, UUID, dict[str, Any]]] = field(default_factory=list)
    changes: list[history.Change] = field(default_factory=list)
    counts: dict[RecordKind, RecordCounts] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        return sum(len(rows) for rows in self.inserts.values()) + len(self.updates)


def _npis(source: RosterFile) -> set[str]:
    """Every NPI the file mentions (physician and credential rows)."""
    found: set[str] = set()
    for frame in source.frames.values():
        found.update(frame.get_column("npi").drop_nulls().to_list())
    return found


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
    with _cyclic_gc_paused():
        return await _import(
            data, file_name=file_name, dry_run=dry_run, actor=actor, progress=progress, default_time_zone=zone
        )


#: Imports running in this process that paused the cyclic garbage collector.
_gc_pausers = 0


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an import builds its millions of objects.

    The collector runs every 700 net allocations, and its full passes walk every live object: with
    a large roster's rows, documents and ids alive, that was about a fifth of a first import's CPU
    time. The import's objects hold no reference cycles (reference counting frees them); cycles
    made elsewhere meanwhile are collected once the last import ends. Reference counted so that
    concurrent imports do not re-enable it under each other, and left alone if it was already off.
    """
    global _gc_pausers
    if not gc.isenabled() and _gc_pausers == 0:
        yield
        return
    _gc_pausers += 1
    gc.disable()
    try:
        yield
    finally:
        _gc_pausers -= 1
        if _gc_pausers == 0:
            gc.enable()


async def _import(
    data: bytes, *, file_name: str | None, dry_run: bool, actor: str, progress: Progress | None, default_time_zone: str
) -> ImportResult:
    try:
        source = await asyncio.to_thread(read_roster, data, file_name)
    except FileRejected as exc:
        raise ImportRejected(exc.errors) from None
    now = clock.now()
    npis = _npis(source)
    # A real import plans from the rows read again under the write lock; until then only which
    # NPIs are on the roster matters, and reading just those is far cheaper than whole rows.
    existing = await repository.physicians_by_npi(npis) if dry_run else None
    ref = Reference(
        specialties=await reference.specialty_index(),
        states=await repository.state_codes(),
        roster_npis=existing.keys() if existing is not None else await repository.roster_npis(npis),
    )
    # Validation runs before the write transaction, so other writers are not held up by it. What
    # it read can only grow meanwhile (physicians are never deleted), so its verdict stands; the
    # plan is made again from the rows as they are under the write lock.
    checked = await asyncio.to_thread(validate, source, now.date(), ref)
    if checked.errors:
        raise ImportRejected(checked.errors, checked.counts)
    if existing is not None:
        plan = await _plan(checked, existing, now, audited=False, default_time_zone=default_time_zone)
    else:
        async with write_tx():
            await repository.commit_asynchronously()
            plan = await _plan(
                checked,
                await repository.physicians_by_npi(npis),
                now,
                audited=True,
                default_time_zone=default_time_zone,
            )
            await _write(plan, actor=actor, at=now, progress=progress)
    return ImportResult(
        physicians=checked.counts["physician"],
        licenses=checked.counts["license"],
        certifications=checked.counts["certification"],
        dry_run=dry_run,
        changes={f"{kind}s": plan.counts[kind] for kind in KINDS},
    )


def _json(row: dict[str, Any]) -> str:
    """A new record's audit/version document, encoded straight from its row: the row holds exactly
    the read schema's fields (validated already), so this is what ``to_builtins(to_read(row))`` gives."""
    return _encode(row).decode()


_encode = msgspec.json.Encoder().encode


def _diff(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if current[k] != v}


async def _plan(
    checked: ValidatedRoster,
    existing: dict[str, dict[str, Any]],
    now: datetime,
    *,
    audited: bool,
    default_time_zone: str,
) -> _Plan:
    """What to insert and update; with ``audited``, also each change's before/after (not needed for a dry run)."""
    plan = _Plan()
    fresh = iter(new_id_texts(sum(record.npi not in existing for record in checked.records["physician"])))
    ids: dict[str, UUID | str] = {npi: row["id"] for npi, row in existing.items()}
    created = updated = 0
    for record in checked.records["physician"]:
        values = dict(record.values)
        status = values.pop("status")
        current = existing.get(record.npi)
        if values.get("time_zone") is None:  # an empty cell: the default for a new physician, else unchanged
            values.pop("time_zone", None)
            if current is None:
                values["time_zone"] = default_time_zone
        if current is None:
            row = {
                **values,
                "id": next(fresh),
                "status": status or "active",
                "npi_status": "unknown",
                "npi_checked_on": None,
                "created_at": now,
                "updated_at": now,
            }
            ids[record.npi] = row["id"]
            plan.inserts["physician"].append(row)
            if audited:
                after = _json(row)
                plan.changes.append(history.Change("create", "physician", row["id"], row["id"], None, after))
            created += 1
            continue
        if status is not None:
            values["status"] = status
        changed = _diff(current, values)
        if changed:
            changed["updated_at"] = now
            plan.updates.append(("physician", current["id"], changed))
            if audited:
                before = physicians.snapshot(physicians.to_read(current))
                after = physicians.snapshot(physicians.to_read({**current, **changed}))
                plan.changes.append(history.Change("update", "physician", current["id"], current["id"], before, after))
            updated += 1
    plan.counts["physician"] = RecordCounts(created, updated, len(checked.records["physician"]) - created - updated)
    owners = [row["id"] for row in existing.values()]
    stored = {
        "license": await repository.licenses_of(owners),
        "certification": await repository.certifications_of(owners),
    }
    for kind in ("license", "certification"):
        _plan_owned(plan, kind, checked.records[kind], stored[kind], ids, now, audited=audited)
    return plan


def _plan_owned(
    plan: _Plan,
    kind: RecordKind,
    records: list[Record],
    stored: list[dict[str, Any]],
    ids: dict[str, UUID | str],
    now: datetime,
    *,
    audited: bool,
) -> None:
    """Licenses or certifications: insert the new, update the changed, by their natural key."""
    to_read = licenses.to_read if kind == "license" else certifications.to_read
    key_fields = _KEYS[kind]
    by_key = {(row["physician_id"], *(row[k] for k in key_fields)): row for row in stored}
    created = updated = 0
    owners = [ids[record.npi] for record in records]
    found = [
        by_key.get((physician_id, *(record.values[k] for k in key_fields)))
        for physician_id, record in zip(owners, records, strict=True)
    ]
    fresh = iter(new_id_texts(found.count(None)))
    for record, physician_id, current in zip(records, owners, found, strict=True):
        if current is None:
            row = {**record.values, "id": next(fresh), "physician_id": physician_id, "created_at": now}
            row["updated_at"] = now
            plan.inserts[kind].append(row)
            if audited:
                after = _json(row)
                plan.changes.append(history.Change("create", kind, row["id"], physician_id, None, after))
            created += 1
            continue
        changed = _diff(current, record.values)
        if changed:
            changed["updated_at"] = now
            plan.updates.append((kind, current["id"], changed))
            if audited:
                before = msgspec.to_builtins(to_read(current))
                after = msgspec.to_builtins(to_read({**current, **changed}))
                plan.changes.append(history.Change("update", kind, current["id"], physician_id, before, after))
            updated += 1
    plan.counts[kind] = RecordCounts(created, updated, len(records) - created - updated)


_INSERT = {
    "physician": repository.insert_physicians,
    "license": repository.insert_licenses,
    "certification": repository.insert_certifications,
}
_UPDATE = {
    "physician": physician_rows.update,
    "license": license_rows.update,
    "certification": certification_rows.update,
}


async def _write(plan: _Plan, *, actor: str, at: datetime, progress: Progress | None) -> None:
    """Apply the plan inside the caller's write transaction: inserts in batches, then updates, then history."""
    total, done = plan.writes, 0
    for kind in KINDS:  # physicians first: credentials reference them
        rows = plan.inserts[kind]
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            await _INSERT[kind](batch)
            done += len(batch)
            if progress is not None:
                progress(done, total)
    for kind, record_id, changed in plan.updates:
        await _UPDATE[kind](record_id, changed)
        done += 1
        if progress is not None and (done % BATCH == 0 or done == total):
            progress(done, total)
    for start in range(0, len(plan.changes), BATCH):
        await history.record_changes(plan.changes[start : start + BATCH], actor=actor, at=at)
    if plan.writes >= ANALYZE_AFTER:
        await repository.refresh_statistics()
