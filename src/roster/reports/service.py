"""The expirations report: everything that lapses within ``within_days`` of today, and what already has.

JSON pages through the rows with the API's usual ``limit``/``cursor``; CSV carries every row (a
file for a spreadsheet), streamed. Inactive physicians are left out: nobody renews their papers.
"""

from __future__ import annotations

import bisect
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import msgspec

from roster import clock
from roster.api.pagination import decode_cursor, encode_cursor
from roster.compliance.facts import CertificationFact, LicenseFact
from roster.db.engine import current_engine
from roster.errors import InvalidInput
from roster.reports import repository
from roster.reports.expirations import (
    KIND_ORDER,
    NEVER,
    CycleDates,
    Holder,
    SortKey,
    by_week,
    certification_rows,
    cycle_rows,
    license_rows,
    sort_key,
    window_bounds,
)
from roster.reports.schemas import ExpirationReport, ExpirationRow, ExpirationWeek

_KEPT = 4


class _Kept:
    """Reports of the current database, keyed by (today, within_days), each valid while ``roster_version`` holds.

    Tied to one engine: a process that opens another database (tests do) starts afresh.
    """

    engine: Any = None
    reports: dict[tuple[date, int], tuple[int, list[ExpirationRow]]] = {}

    @classmethod
    def of(cls, engine: Any) -> dict[tuple[date, int], tuple[int, list[ExpirationRow]]]:
        if cls.engine is not engine:
            cls.engine, cls.reports = engine, {}
        return cls.reports


class _Holders:
    """One :class:`Holder` per physician, however many of their items lapse."""

    def __init__(self) -> None:
        self._by_id: dict[Any, Holder] = {}

    def __call__(self, row: dict[str, Any]) -> Holder:
        key = row["physician_id"]
        holder = self._by_id.get(key)
        if holder is None:
            holder = self._by_id[key] = Holder.of(
                key if isinstance(key, UUID) else UUID(str(key)),
                row["npi"],
                row["first_name"],
                row["last_name"],
                row["middle_name"],
                row["suffix"],
            )
        return holder


async def _compute(today: date, within_days: int) -> list[ExpirationRow]:
    through = today + timedelta(days=within_days)
    credentialed_by, irr_by = window_bounds(through)
    holder = _Holders()
    licenses = [
        (holder(r), msgspec.convert(r, LicenseFact, strict=False))
        for r in await repository.licenses_lapsing_by(through)
    ]
    certifications = [
        (holder(r), msgspec.convert(r, CertificationFact, strict=False))
        for r in await repository.certifications_lapsing_by(through)
    ]
    cycles = [
        (holder(r), CycleDates(credentialed_on=r["credentialed_on"], irr_passed_on=r["irr_passed_on"]))
        for r in await repository.cycles_due_by(credentialed_by, irr_by)
    ]
    rows = [
        *license_rows(licenses, today, through),
        *certification_rows(certifications, today, through),
        *cycle_rows(cycles, today, through),
    ]
    rows.sort(key=sort_key)
    return rows


async def expiration_rows(today: date, within_days: int) -> list[ExpirationRow]:
    """Every row of the report, in report order.

    Paging through a big report would otherwise rebuild it for every page: the rows are kept while
    the ``roster_version`` counter is unchanged. The version is read *before* the records, so a
    write landing in between only costs one rebuild on the next request, never a stale page.
    """
    version = await repository.roster_version()
    kept = _Kept.of(current_engine())
    key = (today, within_days)
    if version is not None and key in kept and kept[key][0] == version:
        return kept[key][1]
    rows = await _compute(today, within_days)
    if version is not None:
        kept.pop(key, None)
        kept[key] = (version, rows)
        while len(kept) > _KEPT:
            del kept[next(iter(kept))]
    return rows


def cursor_after(cursor: str | None) -> SortKey | None:
    """The sort key a cursor points past; a cursor this report did not issue is a 422 on ``cursor``."""
    key = decode_cursor(cursor, 3)
    if key is None:
        return None
    day, kind, key_id = (str(k) for k in key)
    try:
        return (date.fromisoformat(day) if day else NEVER, KIND_ORDER[kind], UUID(key_id))  # type: ignore[index]
    except (ValueError, KeyError):
        raise InvalidInput.on("cursor", "not a cursor returned by this API") from None


def _cursor_of(row: ExpirationRow) -> str:
    _, _, key_id = sort_key(row)
    return encode_cursor(row.expires_on.isoformat() if row.expires_on else "", row.kind, str(key_id))


async def report_page(within_days: int, *, cursor: str | None, limit: int) -> ExpirationReport:
    today = clock.today()
    after = cursor_after(cursor)
    rows = await expiration_rows(today, within_days)
    start = 0 if after is None else bisect.bisect_right(rows, after, key=sort_key)
    items = rows[start : start + limit]
    return ExpirationReport(
        as_of=today,
        within_days=within_days,
        through=today + timedelta(days=within_days),
        items=items,
        next_cursor=_cursor_of(items[-1]) if start + limit < len(rows) else None,
    )


async def expirations_by_week(within_days: int) -> tuple[date, dict[str, int], list[ExpirationWeek]]:
    """Today, and the report's rows counted by kind: overdue, then week by week (the workspace's chart)."""
    today = clock.today()
    overdue, weeks = by_week(await expiration_rows(today, within_days), today, within_days)
    return today, overdue, weeks
