from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.sqlite import SQLiteEngine

from roster.db.bulk import insert_many as bulk_insert
from roster.db.engine import current_engine, read_by_key
from roster.db.tx import mark_records_written, version_stamp
from roster.history.tables import RECORDS, ROSTER, RecordVersion

_json = msgspec.json.Encoder().encode
_RECORDS_VERSION = f"SELECT version FROM roster_version WHERE id = {RECORDS}"
_VERSIONS = (
    f"SELECT (SELECT version FROM roster_version WHERE id = {ROSTER}) AS roster, "
    f"(SELECT version FROM roster_version WHERE id = {RECORDS}) AS records"
)


async def close_open(*, entity: str, entity_id: UUID, at: datetime) -> None:
    await (
        RecordVersion.update({RecordVersion.recorded_to: at})
        .where(
            (RecordVersion.entity == entity)
            & (RecordVersion.entity_id == entity_id)
            & RecordVersion.recorded_to.is_null()
        )
        .run()
    )


async def insert(**values: Any) -> None:
    """One record version, stamped as inserted (``version_stamp``); call inside the write transaction (it
    then bumps the records' counter)."""
    stamp = await _stamp(values["id"])
    await RecordVersion.insert(RecordVersion(**values, roster_version=stamp)).run()


async def _stamp(version_id: UUID) -> int | None:
    """The roster version a new record version is inserted with; marks the transaction as writing records."""
    mark_records_written()
    return await version_stamp((version_id,))


#: Close a record's open version and insert its next one, in one statement: on PostgreSQL each statement
#: is a round trip that waits for a loop busy with other requests. Both parts read the statement's
#: snapshot, so the update cannot close the version the insert adds.
_REPLACE_OPEN = (
    "WITH closed AS (UPDATE record_version SET recorded_to = {} "
    "WHERE entity = {} AND entity_id = {} AND recorded_to IS NULL) "
    "INSERT INTO record_version "
    "(id, entity, entity_id, physician_id, recorded_from, recorded_to, deleted, data, roster_version) "
    "VALUES ({}, {}, {}, {}, {}, NULL, {}, {}, {})"
)


async def replace_open(**values: Any) -> None:
    """``close_open`` then ``insert`` (``values`` as ``insert`` takes them): one statement on PostgreSQL;
    on SQLite, whose statements run inline on the writer's connection, the two."""
    if isinstance(current_engine(), SQLiteEngine):
        await close_open(entity=values["entity"], entity_id=values["entity_id"], at=values["recorded_from"])
        await insert(**values)
        return
    stamp = await _stamp(values["id"])
    await RecordVersion.raw(
        _REPLACE_OPEN,
        values["recorded_from"],
        values["entity"],
        values["entity_id"],
        values["id"],
        values["entity"],
        values["entity_id"],
        values["physician_id"],
        values["recorded_from"],
        values["deleted"],
        _json(values["data"]).decode(),
        stamp,
    ).run()


async def versions_at(*, physician_id: UUID, at: datetime) -> list[dict[str, Any]]:
    return (
        await RecordVersion.select(RecordVersion.entity, RecordVersion.deleted, RecordVersion.data)
        .where(
            (RecordVersion.physician_id == physician_id)
            & (RecordVersion.recorded_from <= at)
            & (RecordVersion.recorded_to.is_null() | (RecordVersion.recorded_to > at))
        )
        .output(load_json=True)
        .run()
    )


async def close_open_many(*, entity: str, entity_ids: list[UUID | str], at: datetime, chunk: int = 500) -> None:
    """``close_open`` for many records of one entity (chunks keep under the bind-parameter limits)."""
    for start in range(0, len(entity_ids), chunk):
        await (
            RecordVersion.update({RecordVersion.recorded_to: at})
            .where(
                (RecordVersion.entity == entity)
                & RecordVersion.entity_id.is_in(entity_ids[start : start + chunk])
                & RecordVersion.recorded_to.is_null()
            )
            .run()
        )


async def insert_many(rows: list[dict[str, Any]]) -> None:
    """Bulk insert for large loads, each row stamped as given (``version_stamp``: None to stamp at commit);
    call inside the write transaction (it then bumps the records' counter)."""
    mark_records_written()
    await bulk_insert(RecordVersion, rows)


async def records_version() -> int | None:
    """The records' change counter: one read by primary key (inline on SQLite); None without the row."""
    rows = await read_by_key(_RECORDS_VERSION)
    return int(rows[0]["version"]) if rows else None


async def versions() -> tuple[int | None, int | None]:
    """The roster's counter and the records', in one read by primary key (None for a missing row)."""
    row = (await read_by_key(_VERSIONS))[0]
    roster, records = row["roster"], row["records"]
    return (None if roster is None else int(roster)), (None if records is None else int(records))
