"""Query fragments whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from piccolo.columns import Column
from piccolo.columns.combination import Where
from piccolo.engine.sqlite import SQLiteEngine

from roster.db.engine import current_engine


def icontains(column: Column, term: str) -> Where:
    """Case-insensitive substring match (SQLite's LIKE already ignores ASCII case; it has no ILIKE)."""
    escaped = term.replace("%", "").replace("_", "")
    pattern = f"%{escaped}%"
    if isinstance(current_engine(), SQLiteEngine):
        return column.like(pattern)
    return column.ilike(pattern)
