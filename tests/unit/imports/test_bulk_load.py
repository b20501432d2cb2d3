"""The bulk-load helpers an import writes with: ids handed out in order, values bound as sqlite3 would."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import piccolo.engine.sqlite  # noqa: F401  (registers Piccolo's sqlite3 adapters, as the app does)

from roster.db.bulk import _sqlite_column, new_id_texts, new_ids


def test_new_ids_are_distinct_version_4_and_ascending() -> None:
    ids = new_ids(5000)
    assert len(set(ids)) == 5000
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)
    assert new_ids(0) == []
    assert new_ids(3)[0] not in ids, "a later batch is fresh, not a replay"


def test_new_id_texts_are_canonical_uuid_text_ascending() -> None:
    texts = new_id_texts(5000)
    parsed = [uuid.UUID(text) for text in texts]
    assert [str(u) for u in parsed] == texts, "lowercase, hyphenated: what str(UUID) gives"
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in parsed)
    assert len(set(texts)) == 5000 and texts == sorted(texts)


def stored_text(values: list[object]) -> list[object]:
    """What sqlite3 itself stores for ``values`` (through its registered adapters)."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (v)")
    connection.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    return [row[0] for row in connection.execute("SELECT v FROM t ORDER BY rowid")]


def test_sqlite_column_binds_exactly_what_sqlite3_would() -> None:
    at = datetime(2026, 3, 5, 14, 30, tzinfo=timezone(timedelta(hours=-5)))
    values: list[object] = [
        at,
        at,
        datetime(2026, 3, 5, 19, 30, tzinfo=UTC),  # the same instant, another object
        date(2024, 2, 29),
        date(2024, 2, 29),
        ["en", "es"],
        ["en", "es"],
        ["en"],
        [],
        [["nested"], "list"],  # unhashable inside: adapted on its own
        uuid.UUID(int=7),
        "text",
        3,
        1.5,
        True,
        None,
    ]
    assert stored_text(_sqlite_column(values)) == stored_text(values)


def test_a_column_without_dates_or_lists_is_passed_through_untouched() -> None:
    values: list[object] = ["a", None, uuid.uuid4(), 4]
    assert _sqlite_column(values) is values


def test_equal_values_of_different_types_are_not_confused() -> None:
    day = date(2026, 1, 2)
    midnight = datetime(2026, 1, 2, tzinfo=UTC)
    assert _sqlite_column([day, midnight, day]) == [
        "2026-01-02",
        "2026-01-02 00:00:00+00:00",
        "2026-01-02",
    ]
