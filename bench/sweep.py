"""Time of the daily expiration sweep on a large roster (target: 50k physicians / 150k credentials in <= 5 s).

Run as a script (not a test; figures, not pass/fail)::

    python bench/sweep.py [--physicians 50000] [--licenses 100000] [--certifications 50000] [--seed 7]
                          [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Without ``--database-url`` it builds a fresh SQLite database in a temporary directory; with one (a server
URL) it creates and later drops a throwaway Postgres database there. It migrates, bulk-loads synthetic
physicians, licenses and certifications whose dates spread from two years past to three years ahead (so
every threshold, expiry and overdue case occurs), then times:

- the **read floor**: the sweep's three bulk queries alone, the baseline measured in the same run;
- the **first sweep**: everything due is new and inserted;
- the **steady-state sweep**: the same day again, nothing new (what a daily run mostly looks like).

It prints each time, the sweep/read-floor ratios, and PASS/MISS against the 5 s target.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from options import parser_for  # bench/options.py
from roster.alerts import repository as alerts_repository
from roster.alerts.sweep import HORIZON_DAYS, sweep
from roster.certifications.tables import Certification
from roster.cli import migrate_database
from roster.compliance.dates import add_months
from roster.compliance.rules import IRR_DAYS, RECREDENTIALING_MONTHS
from roster.config import Settings
from roster.db import close_engine, open_engine, write_tx
from roster.db.engine import postgres_config
from roster.licenses.tables import License
from roster.physicians.npi import check_digit
from roster.physicians.tables import Physician

TARGET_SECONDS = 5.0
CHUNK = 1000  # 22 physician columns x 1000 rows stays under asyncpg's 32,767 parameters
STATES = ("AZ", "AR", "CA", "TX", "NY", "FL", "OH", "PA", "IL", "WA")
BOARDS = (("ABIM", "cardiology"), ("ABIM", "medical_oncology"), ("ABR", "radiology"), ("ABS", "general_surgery"))


def spread(rng: random.Random, today: date, back: int, ahead: int) -> date:
    return today + timedelta(days=rng.randint(-back, ahead))


def physicians(rng: random.Random, n: int, today: date, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        first_nine = f"1{i:08d}"
        rows.append(
            {
                "id": uuid.uuid4(),
                "npi": first_nine + check_digit(first_nine),
                "first_name": "Pat",
                "middle_name": None,
                "last_name": f"Reviewer{i}",
                "suffix": None,
                "former_last_names": [],
                "date_of_birth": date(1970, 1, 1),
                "degree": "MD",
                "email": None,
                "languages": ["en"],
                "lines_of_business": ["commercial"],
                "specialties": [],
                "clinical_practice_start": date(2000, 1, 1),
                "credentialed_on": spread(rng, today, 3 * 365, 0),
                "irr_passed_on": spread(rng, today, 400, 0),
                "max_open_cases": 20,
                "status": "active" if rng.random() < 0.95 else "inactive",
                "npi_status": "active",
                "npi_checked_on": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def licenses(rng: random.Random, doctors: list[dict[str, Any]], n: int, today: date, now: datetime) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": uuid.uuid4(),
                "physician": doctors[i % len(doctors)]["id"],
                "state": STATES[(i // len(doctors)) % len(STATES)],
                "number": f"L{i}",
                "license_type": "MD",
                "status": "active" if rng.random() < 0.9 else "inactive",
                "restricted": False,
                "issued_on": date(2010, 1, 1),
                "expires_on": spread(rng, today, 2 * 365, 3 * 365),
                "verified_on": None,
                "verification_source": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def certifications(rng: random.Random, doctors: list[dict[str, Any]], n: int, today: date, now: datetime) -> list:
    rows = []
    for i in range(n):
        board, specialty = BOARDS[(i // len(doctors)) % len(BOARDS)]
        unlimited = rng.random() < 0.2
        rows.append(
            {
                "id": uuid.uuid4(),
                "physician": doctors[i % len(doctors)]["id"],
                "board": board,
                "specialty": specialty,
                "status": "certified",
                "certified_on": date(2008, 1, 1),
                "expires_on": None if unlimited or rng.random() < 0.2 else spread(rng, today, 2 * 365, 3 * 365),
                "time_unlimited": unlimited,
                "moc_status": "not_meeting" if rng.random() < 0.03 else "meeting",
                "verified_on": None,
                "verification_source": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


async def load(table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        async with write_tx():
            await table.insert(*(table(**row) for row in rows[start : start + CHUNK])).run()


async def timed(work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work
    return time.perf_counter() - started, result


async def read_floor(today: date) -> int:
    horizon = today + timedelta(days=HORIZON_DAYS)
    rows = await alerts_repository.sweep_licenses(horizon)
    rows += await alerts_repository.sweep_certifications(horizon)
    rows += await alerts_repository.sweep_physicians(
        add_months(horizon, -RECREDENTIALING_MONTHS) + timedelta(days=3), horizon - timedelta(days=IRR_DAYS)
    )
    return len(rows)


async def bench(settings: Settings, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    today = date.today()
    now = datetime.now(UTC)
    started = time.perf_counter()
    engine = await open_engine(settings)
    try:
        doctors = physicians(rng, args.physicians, today, now)
        await load(Physician, doctors)
        await load(License, licenses(rng, doctors, args.licenses, today, now))
        await load(Certification, certifications(rng, doctors, args.certifications, today, now))
        print(
            f"roster: {args.physicians} physicians, {args.licenses} licenses, {args.certifications} certifications "
            f"on {'SQLite' if settings.is_sqlite else 'PostgreSQL'} (setup {time.perf_counter() - started:.1f} s)"
        )
        floor, examined = await timed(read_floor(today))
        first, counts = await timed(sweep(today))
        steady, again = await timed(sweep(today))
        assert again["raised"] == 0 and again["due"] == counts["due"], "the second sweep must raise nothing"
    finally:
        await close_engine(engine)
    print(f"records examined (within {HORIZON_DAYS} days, expired, or with dates): {examined}")
    print(f"alerts due: {counts['due']}  raised by the first sweep: {counts['raised']}")
    print(f"{'measurement':<34}{'seconds':>10}{'x read floor':>14}")
    print(f"{'read floor (3 bulk queries)':<34}{floor:>10.2f}{1:>14.1f}")
    print(f"{'first sweep (all alerts new)':<34}{first:>10.2f}{first / floor:>14.1f}")
    print(f"{'steady-state sweep (none new)':<34}{steady:>10.2f}{steady / floor:>14.1f}")
    worst = max(first, steady)
    print(f"target <= {TARGET_SECONDS:.0f} s for the slower sweep: {'PASS' if worst <= TARGET_SECONDS else 'MISS'}")


async def _pg(url: str, sql: str) -> None:
    connection = await asyncpg.connect(**postgres_config(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--physicians", type=int, default=50_000)
    parser.add_argument("--licenses", type=int, default=100_000)
    parser.add_argument("--certifications", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="a PostgreSQL server URL; a throwaway database is created there")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="roster-bench-sweep-"))
    try:
        if args.database_url:
            name = f"roster_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(_pg(args.database_url, f'CREATE DATABASE "{name}"'))
            base, _, _ = args.database_url.rpartition("/")
            try:
                settings = replace(Settings(), database_url=f"{base}/{name}", data_dir=tmp)
                migrate_database(settings)
                asyncio.run(bench(settings, args))
            finally:
                asyncio.run(_pg(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            settings = replace(Settings(), database_url=f"sqlite:///{tmp / 'bench.db'}", data_dir=tmp)
            migrate_database(settings)
            asyncio.run(bench(settings, args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
