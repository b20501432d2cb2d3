"""Throughput and latency of the API's reads beside ``GET /health`` on a large SQLite roster.

Run as a script (not a test; figures, not pass/fail)::

    python bench/api.py [--physicians 50000] [--concurrency 32] [--requests 20000] [--workers 1]
                        [--endpoints physician,license,certification,compliance,list,list-state,licenses-state]

It builds a fresh SQLite database in a temporary directory (Alembic migrations and reference data via
``migrate_database``), bulk-loads synthetic physicians and licenses with plain ``sqlite3`` in one
transaction (values encoded with Piccolo's own SQLite adapters, so the app reads them exactly as rows it
wrote itself), plus ``bench/match.py``'s board certifications and a finished screening run (so a
compliance report has every fact to read), creates an admin API key through
``roster.keys.service.create_key``, then serves the app with ``uvicorn`` in a subprocess, as production
would, waits for ``/ready`` and drives it over loopback from one asyncio process with ``bench/loadgen.py``'s
keep-alive connections (httpx, tried first, cost more per request than the server and so measured itself).

The reads (issue 18), each a closed loop of ``--requests`` at ``--concurrency``, random ids:

- ``physician``: ``GET /api/v1/physicians/{id}``; ``license``: ``GET /api/v1/licenses/{id}``;
  ``certification``: ``GET /api/v1/certifications/{id}``;
- ``compliance``: ``GET /api/v1/physicians/{id}/compliance`` (today);
- ``list``: ``GET /api/v1/physicians`` (the first page, 50 by name); ``list-state``:
  ``GET /api/v1/physicians?state=..`` (a random state's first page); ``licenses-state``:
  ``GET /api/v1/licenses?state=..``.

``GET /health`` (one ``SELECT 1``, no auth) is the baseline, measured in the same run before and after
the reads (their mean is the baseline); each read's throughput ratio to it is printed beside the 0.5x
target (PASS/MISS, exit status 0 unless a request failed). The load generator shares the machine's cores
with the server, so absolute figures understate a dedicated server.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from piccolo.engine.sqlite import convert_array_in, convert_date_in, convert_datetime_in, convert_uuid_in

import loadgen
from options import parser_for
from roster.cli import migrate_database
from roster.config import Settings
from roster.physicians.npi import check_digit

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Priya Anjali Wei Mei Carlos Lucia Ahmed Fatima Olga Kenji Aisha Mateo"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Patel Singh "
    "Chen Kim Rossi Cohen Murphy Okafor Novak Schmidt"
).split()
LINES_OF_BUSINESS = ("medicare_advantage", "medicaid", "commercial", "marketplace")
LANGUAGES = ("es", "zh", "vi", "fr", "hi", "ar", "ru")
LICENSE_STATUSES = ("active",) * 17 + ("expired", "inactive", "probation")
LICENSE_SOURCES = ("state_board_website", "state_board_api", None)
ONE_DAY = timedelta(days=1)

PHYSICIAN_COLUMNS = (
    "id",
    "npi",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "former_last_names",
    "date_of_birth",
    "degree",
    "email",
    "languages",
    "lines_of_business",
    "specialties",
    "clinical_practice_start",
    "credentialed_on",
    "irr_passed_on",
    "max_open_cases",
    "status",
    "npi_status",
    "npi_checked_on",
    "created_at",
    "updated_at",
)
LICENSE_COLUMNS = (
    "id",
    "physician",
    "state",
    "number",
    "license_type",
    "status",
    "restricted",
    "issued_on",
    "expires_on",
    "verified_on",
    "verification_source",
    "created_at",
    "updated_at",
)


# --------------------------------------------------------------------------------------------- data


def _reference(settings: Settings) -> tuple[list[str], list[str]]:
    """Physician specialty slugs and licensing jurisdictions from the same fixtures the app loads."""
    with open(settings.fixtures_dir / "specialties.csv", newline="") as f:
        specialties = [r["slug"] for r in csv.DictReader(f) if r["physician"].strip().lower() == "true"]
    with open(settings.fixtures_dir / "state_rules.csv", newline="") as f:
        states = [r["state"] for r in csv.DictReader(f)]
    return specialties, states


def _npis(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct valid NPIs (leading 1 or 2, Luhn check digit over 80840 + NPI), below 2900000000:
    ``bench/mixed.py`` creates its new physicians from there up (a collision drew a correct 409)."""
    bodies = rng.sample(range(100_000_000, 290_000_000), n)
    return [f"{b:09d}" + check_digit(f"{b:09d}") for b in bodies]


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(max(1, (end - start).days)))


def synthetic_rows(n: int, settings: Settings, seed: int) -> tuple[list[tuple], list[tuple], list[str]]:
    """Physician and license rows encoded exactly as Piccolo's SQLite engine writes them."""
    rng = random.Random(seed)
    specialties, states = _reference(settings)
    now = datetime.now(UTC)
    today = now.date()
    physicians: list[tuple] = []
    licenses: list[tuple] = []
    ids: list[str] = []
    for i, npi in enumerate(_npis(rng, n)):
        pid = uuid.uuid4()
        stamp = convert_datetime_in(now - timedelta(seconds=rng.randrange(3 * 365 * 86400), microseconds=i))
        born = _day(rng, date(1945, 1, 1), date(1992, 12, 31))
        practice = _day(rng, born + timedelta(days=365 * 29), born + timedelta(days=365 * 34))
        practice = min(practice, today - timedelta(days=30))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        degree = "MD" if rng.random() < 0.85 else "DO"
        languages = ["en"] + ([rng.choice(LANGUAGES)] if rng.random() < 0.3 else [])
        lobs = rng.sample(LINES_OF_BUSINESS, rng.randint(1, len(LINES_OF_BUSINESS)))
        credentialed = _day(rng, today - timedelta(days=3 * 365), today) if rng.random() < 0.9 else None
        irr = _day(rng, today - timedelta(days=400), today) if rng.random() < 0.8 else None
        checked = _day(rng, today - timedelta(days=60), today) if rng.random() < 0.7 else None
        physicians.append(
            (
                convert_uuid_in(pid),
                npi,
                first,
                rng.choice(FIRST_NAMES) if rng.random() < 0.4 else None,
                last,
                "Jr." if rng.random() < 0.02 else None,
                convert_array_in([rng.choice(LAST_NAMES)] if rng.random() < 0.1 else []),
                convert_date_in(born),
                degree,
                f"{first.lower()}.{last.lower()}.{i}@example.net" if rng.random() < 0.9 else None,
                convert_array_in(languages),
                convert_array_in(lobs),
                convert_array_in(rng.sample(specialties, rng.choice((1, 1, 1, 2)))),
                convert_date_in(practice),
                convert_date_in(credentialed) if credentialed else None,
                convert_date_in(irr) if irr else None,
                rng.choice((8, 10, 15, 20, 20, 25)),
                "active" if rng.random() < 0.95 else "inactive",
                ("active" if rng.random() < 0.98 else "deactivated") if checked else "unknown",
                convert_date_in(checked) if checked else None,
                stamp,
                stamp,
            )
        )
        ids.append(str(pid))
        for state in rng.sample(states, 1 if rng.random() < 0.6 else 2):
            issued = _day(rng, practice, today)
            verified = _day(rng, today - timedelta(days=365), today) if rng.random() < 0.8 else None
            licenses.append(
                (
                    convert_uuid_in(uuid.uuid4()),
                    convert_uuid_in(pid),
                    state,
                    str(rng.randrange(10_000, 9_999_999)),
                    degree,
                    rng.choice(LICENSE_STATUSES),
                    rng.random() < 0.02,  # sqlite3 stores bool as 0/1, as Piccolo does
                    convert_date_in(issued),
                    # after its issue, as the API requires (a PATCH revalidates the whole license)
                    convert_date_in(
                        max(_day(rng, today - timedelta(days=90), today + timedelta(days=3 * 365)), issued + ONE_DAY)
                    ),
                    convert_date_in(verified) if verified else None,
                    rng.choice(LICENSE_SOURCES) if verified else None,
                    stamp,
                    stamp,
                )
            )
    return physicians, licenses, ids


def bulk_load(db_path: Path, physicians: list[tuple], licenses: list[tuple]) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        for table, columns, rows in (
            ("physician", PHYSICIAN_COLUMNS, physicians),
            ("license", LICENSE_COLUMNS, licenses),
        ):
            marks = ", ".join("?" * len(columns))
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def create_admin_key(settings: Settings) -> str:
    from roster.db import close_engine, open_engine
    from roster.keys.service import create_key

    async def work() -> str:
        engine = await open_engine(settings, pool=False)
        try:
            return (await create_key(name="bench-api", role="admin", actor="bench")).key
        finally:
            await close_engine(engine)

    return asyncio.run(work())


def db_bytes(db_path: Path) -> int:
    return sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*"))


# ------------------------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_path: Path, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "ROSTER_DATABASE_URL": f"sqlite:///{db_path}"}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "roster.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    log = open(log_path, "wb")  # the child keeps its own copy of the descriptor
    try:
        # Own session: stopping it can reach uvicorn's worker processes without touching anything else.
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()


def interruptible() -> None:
    """Ctrl-C and SIGTERM both raise KeyboardInterrupt, so a bench's ``finally`` clauses stop its servers and
    remove its files and databases (SIGINT is restored even where the launching shell left it ignored, as it
    does for background jobs)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    # Anything left in the server's own process group (e.g. workers) is killed outright.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-4000:]


def wait_healthy(base: str, proc: subprocess.Popen, log_path: Path, timeout: float = 120.0) -> float:
    """Seconds until ``/ready`` answers 200: the database is up and the matcher's index is built, as a load
    balancer would wait before sending traffic."""
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_log_tail(log_path)}")
        try:
            if httpx.get(f"{base}/ready", timeout=2.0).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not healthy after {timeout:.0f}s:\n{_log_tail(log_path)}")


# ---------------------------------------------------------------------------------------------- load


#: The reads measured, by name: a path template over random ids of the generated rows.
ENDPOINTS = {
    "physician": "/api/v1/physicians/{physician}",
    "license": "/api/v1/licenses/{license}",
    "certification": "/api/v1/certifications/{certification}",
    "compliance": "/api/v1/physicians/{physician}/compliance",
    "list": "/api/v1/physicians",
    "list-state": "/api/v1/physicians?state={state}",
    "licenses-state": "/api/v1/licenses?state={state}",
}
#: Reads reach at least this share of ``/health``'s throughput (issue 18).
TARGET_RATIO = 0.5


async def run_load(port: int, key: str, ids: dict[str, list[str]], args: argparse.Namespace) -> list[loadgen.Result]:
    rng = random.Random(args.seed + 1)
    auth = {"Authorization": f"Bearer {key}"}
    host = f"127.0.0.1:{port}"

    def path_of(name: str) -> str:
        template = ENDPOINTS[name]
        return template.format(**{kind: rng.choice(values) for kind, values in ids.items() if "{" + kind in template})

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0, headers=auth) as client:
        # Sanity: each read answers 200 (the physician in the documented shape) before anything is timed.
        probe = await client.get(f"/api/v1/physicians/{ids['physician'][0]}")
        if probe.status_code != 200 or probe.json().get("id") != ids["physician"][0]:
            raise RuntimeError(f"probe GET {probe.url.path} -> {probe.status_code}: {probe.text[:300]}")
        for name in args.endpoints:
            probe = await client.get(path_of(name))
            if probe.status_code != 200:
                raise RuntimeError(f"probe GET {probe.url} -> {probe.status_code}: {probe.text[:300]}")

    def health(n: int) -> list[bytes]:
        return [loadgen.encode("GET", "/health", host=host, headers={})] * n

    def reads(name: str) -> Callable[[int], list[bytes]]:
        return lambda n: [loadgen.encode("GET", path_of(name), host=host, headers=auth) for _ in range(n)]

    runs = [("GET /health", health)] + [(name, reads(name)) for name in args.endpoints] + [("GET /health", health)]
    pool = loadgen.Pool("127.0.0.1", port, args.concurrency)
    try:
        results = []
        for name, requests in runs:
            if args.warmup:
                await loadgen.closed_loop(pool, name, requests(args.warmup), args.concurrency, args.time_cap)
            results.append(
                await loadgen.closed_loop(pool, name, requests(args.requests), args.concurrency, args.time_cap)
            )
        return results
    finally:
        await pool.close()


def report(results: list[loadgen.Result], args: argparse.Namespace) -> None:
    print()
    loadgen.table(results)
    before, after = results[0], results[-1]
    baseline = (before.rps + after.rps) / 2
    print(f"\n/health baseline: {before.rps:.0f} req/s before the reads, {after.rps:.0f} after, mean {baseline:.0f}")
    print(f"{'read':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7}  target >= {TARGET_RATIO}x /health")
    for r in results[1:-1]:
        ratio = r.rps / baseline if baseline else float("nan")
        verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
        print(f"{r.endpoint:<16} {r.rps:>9.1f} {r.pct(50):>8.2f} {r.pct(99):>8.2f} {ratio:>7.3f}  {verdict}")


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = parser_for(__doc__)
    parser.add_argument("--physicians", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=20_000, help="measured requests per endpoint")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--warmup", type=int, default=500, help="unmeasured requests per endpoint first")
    parser.add_argument("--time-cap", type=float, default=180.0, help="seconds per endpoint run, at most")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--endpoints", default=",".join(ENDPOINTS), help=f"comma-separated reads to measure, of {', '.join(ENDPOINTS)}"
    )
    args = parser.parse_args()
    if args.physicians < 1 or args.concurrency < 1 or args.requests < 1:
        parser.error("--physicians, --concurrency and --requests must be positive")
    args.endpoints = [name.strip() for name in args.endpoints.split(",") if name.strip()]
    if unknown := [name for name in args.endpoints if name not in ENDPOINTS]:
        parser.error(f"--endpoints: unknown {', '.join(unknown)}; choose from {', '.join(ENDPOINTS)}")

    tmp = Path(tempfile.mkdtemp(prefix="roster-bench-api-"))
    proc: subprocess.Popen | None = None
    try:
        db_path = tmp / "roster.db"
        settings = dataclasses.replace(Settings(), database_url=f"sqlite:///{db_path}")

        t0 = time.perf_counter()
        migrate_database(settings)
        t_migrate = time.perf_counter() - t0

        t0 = time.perf_counter()
        physicians, licenses, ids = synthetic_rows(args.physicians, settings, args.seed)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        bulk_load(db_path, physicians, licenses)
        import match  # bench/match.py: its certifications and screening run, so compliance has every fact

        eligibility = match.eligibility_rows(physicians, settings, args.seed)
        match.bulk_load_eligibility(
            db_path, {t: eligibility[t] for t in ("certification", "list_snapshot", "screening_run")}
        )
        t_load = time.perf_counter() - t0
        n_licenses = len(licenses)
        read_ids = {
            "physician": ids,
            "license": [row[0] for row in licenses],
            "certification": [row[0] for row in eligibility["certification"]],
            "state": sorted({row[2] for row in licenses}),
        }
        n_certifications = len(read_ids["certification"])
        del physicians, licenses, eligibility

        key = create_admin_key(settings)
        size = db_bytes(db_path)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
        proc = start_server(db_path, port, args.workers, log_path)
        t_ready = wait_healthy(base, proc, log_path)

        print(
            f"roster bench/api.py  python {sys.version.split()[0]}  cpus {os.cpu_count()}  "
            f"uvicorn workers {args.workers}  concurrency {args.concurrency}"
        )
        print(
            f"database: {args.physicians} physicians, {n_licenses} licenses, {n_certifications} certifications, "
            f"{size / 1e6:.1f} MB (SQLite, WAL checkpointed)"
        )
        print(
            f"setup: migrate {t_migrate:.2f}s, generate rows {t_gen:.2f}s, bulk load {t_load:.2f}s, "
            f"server ready {t_ready:.2f}s"
        )
        print(
            f"load: {args.requests} requests per endpoint after {args.warmup} warm-up, "
            f"time cap {args.time_cap:.0f}s, one asyncio process (bench/loadgen.py) on loopback"
        )

        results = asyncio.run(run_load(port, key, read_ids, args))
        report(results, args)
        server_log = log_path.read_text(errors="replace").strip()
        if server_log and any(r.errors for r in results):
            print("server log (last 2000 chars):\n" + server_log[-2000:])
        if proc.poll() is not None:
            print(f"server exited during the run with {proc.returncode}")
            return 1
        return 0 if all(not r.errors for r in results) else 1
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
