"""NPPES verification of the roster's NPIs: weekly through the NPI Registry API, monthly from the file.

Every check is recorded in ``npi_verification``. A clear answer sets the physician's ``npi_status``
(``active``, or ``deactivated`` for a deactivated or unknown NPI, which also raises a
``npi_deactivated`` alert) and ``npi_checked_on``, audited and versioned like any physician write so
that compliance replay at a past date sees the status as it was. An ``error`` check (outage,
throttling past the retries, malformed or unexpected answer) changes no physician.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio.to_thread
import httpx
import msgspec

from roster import clock
from roster.alerts.service import alert_row, raise_alerts
from roster.config import Settings
from roster.db import write_tx
from roster.errors import FieldError, InvalidInput
from roster.history import service as history
from roster.nppes import repository
from roster.physicians.service import snapshot, to_read
from roster.sources.nppes import NpiCheck, check_file
from roster.sources.nppes_api import RateLimiter, lookup
from roster.sources.records import ListFormatError

ACTOR = "nppes"
#: Checks recorded per write transaction: short enough not to hold SQLite's writer for long.
BATCH = 200
#: An API run stops asking after this many lookups in a row ended in ``error``: NPPES is down, and
#: the rest of the roster would only add hours of retries. The NPIs not asked are counted ``skipped``.
MAX_CONSECUTIVE_ERRORS = 20

Progress = Callable[[str], None]


def _counts() -> Counter[str]:
    return Counter(dict.fromkeys(("verified", "deactivated", "not_found", "error", "changed", "skipped"), 0))


async def _record(checks: Sequence[tuple[UUID, NpiCheck]], *, method: str, counts: Counter[str]) -> None:
    """Record one batch of checks and apply the clear ones, in one transaction."""
    if not checks:
        return
    now, today = clock.now(), clock.today()
    async with write_tx(roster_change=False):
        current = {row["id"]: row for row in await repository.physicians([pid for pid, _ in checks])}
        verifications, alerts = [], []
        for physician_id, check in checks:
            counts[check.outcome] += 1
            row = current.get(physician_id)
            if row is None:
                continue  # deleted while we were asking
            verifications.append(
                {
                    "id": uuid.uuid4(),
                    "physician": physician_id,
                    "npi": check.npi,
                    "method": method,
                    "outcome": check.outcome,
                    "npi_status": check.npi_status,
                    "details": check.details,
                    "error": check.error,
                    "checked_at": now,
                }
            )
            status = check.npi_status
            if status is None or row["npi"] != check.npi:
                continue  # an error, or the NPI was edited since: the answer is not about this physician
            if status == "deactivated":
                alerts.append(
                    alert_row(
                        kind="npi_deactivated",
                        physician_id=physician_id,
                        subject_type="physician",
                        subject_id=physician_id,
                        threshold="once",
                        detail={"npi": check.npi, "outcome": check.outcome, "method": method},
                    )
                )
            if row["npi_status"] == status and row["npi_checked_on"] == today:
                continue
            if row["npi_status"] != status:
                counts["changed"] += 1
            await _set_status(row, status, today, now)
        await repository.insert_verifications(verifications)
        await raise_alerts(alerts)


async def _set_status(row: dict[str, Any], status: str, today: date, now: datetime) -> None:
    before = to_read(row)
    after = msgspec.structs.replace(before, npi_status=status, npi_checked_on=today, updated_at=now)
    # A status change alters eligibility: the nested unit of work marks the batch a roster change.
    async with write_tx(roster_change=status != before.npi_status):
        await repository.set_npi_status(before.id, npi_status=status, checked_on=today, at=now)
        await history.record_change(
            actor=ACTOR,
            action="npi_verify",
            entity="physician",
            entity_id=before.id,
            physician_id=before.id,
            before=snapshot(before),
            after=snapshot(after),
            at=now,
        )


def _summary(counts: Counter[str], physicians: int) -> dict[str, int]:
    checked = sum(counts[outcome] for outcome in ("verified", "deactivated", "not_found", "error"))
    return {"physicians": physicians, "checked": checked, **counts}


# -- the NPI Registry API (weekly job) -------------------------------------------------------


async def reverify_all(settings: Settings, http: httpx.AsyncClient) -> dict[str, int]:
    """Ask the NPI Registry about every physician's NPI; returns counts by outcome.

    At most ``nppes_concurrency`` requests in flight and ``nppes_rate_per_second`` on average,
    retries included; results are recorded every :data:`BATCH` answers, so a run that dies halfway
    keeps what it learned.
    """
    roster = await repository.roster_npis()
    limiter = RateLimiter(settings.nppes_rate_per_second)
    if settings.nppes_concurrency < 1:
        raise ValueError(f"nppes_concurrency must be at least 1, not {settings.nppes_concurrency}")
    queue: list[tuple[UUID, str]] = [(row["id"], row["npi"]) for row in reversed(roster)]
    pending: list[tuple[UUID, NpiCheck]] = []
    counts = _counts()
    flushing = asyncio.Lock()
    failures_in_a_row = 0

    async def flush(force: bool = False) -> None:
        async with flushing:
            if pending and (force or len(pending) >= BATCH):
                batch = pending[:]
                pending.clear()
                await _record(batch, method="api", counts=counts)

    async def worker() -> None:
        nonlocal failures_in_a_row
        while queue and failures_in_a_row < MAX_CONSECUTIVE_ERRORS:
            physician_id, npi = queue.pop()
            check = await lookup(http, npi, url=settings.nppes_api_url, limiter=limiter)
            failures_in_a_row = failures_in_a_row + 1 if check.outcome == "error" else 0
            pending.append((physician_id, check))
            await flush()

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(settings.nppes_concurrency, len(queue))):
                group.create_task(worker())
    except BaseExceptionGroup as failed:  # a database failure: the caller sees it, not a wrapper
        raise failed.exceptions[0] from None
    await flush(force=True)
    counts["skipped"] = len(queue)
    return _summary(counts, len(roster))


# -- the monthly dissemination file (CLI) ----------------------------------------------------


async def verify_file(
    settings: Settings, path: Path, progress: Progress | None = None, *, full: bool = True
) -> dict[str, int]:
    """Check every physician's NPI against an ``npidata_pfile`` in one streaming pass.

    ``full=False`` reads a weekly increment: NPIs absent from it are left as they are. A file that
    is not a readable V2 dissemination file raises :class:`InvalidInput` (field ``file``) before
    anything is written. (``settings`` is taken for the same call shape as :func:`reverify_all`.)
    """
    say = progress or (lambda _: None)
    roster = await repository.roster_npis()
    npi_to_id = {row["npi"]: row["id"] for row in roster}
    size = path.stat().st_size / 2**20
    say(f"scanning {path.name} ({size:,.1f} MiB) for {len(npi_to_id)} roster NPIs")
    try:
        result = await anyio.to_thread.run_sync(lambda: check_file(path, list(npi_to_id), full=full))
    except ListFormatError as exc:
        raise InvalidInput(detail=f"{path.name}: {exc}", errors=[FieldError("file", str(exc))]) from None
    say(f"{result.found} of {len(npi_to_id)} roster NPIs have a record in the file; recording")
    counts = _counts()
    checks = [(npi_to_id[npi], check) for npi, check in result.checks.items() if npi in npi_to_id]
    for batch in _batches(checks, BATCH):
        await _record(batch, method="file", counts=counts)
    return _summary(counts, len(roster))


def _batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def verifications(physician_id: UUID) -> list[dict[str, Any]]:
    """A physician's NPPES checks, newest first."""
    return await repository.verifications_for(physician_id)
