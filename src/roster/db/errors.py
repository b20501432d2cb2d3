"""Recognise integrity errors from either driver, so a lost race is a 409, never a 500.

Services check for duplicates before writing, but two concurrent requests can both pass the check
(PostgreSQL's READ COMMITTED, or two SQLite processes); the unique constraint then decides.
"""

from __future__ import annotations

import re
import sqlite3

import asyncpg

from roster.errors import Conflict, FieldError

#: Unique constraint -> the request field a client should change.
CONSTRAINT_FIELDS = {
    "uq_physician_npi": "npi",
    "uq_license_physician_state_number": "number",
    "uq_certification_physician_board_specialty": "specialty",
    "uq_api_key_key_hash": "key",
    "uq_list_snapshot_source_sha256": "file",
}
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")


def _sqlite_constraint(message: str) -> str | None:
    match = _SQLITE_UNIQUE.search(message)
    if not match:
        return None
    columns = [part.strip().split(".") for part in match.group(1).split(",")]
    table = columns[0][0]
    return f"uq_{table}_" + "_".join(col for _, col in columns)


def as_conflict(exc: BaseException) -> Conflict | None:
    """The 409 a unique violation stands for, or None when ``exc`` is something else."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        constraint = exc.constraint_name
    elif isinstance(exc, sqlite3.IntegrityError):
        constraint = _sqlite_constraint(str(exc))
        if constraint is None:
            return None
    else:
        return None
    field = CONSTRAINT_FIELDS.get(constraint or "", "body")
    return Conflict(
        "the request conflicts with a record written at the same time",
        errors=[FieldError(field, "already on file")],
    )
