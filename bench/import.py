"""Bulk roster import at full scale: time and peak memory on SQLite and on PostgreSQL.

Run as a script from the repository root with the project venv (figures, not pass/fail; exit 0)::

    python bench/import.py [--physicians 50000] [--seed 7] [--backend sqlite --backend postgres]
                           [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]

It writes, in a temporary directory, a roster CSV in the template layout (``fixtures/templates``):
N physicians, each with two licenses and one board certification (3N credentials: 150,000 for the
default 50,000 physicians), with valid NPIs, real specialty/board pairs and dates spread over decades.
For each backend it creates a fresh database (``migrate_database``), then, in a fresh subprocess:

* ``first import``: ``roster.imports.service.import_roster`` of the file into the empty roster
  (read, validate, plan, bulk write of records + audit events + versions in one transaction);
* ``re-import``: the same file again (every record compared, nothing written);
* ``dry run``: validation and planning only.

Each is timed (wall clock, and CPU time of the process with all its threads: on a shared machine
the wall time also measures the neighbours) and the subprocess's peak RSS (``ru_maxrss``) is printed after the first
import. The baseline, measured in the same run, is the parse floor: ``pl.read_csv(path,
infer_schema=False)`` of the same file; the import's ratio to it is printed. Targets (issue 18): a
first import of 50k physicians on SQLite in <= 10 s at <= 500 MiB peak RSS (PASS/MISS is printed for
each; PostgreSQL's figures are printed against the same targets for comparison; the exit status is 0
regardless). On a shared machine, compare the CPU time too: the wall time also measures the neighbours.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from options import parser_for  # bench/options.py

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

TARGET_SECONDS = 10.0
TARGET_PEAK_MIB = 500.0
STATES = ["AZ", "AR", "CA", "TX", "NY", "FL", "IL", "PA", "OH", "GA", "NC", "MI", "NJ", "VA", "WA", "MA", "DC", "PR"]
#: (specialty, boards that certify it), from fixtures/specialties.csv.
SPECIALTIES = [
    ("internal_medicine", "ABIM"),
    ("medical_oncology", "ABIM"),
    ("hematology_oncology", "AOBIM"),
    ("cardiology", "ABIM"),
    ("psychiatry", "ABPN"),
    ("orthopaedic_surgery", "ABOS"),
    ("diagnostic_radiology", "ABR"),
    ("family_medicine", "ABFM"),
    ("radiation_oncology", "ABR"),
]
LINES = ["medicare_advantage", "medicaid", "commercial", "marketplace"]
FIRST = ["Ada", "Ben", "Carmen", "Deepa", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kofi", "Lena"]
LAST = ["Alvarez", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Johnson", "Khan"]


def _npi(n: int) -> str:
    from roster.physicians.npi import check_digit

    first_nine = f"1{n:08d}"
    return first_nine + check_digit(first_nine)


def write_roster(path: Path, physicians: int, seed: int) -> int:
    """The roster CSV; returns the number of credential rows."""
    from roster.imports.layout import CSV_COLUMNS

    rng = random.Random(seed)
    today = dt.date.today()
    credentials = 0
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for n in range(1, physicians + 1):
            npi = _npi(n)
            born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 35))
            start = born + dt.timedelta(days=365 * 30 + rng.randrange(0, 3000))
            specialty, board = rng.choice(SPECIALTIES)
            writer.writerow(
                {
                    "record": "physician",
                    "npi": npi,
                    "first_name": rng.choice(FIRST),
                    "last_name": rng.choice(LAST) + str(n),
                    "date_of_birth": born.isoformat(),
                    "degree": "MD",
                    "email": f"reviewer{n}@example.org",
                    "languages": rng.choice(["en", "en;es", "en;fr"]),
                    "lines_of_business": ";".join(rng.sample(LINES, rng.randint(1, 3))),
                    "specialties": specialty,
                    "clinical_practice_start": min(start, today).isoformat(),
                    "credentialed_on": (today - dt.timedelta(days=rng.randrange(30, 1000))).isoformat(),
                    "irr_passed_on": (today - dt.timedelta(days=rng.randrange(1, 400))).isoformat(),
                    "max_open_cases": str(rng.choice([10, 15, 20])),
                    "status": "active",
                }
            )
            for state in rng.sample(STATES, 2):
                issued = start - dt.timedelta(days=rng.randrange(0, 400))
                writer.writerow(
                    {
                        "record": "license",
                        "npi": npi,
                        "state": state,
                        "number": f"{state}{rng.randrange(10**6):06d}",
                        "license_type": "MD",
                        "status": rng.choice(["active"] * 9 + ["probation"]),
                        "restricted": "false",
                        "issued_on": issued.isoformat(),
                        "expires_on": (today + dt.timedelta(days=rng.randrange(-60, 900))).isoformat(),
                        "verified_on": (today - dt.timedelta(days=rng.randrange(1, 200))).isoformat(),
                        "verification_source": "state_board_website",
                    }
                )
                credentials += 1
            writer.writerow(
                {
                    "record": "certification",
                    "npi": npi,
                    "board": board,
                    "specialty": specialty,
                    "status": "certified",
                    "certified_on": (start + dt.timedelta(days=rng.randrange(200, 900))).isoformat(),
                    "expires_on": (today + dt.timedelta(days=rng.randrange(30, 3000))).isoformat(),
                    "time_unlimited": "false",
                    "moc_status": "meeting",
                    "verified_on": (today - dt.timedelta(days=rng.randrange(1, 200))).isoformat(),
                    "verification_source": "abms_certification_matters",
                }
            )
            credentials += 1
    return credentials


# --- measured in a fresh subprocess ---------------------------------------------------------------


def coverage_measurements() -> list[tuple[str, Callable[[Any], Awaitable[object]]]]:
    """The coverage report on the freshly imported roster, as a manager's request finds it: the first
    call builds the process's roster index, the second reuses it."""
    from roster.compliance.facts import CompliancePolicy
    from roster.coverage.service import report
    from roster.matching.service import RosterCache

    caches: dict[str, RosterCache] = {}

    async def coverage(settings: Any) -> object:
        policy = CompliancePolicy(settings.required_sources, settings.screening_max_age_days)
        cache = caches.setdefault("cache", RosterCache(settings, policy))
        return await report(cache, line_of_business="commercial", as_of=None, horizon_days=90)

    return [("coverage report, cold (builds the index)", coverage), ("coverage report, warm", coverage)]


def child(database_url: str, roster: Path) -> None:
    from roster.config import Settings
    from roster.db import close_engine, open_engine
    from roster.imports.service import import_roster

    settings = replace(Settings(), database_url=database_url)
    data = roster.read_bytes()
    figures: dict[str, object] = {}

    async def main() -> None:
        engine = await open_engine(settings)
        try:
            for label, dry_run in (("first import", False), ("re-import", False), ("dry run", True)):
                started, cpu = time.perf_counter(), time.process_time()
                result = await import_roster(data, file_name=roster.name, dry_run=dry_run, actor="bench")
                figures[label] = time.perf_counter() - started
                figures[f"{label} cpu"] = time.process_time() - cpu
                if label == "first import":
                    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                    figures["created"] = {k: v.created for k, v in result.changes.items()}
                if label == "re-import":
                    figures["unchanged"] = {k: v.unchanged for k, v in result.changes.items()}
            for label, measure in coverage_measurements():
                started = time.perf_counter()
                await measure(settings)
                figures[label] = time.perf_counter() - started
        finally:
            await close_engine(engine)

    asyncio.run(main())
    print(json.dumps(figures))


def parse_floor(roster: Path) -> float:
    import polars as pl

    started = time.perf_counter()
    pl.read_csv(roster, infer_schema=False)
    return time.perf_counter() - started


def run_backend(backend: str, roster: Path, workdir: Path, postgres_url: str) -> dict[str, object]:
    import asyncpg

    from roster.cli import migrate_database
    from roster.config import Settings
    from roster.db.engine import postgres_config

    name = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        name = f"roster_bench_{uuid.uuid4().hex[:8]}"

        async def admin(sql: str) -> None:
            conn = await asyncpg.connect(**postgres_config(postgres_url))
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        url = postgres_url.rpartition("/")[0] + f"/{name}"
    try:
        migrate_database(replace(Settings(), database_url=url))
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, str(roster)], check=True, capture_output=True, text=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if name is not None:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--physicians", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--backend",
        action="append",
        choices=["sqlite", "postgres"],
        default=argparse.SUPPRESS,
        help="repeatable (default: sqlite and postgres)",
    )
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", nargs=2, metavar=("DATABASE_URL", "ROSTER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    backends = getattr(args, "backend", None) or ["sqlite", "postgres"]
    with tempfile.TemporaryDirectory(prefix="roster-import-bench-") as tmp:
        workdir = Path(tmp)
        roster = workdir / "roster.csv"
        started = time.perf_counter()
        credentials = write_roster(roster, args.physicians, args.seed)
        print(
            f"roster.csv: {args.physicians} physicians, {credentials} credentials, "
            f"{roster.stat().st_size / 2**20:.1f} MiB (generated in {time.perf_counter() - started:.1f} s)"
        )
        floor = parse_floor(roster)
        print(f"baseline  pl.read_csv(infer_schema=False): {floor:.2f} s")
        for backend in backends:
            figures = run_backend(backend, roster, workdir, args.postgres_url)
            first = float(figures["first import"])  # type: ignore[arg-type]
            peak = float(figures["peak_rss_mb"])  # type: ignore[arg-type]
            print(f"\n{backend}:")
            print(
                f"  first import  {first:6.2f} s  (cpu {float(figures['first import cpu']):.1f} s, "  # type: ignore[arg-type]
                f"{first / floor:.0f}x parse floor {floor:.2f} s)  "
                f"target <= {TARGET_SECONDS:.0f} s: {'PASS' if first <= TARGET_SECONDS else 'MISS'}"
            )
            print(
                f"  peak RSS      {peak:6.0f} MiB  target <= {TARGET_PEAK_MIB:.0f} MiB: "
                f"{'PASS' if peak <= TARGET_PEAK_MIB else 'MISS'}"
            )
            print(f"  created       {figures['created']}")
            for label in ("re-import", "dry run"):
                print(f"  {label:<13} {float(figures[label]):6.2f} s  (cpu {float(figures[f'{label} cpu']):.1f} s)")  # type: ignore[arg-type]
            print(f"  unchanged on re-import: {figures['unchanged']}")
            for label in ("coverage report, cold (builds the index)", "coverage report, warm"):
                print(f"  {label:<13} {float(figures[label]):6.2f} s")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
