"""The daily expiration sweep: raise every credential alert that is due today (rules.md §3).

Three bulk reads (licenses, certifications, physicians, each narrowed to what can be due), the pure
rules of :mod:`roster.alerts.rules`, then inserts in batches that skip existing alerts. The unique
(kind, subject_id, threshold) key makes the sweep safe to run twice or on two workers at once;
batches are inserted in key order so two concurrent sweeps on Postgres never deadlock each other.
``python bench/sweep.py`` times it on 50k physicians / 150k credentials.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import date, timedelta

import httpx

from roster import clock
from roster.alerts import repository
from roster.alerts.rules import (
    SWEPT_KINDS,
    THRESHOLDS,
    CertificationFacts,
    DueAlert,
    LicenseFacts,
    PhysicianFacts,
    certification_alerts,
    license_alerts,
    physician_alerts,
)
from roster.alerts.service import alert_row
from roster.compliance.dates import add_months
from roster.compliance.rules import IRR_DAYS, RECREDENTIALING_MONTHS
from roster.config import Settings
from roster.db import write_tx

#: Credentials further out than the widest threshold cannot be due; the query leaves them out.
HORIZON_DAYS = max(max(days) for days in THRESHOLDS.values())
BATCH = 5000


def time_ordered_ids(count: int) -> list[uuid.UUID]:
    """``count`` UUIDv7s (RFC 9562) in increasing order: the millisecond clock, then a counter from a
    random start in the 74 random bits.

    A backfill sweep inserts tens of thousands of alerts; random v4 ids scatter them across the
    primary-key index, which costs SQLite about half of the insert time. In ascending order they append.
    """
    millis = int(clock.now().timestamp() * 1000) & ((1 << 48) - 1)
    start = secrets.randbits(64)
    ids = []
    for offset in range(count):
        counter = start + offset
        value = (millis << 80) | (0x7 << 76) | ((counter >> 62) << 64) | (0b10 << 62) | (counter & ((1 << 62) - 1))
        ids.append(uuid.UUID(int=value))
    return ids


async def due_alerts(today: date) -> tuple[list[DueAlert], dict[str, int]]:
    """Every alert due on ``today``, with how many records of each kind were examined."""
    horizon = today + timedelta(days=HORIZON_DAYS)
    licenses = await repository.sweep_licenses(horizon)
    certifications = await repository.sweep_certifications(horizon)
    # Whose recredentialing or IRR can fall due by the horizon; the days of slack cover month-end
    # clamping (rules decide exactly, the query only narrows).
    physicians = await repository.sweep_physicians(
        credentialed_by=add_months(horizon, -RECREDENTIALING_MONTHS) + timedelta(days=3),
        irr_passed_by=horizon - timedelta(days=IRR_DAYS),
    )
    due: list[DueAlert] = []
    for row in licenses:
        due.extend(license_alerts(LicenseFacts(**row), today))
    for row in certifications:
        due.extend(certification_alerts(CertificationFacts(**row), today))
    for row in physicians:
        due.extend(physician_alerts(PhysicianFacts(**row), today))
    examined = {"licenses": len(licenses), "certifications": len(certifications), "physicians": len(physicians)}
    return due, examined


async def raise_due(due: list[DueAlert], kinds: Sequence[str]) -> int:
    """Insert the alerts of ``due`` that do not exist yet; returns how many were new. Every swept kind goes
    through here (expirations, the assignment clock, education)."""
    # Skipping what exists is only the fast path; the unique key still decides when two sweeps race.
    existing = await repository.existing_keys(list(kinds))
    new = [alert for alert in due if (alert.kind, str(alert.subject_id), alert.threshold) not in existing]
    new.sort(key=lambda alert: (alert.kind, str(alert.subject_id), alert.threshold))
    ids = time_ordered_ids(len(new))
    raised = 0
    for start in range(0, len(new), BATCH):
        rows = [
            alert_row(
                kind=alert.kind,
                physician_id=alert.physician_id,
                subject_type=alert.subject_type,
                subject_id=alert.subject_id,
                threshold=alert.threshold,
                due_on=alert.due_on,
                detail=alert.detail,
            )
            for alert in new[start : start + BATCH]
        ]
        for row, alert_id in zip(rows, ids[start : start + BATCH], strict=True):
            row["id"] = alert_id
        # One short transaction per batch: an SQLite writer never holds the lock for the whole sweep,
        # and a batch that fails leaves earlier ones in place for the next (idempotent) run.
        async with write_tx(roster_change=False):
            raised += await repository.insert_new(rows)
    return raised


async def sweep(today: date) -> dict[str, int]:
    """Raise the alerts due on ``today``; returns counts (``due``: alerts that should exist, ``raised``: new ones)."""
    due, counts = await due_alerts(today)
    return {**counts, "due": len(due), "raised": await raise_due(due, SWEPT_KINDS)}


async def run_sweep(settings: Settings, http: httpx.AsyncClient) -> dict[str, int]:
    """The ``expiration_sweep`` job body (the job registry's signature; needs neither argument)."""
    return await sweep(clock.today())
