"""Multi-row inserts for bulk loads, in the caller's write transaction.

Piccolo builds one model instance and one SQL fragment per row (about 0.3 ms a row); a roster
import writes hundreds of thousands of rows (records, audit events, versions). This sends them
with the driver's own bulk path instead: ``executemany`` on SQLite (Piccolo's process-wide sqlite3
adapters encode UUIDs, dates and lists exactly as Piccolo does) and binary ``COPY`` on PostgreSQL.
"""

from __future__ import annotations

import operator
import os
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from piccolo.columns import JSON, JSONB
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

from roster.db import current_engine

_json = msgspec.json.Encoder()
#: Page cache of the bulk-loading connection: the indexes of big tables (audit, versions) are
#: written at random places, and SQLite's 2 MiB default turns each insert into page reloads.
_SQLITE_CACHE_KIB = 256 * 1024


#: Version 4 and RFC 4122 variant bits, and the mask that clears the bits they occupy.
_V4_BITS = (4 << 76) | (0b10 << 62)
_V4_MASK = ~((0xF << 76) | (0b11 << 62)) & ((1 << 128) - 1)


def _v4_ints(count: int) -> list[int]:
    raw = os.urandom(16 * count)
    return sorted((int.from_bytes(raw[i : i + 16]) & _V4_MASK) | _V4_BITS for i in range(0, 16 * count, 16))


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` random (version 4) UUIDs from one ``os.urandom`` call, in ascending order.

    One call costs a third of ``uuid4()`` each, which matters at hundreds of thousands of rows.
    Ascending ids make a bulk load's inserts into the primary-key and ``entity_id`` indexes one
    sweep (appends, on an empty table) instead of random page splits all over them; the ids are
    as random as ``uuid4()``'s, only handed out in order.
    """
    return [uuid.UUID(int=value) for value in _v4_ints(count)]


def new_id_texts(count: int) -> list[str]:
    """:func:`new_ids` as their canonical text (``str(UUID)``), for ids that are only ever written:
    half the cost of making UUIDs, and SQLite stores the text as it is instead of calling the UUID
    adapter for every row (asyncpg's COPY takes the text for a ``uuid`` column)."""
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in [f"{v:032x}" for v in _v4_ints(count)]]


#: Adapted once per distinct value: a bulk load repeats the same timestamp, dates and short lists.
_SQLITE_REPEATED = frozenset({date, datetime, list})


def _sqlite_column(values: list[Any]) -> list[Any]:
    """One column's values for sqlite3: each distinct date, timestamp or list adapted once, with
    the adapter sqlite3 would call for it (Piccolo's: ISO text, UTC timestamps, JSON text), instead
    of in a callback per value. Other values (text, numbers, distinct UUIDs) go to sqlite3 as they are.
    """
    if not set(map(type, values)) & _SQLITE_REPEATED:
        return values
    adapted: dict[Any, Any] = {}
    out = []
    for value in values:
        kind = type(value)
        if kind not in _SQLITE_REPEATED:
            out.append(value)
            continue
        adapter = sqlite3.adapters.get((kind, sqlite3.PrepareProtocol))
        if adapter is None:
            out.append(value)  # sqlite3 itself reports what it cannot bind
            continue
        try:
            key = (kind, tuple(value)) if kind is list else (kind, value)
            result = adapted.get(key)
            if result is None:
                result = adapted[key] = adapter(value)
        except TypeError:  # a list holding something unhashable
            result = adapter(value)
        out.append(result)
    return out


async def insert_many(
    table: type[Table], rows: Sequence[dict[str, Any]], *, keys: Mapping[str, str] | None = None
) -> None:
    """Insert ``rows`` (each with a value for every column) into ``table``.

    A row's value for a column is under the column's name, or under ``keys[name]`` when given
    (``{"physician": "physician_id"}`` inserts read-shaped rows as they are). JSON columns take a
    document or its already encoded text; documents are encoded in place. Must run inside
    ``write_tx()``: it uses that transaction's connection, so the rows commit or roll back with
    everything else in the unit of work.
    """
    if not rows:
        return
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("insert_many must run inside write_tx()")
    columns = table._meta.columns
    names = [column._meta.db_column_name for column in columns]
    keys = keys or {}
    row_keys = [keys.get(column._meta.name, column._meta.name) for column in columns]
    for column, key in zip(columns, row_keys, strict=True):
        if isinstance(column, JSON | JSONB):
            for row in rows:
                value = row[key]
                if value is not None and not isinstance(value, str):
                    row[key] = _json.encode(value).decode()
    if isinstance(engine, SQLiteEngine):
        records = list(zip(*(_sqlite_column([row[key] for row in rows]) for key in row_keys), strict=True))
        quoted = ", ".join(f'"{name}"' for name in names)
        placeholders = ", ".join("?" * len(names))
        sql = f'INSERT INTO "{table._meta.tablename}" ({quoted}) VALUES ({placeholders})'
        await transaction.connection.execute(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
        await transaction.connection.executemany(sql, records)
    else:
        records = list(map(operator.itemgetter(*row_keys), rows))
        await transaction.connection.copy_records_to_table(table._meta.tablename, records=records, columns=names)
