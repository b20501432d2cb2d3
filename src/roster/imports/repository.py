"""The queries of a bulk import: current rows for the NPIs in a file, and bulk inserts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine

from roster.certifications.tables import Certification
from roster.db import current_engine
from roster.db.bulk import insert_many
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


async def physicians_by_npi(npis: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of the physicians among ``npis``; only those on the roster are fetched."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(await roster_npis(npis)):
        for row in await Physician.select().where(Physician.npi.is_in(chunk)).run():
            found[row["npi"]] = row
    return found


async def roster_npis(npis: Iterable[str]) -> set[str]:
    """Which of ``npis`` are on the roster, in one query with the NPIs as one parameter (a JSON
    array on SQLite, a text array on PostgreSQL): building an ``IN`` list of tens of thousands
    of placeholders costs Piccolo far more than the lookup itself."""
    wanted = list(npis)
    if not wanted:
        return set()
    if isinstance(current_engine(), PostgresEngine):
        sql = "SELECT npi FROM physician WHERE npi = ANY({})"
    else:  # Piccolo's sqlite3 adapter binds a list as its JSON text
        sql = "SELECT npi FROM physician WHERE npi IN (SELECT value FROM json_each({}))"
    return {row["npi"] for row in await Physician.raw(sql, wanted).run()}


async def licenses_of(physician_ids: Iterable[UUID]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(physician_ids):
        rows += await License.select(*_read_columns(License)).where(License.physician.is_in(chunk)).run()
    return rows


async def certifications_of(physician_ids: Iterable[UUID]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(physician_ids):
        rows += (
            await Certification.select(*_read_columns(Certification)).where(Certification.physician.is_in(chunk)).run()
        )
    return rows


async def state_codes() -> set[str]:
    return {row["state"] for row in await StateRule.select(StateRule.state).run()}


async def insert_physicians(rows: list[dict[str, Any]]) -> None:
    await insert_many(Physician, rows)


async def insert_licenses(rows: list[dict[str, Any]]) -> None:
    await insert_many(License, rows, keys=_OWNER)


async def insert_certifications(rows: list[dict[str, Any]]) -> None:
    await insert_many(Certification, rows, keys=_OWNER)


#: Read-shaped rows name the owner ``physician_id``; the table's column is ``physician``.
_OWNER = {"physician": "physician_id"}


async def commit_asynchronously() -> None:
    """PostgreSQL's asynchronous commit for this transaction: the commit returns before the load's
    WAL (hundreds of MB) is flushed. A crash in that instant can lose the whole import, never part of
    it, and an import is idempotent: running it again is the remedy. Other writes keep the default."""
    if isinstance(current_engine(), PostgresEngine):
        await Physician.raw("SET LOCAL synchronous_commit TO OFF").run()


async def refresh_statistics() -> None:
    """Let PostgreSQL's planner see a bulk load at once (autovacuum would, minutes later): until then
    it believes the tables are empty and answers ``npi IN (...)`` lookups with sequential scans."""
    if isinstance(current_engine(), PostgresEngine):
        await Physician.raw("ANALYZE physician, license, certification, audit_event, record_version").run()
