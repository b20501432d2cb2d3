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
import polars as pl
from piccolo.columns import JSON, JSONB
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

from roster.db import current_engine

_json = msgspec.json.Encoder()
#: Page cache of the bulk-loading connection: the indexes of big tables (audit, versions) are
#: written at random places, and SQLite's 2 MiB default turns each insert into page reloads. Not
#: more: the cache is resident memory, and a roster import sets its biggest indexes aside anyway.
_SQLITE_CACHE_KIB = 64 * 1024


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


#: The RFC 4122 variant digit for any random hex digit (its two low bits kept).
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_id_texts(count: int) -> list[str]:
    """:func:`new_ids` as their canonical text (``str(UUID)``), for ids that are only ever written:
    a fraction of the cost of making UUIDs, and SQLite stores the text as it is instead of calling the
    UUID adapter for every row (asyncpg's COPY takes the text for a ``uuid`` column).

    Formatted straight from one random hex string; lowercase hex of fixed width sorts as its number.
    """
    h = os.urandom(16 * count).hex()
    variant = _VARIANT_DIGIT
    return sorted(
        [
            f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-{variant[h[i + 16]]}{h[i + 17 : i + 20]}-"
            f"{h[i + 20 : i + 32]}"
            for i in range(0, 32 * count, 32)
        ]
    )


#: Adapted once per distinct value: a bulk load repeats the same timestamp, dates and short lists.
_SQLITE_REPEATED = frozenset({date, datetime, list})


def _sqlite_column(values: list[Any]) -> list[Any]:
    """One column's values for sqlite3: each distinct date, timestamp or list adapted once, with
    the adapter sqlite3 would call for it (Piccolo's: ISO text, UTC timestamps, JSON text), instead
    of in a callback per value. Other values (text, numbers, distinct UUIDs) go to sqlite3 as they are.
    """
    kinds = set(map(type, values))
    if not kinds & _SQLITE_REPEATED:
        return values
    kinds.discard(type(None))
    if len(kinds) == 1:
        (kind,) = kinds
        adapter = sqlite3.adapters.get((kind, sqlite3.PrepareProtocol))
        if adapter is not None:
            try:
                return _adapted_once(values, adapter, kind is list)
            except TypeError:  # a list holding something unhashable: value by value below
                pass
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


def _adapted_once(values: list[Any], adapter: Any, lists: bool) -> list[Any]:
    """One type's values (or None) adapted once per distinct value, looked up in C loops."""
    keys = list(map(tuple, values)) if lists else values  # None never reaches a list column's cells
    distinct = dict(zip(keys, values, strict=True))
    adapted = {key: None if value is None else adapter(value) for key, value in distinct.items()}
    return list(map(adapted.__getitem__, keys))


def _sqlite_series(series: pl.Series) -> list[Any]:
    """A polars column as sqlite3 binds it through Piccolo's adapters (ISO dates, UTC timestamps, JSON
    lists): dates formatted by polars when every year has four digits (``date.isoformat``'s own form)."""
    if series.dtype == pl.Date:
        years = series.dt.year()
        if series.null_count() == series.len() or (years.min() >= 1000 and years.max() <= 9999):  # type: ignore[operator]
            return series.dt.to_string("%Y-%m-%d").to_list()
    return _sqlite_column(series.to_list())


async def insert_frame(
    table: type[Table],
    frame: pl.DataFrame,
    *,
    keys: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """:func:`insert_many` for rows held column-wise: no Python object per row until the driver's.

    A column's values are ``frame``'s column of its name (or ``keys[name]``), or ``constants[name]``
    for every row. JSON columns take already encoded text. Must run inside ``write_tx()``.
    """
    if frame.is_empty():
        return
    transaction = _transaction()
    engine = current_engine()
    keys = keys or {}
    constants = constants or {}
    count = frame.height
    columns = table._meta.columns
    names = [column._meta.db_column_name for column in columns]
    row_keys = [keys.get(column._meta.name, column._meta.name) for column in columns]
    sqlite = isinstance(engine, SQLiteEngine)
    values: list[list[Any]] = []
    for key in row_keys:
        if key in constants:
            value = constants[key]
            values.append(_sqlite_column([value])[0:1] * count if sqlite else [value] * count)
        else:
            series = frame.get_column(key)
            values.append(_sqlite_series(series) if sqlite else series.to_list())
    records = list(zip(*values, strict=True))
    del values
    if sqlite:
        await _sqlite_insert(transaction, table, names, records)
    else:
        await transaction.connection.copy_records_to_table(table._meta.tablename, records=records, columns=names)


def _transaction() -> Any:
    transaction = current_engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError("bulk inserts must run inside write_tx()")
    return transaction


async def _sqlite_insert(
    transaction: Any, table: type[Table], names: list[str], records: list[tuple[Any, ...]]
) -> None:
    quoted = ", ".join(f'"{name}"' for name in names)
    placeholders = ", ".join("?" * len(names))
    sql = f'INSERT INTO "{table._meta.tablename}" ({quoted}) VALUES ({placeholders})'
    await transaction.connection.execute(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
    await transaction.connection.executemany(sql, records)


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
        await _sqlite_insert(transaction, table, names, records)
    else:
        records = list(map(operator.itemgetter(*row_keys), rows))
        await transaction.connection.copy_records_to_table(table._meta.tablename, records=records, columns=names)
