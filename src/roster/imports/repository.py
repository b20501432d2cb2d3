"""The queries of a bulk import: current rows for the NPIs in a file, and bulk inserts."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any
from uuid import UUID

import polars as pl
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

from roster.certifications.tables import Certification
from roster.db import current_engine
from roster.db.bulk import insert_frame
from roster.licenses.tables import License
from roster.physicians.tables import Physician
from roster.reference.tables import StateRule

#: Keys per ``IN (...)`` query: far below SQLite's and asyncpg's bind-parameter limits.
CHUNK = 2000


def _read_columns(table: Any) -> list[Any]:
    """Every column, the owner as ``physician_id``: the shape of the read schemas."""
    return [
        column.as_alias("physician_id") if column._meta.name == "physician" else column
        for column in table._meta.columns
    ]


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


async def physicians_by_npi(npis: Iterable[str], *, on_roster: bool = False) -> dict[str, dict[str, Any]]:
    """The stored rows of the physicians among ``npis``; only those on the roster are fetched (``on_roster``:
    the caller knows they all are, and the lookup of which ones is skipped)."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(npis if on_roster else await roster_npis(npis)):
        for row in await Physician.select().where(Physician.npi.is_in(chunk)).run():
            found[row["npi"]] = row
    return found


async def roster_npis(npis: Iterable[str]) -> set[str]:
    """Which of ``npis`` are on the roster."""
    return set(await physician_ids(npis))


async def physician_ids(npis: Iterable[str]) -> dict[str, str]:
    """The id (as text) of each of ``npis`` on the roster, in one query with the NPIs as one parameter
    (a JSON array on SQLite, a text array on PostgreSQL): building an ``IN`` list of tens of thousands
    of placeholders costs Piccolo far more than the lookup itself."""
    wanted = list(npis)
    if not wanted:
        return {}
    if isinstance(current_engine(), PostgresEngine):
        sql = "SELECT npi, id FROM physician WHERE npi = ANY({})"
    else:  # Piccolo's sqlite3 adapter binds a list as its JSON text
        sql = "SELECT npi, id FROM physician WHERE npi IN (SELECT value FROM json_each({}))"
    return {row["npi"]: str(row["id"]) for row in await Physician.raw(sql, wanted).run()}


async def licenses_of(physician_ids: Iterable[UUID | str]) -> list[dict[str, Any]]:
    return await _owned_by(License, physician_ids)


async def certifications_of(physician_ids: Iterable[UUID | str]) -> list[dict[str, Any]]:
    return await _owned_by(Certification, physician_ids)


async def _owned_by(table: type[Table], physician_ids: Iterable[UUID | str]) -> list[dict[str, Any]]:
    """A table's rows of these physicians, read-shaped, with the ids as one parameter (as in
    :func:`physician_ids`): Piccolo's ``IN`` list cost more than the lookup of thousands of ids."""
    wanted = [str(physician_id) for physician_id in physician_ids]
    if not wanted:
        return []
    names = ", ".join(
        f'"{c._meta.db_column_name}" AS physician_id' if c._meta.name == "physician" else f'"{c._meta.db_column_name}"'
        for c in table._meta.columns
    )
    if isinstance(current_engine(), PostgresEngine):
        where = "physician = ANY({}::uuid[])"
    else:
        where = "physician IN (SELECT value FROM json_each({}))"
    return await table.raw(f'SELECT {names} FROM "{table._meta.tablename}" WHERE {where}', wanted).run()


async def state_codes() -> set[str]:
    return {row["state"] for row in await StateRule.select(StateRule.state).run()}


async def insert_new(table: type[Table], frame: pl.DataFrame, constants: dict[str, Any]) -> None:
    """New physicians, licenses or certifications held column-wise (credentials name their owner
    ``physician_id``); ``constants`` are the columns with one value for every row."""
    await insert_frame(table, frame, keys=_OWNER, constants=constants)


#: Read-shaped rows name the owner ``physician_id``; the table's column is ``physician``.
_OWNER = {"physician": "physician_id"}


async def commit_asynchronously() -> None:
    """PostgreSQL's asynchronous commit for this transaction: the commit returns before the load's
    WAL (hundreds of MB) is flushed. A crash in that instant can lose the whole import, never part of
    it, and an import is idempotent: running it again is the remedy. Other writes keep the default."""
    if isinstance(current_engine(), PostgresEngine):
        await Physician.raw("SET LOCAL synchronous_commit TO OFF").run()


async def suspend_indexes(loads: dict[type[Table], int], *, in_order: Collection[str] = ()) -> list[str]:
    """SQLite: drop the plain secondary indexes of each table the import is about to more than double
    (``loads``: rows it may add), and return the statements that rebuild them.

    Keeping an index in step row by row costs a random page write per row; building it once from the
    loaded table is one sort. The drop and the rebuild run inside the import's transaction: other
    connections go on reading the committed schema, and a rollback restores the indexes with the rows.
    Unique and primary-key indexes stay (they check the load), and so do those led by an ``in_order``
    column (the load gives it one value, its timestamp say, so its entries are appended in order; a
    rebuild would read the whole table again). PostgreSQL keeps its indexes: dropping one there would
    lock readers out of the table until the commit.
    """
    if not isinstance(current_engine(), SQLiteEngine):
        return []
    statements: list[str] = []
    for table, rows in loads.items():
        name = table._meta.tablename
        size = (await Physician.raw(f'SELECT max(rowid) AS size FROM "{name}"').run())[0]["size"] or 0
        if size >= rows:
            continue
        indexes = await Physician.raw(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = {} AND sql IS NOT NULL", name
        ).run()
        for index in indexes:
            columns = await Physician.raw(f'SELECT name FROM pragma_index_info("{index["name"]}")').run()
            if columns and columns[0]["name"] in in_order:
                continue
            await Physician.raw(f'DROP INDEX "{index["name"]}"').run()
            statements.append(index["sql"])
    return statements


async def restore_indexes(statements: list[str]) -> None:
    for statement in statements:
        await Physician.raw(statement).run()


async def refresh_statistics() -> None:
    """Let PostgreSQL's planner see a bulk load at once (autovacuum would, minutes later): until then
    it believes the tables are empty and answers ``npi IN (...)`` lookups with sequential scans."""
    if isinstance(current_engine(), PostgresEngine):
        await Physician.raw("ANALYZE physician, license, certification, audit_event, record_version").run()
