"""A long mixed workload against the served API: zero 5xx, zero ``database is locked``, flat server RSS, p99.

Run as a script (not a test; figures and verdicts, exit status 0 regardless)::

    python bench/soak.py [--seconds 600] [--clients 20] [--physicians 5000] [--seed 20261123]
                         [--backends sqlite,postgres,sqlite-2replicas]
                         [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                         [--warmup 30] [--think-ms 0] [--rss-growth 10] [--sample-seconds 10]
                         [--mix get=30,list=10,match=25,assign=20,patch_physician=7,patch_license=8]

For each backend, one after the other, it builds the roster of ``bench/match.py`` (``bench/api.py``'s
physicians and licenses, plus certifications, a current screening run and ~5,000 open assignments) in a
fresh temporary directory, serves it with ``uvicorn`` in subprocesses, as in production, and drives it
over loopback from ``--clients`` keep-alive connections (``bench/loadgen.py``), each a closed loop of:

- ``GET /physicians/{id}`` and ``GET /physicians?state=..&specialty=..`` (and other filters);
- ``POST /match`` on a random case;
- ``POST /match`` on a case some physician is licensed for, then ``POST /assignments`` of its top eligible
  reviewer; each client keeps at most 3 of its assignments open and closes the oldest with
  ``PATCH /assignments/{id}`` (completed or cancelled), so capacity never runs out;
- ``PATCH /physicians/{id}`` (``max_open_cases`` or ``email``) and ``PATCH /licenses/{id}`` (``verified_on``):
  roster writes, each bumping the roster version every replica's matcher index follows.

Backends: ``sqlite`` (one server on a SQLite file), ``postgres`` (one server on a throwaway database
created on ``--database-url`` and dropped afterwards, the same rows copied there from the SQLite build) and
``sqlite-2replicas`` (two servers on two ports sharing one SQLite file, the clients split between them,
so writers of two processes meet on SQLite's own lock and each replica's index follows the other's writes).

Keys: router (match, assignments), credentialing (PATCHes), manager (reads). A 409 (reviewer not eligible
any more, capacity taken by a concurrent client) and any 4xx are legitimate answers, counted by status;
only 5xx and broken connections are failures. ``database is locked`` is counted in the servers' logs and
in every response body. Server RSS is ``VmRSS`` from ``/proc/<pid>/status``, taken after ``--warmup``
seconds of the same workload (index built, caches and pools filled) and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api as roster_bench
import loadgen
import match as match_bench
from options import parser_for
from roster.cli import migrate_database
from roster.config import Settings

BACKENDS = ("sqlite", "postgres", "sqlite-2replicas")
KEEP_OPEN = 3  # assignments a client keeps open before closing its oldest
REQUEST_TIMEOUT = 60.0
LOCKED = re.compile(rb"database is locked", re.IGNORECASE)
#: Client actions per loop iteration, with their weights.
ACTIONS = (
    ("get", 30),
    ("list", 10),
    ("match", 25),
    ("assign", 20),
    ("patch_physician", 7),
    ("patch_license", 8),
)
ENDPOINTS = (
    "GET /physicians/{id}",
    "GET /physicians?filters",
    "POST /match",
    "POST /assignments",
    "PATCH /assignments/{id}",
    "PATCH /physicians/{id}",
    "PATCH /licenses/{id}",
)


# --------------------------------------------------------------------------------------------- data


@dataclasses.dataclass
class Roster:
    physician_ids: list[str]
    license_ids: list[str]
    #: (state, line of business, specialty) some physician is licensed, enrolled and boarded for.
    cases: list[tuple[str, str, str]]
    specialties: list[str]
    states: list[str]
    last_names: list[str]
    licenses: int


def build_sqlite(db_path: Path, settings: Settings, args: argparse.Namespace) -> Roster:
    """``bench/match.py``'s roster in a fresh SQLite file (migrations, bulk loads)."""
    migrate_database(settings)
    physicians, licenses, ids = roster_bench.synthetic_rows(args.physicians, settings, args.seed)
    roster_bench.bulk_load(db_path, physicians, licenses)
    match_bench.bulk_load_eligibility(db_path, match_bench.eligibility_rows(physicians, settings, args.seed))
    specialties, states = roster_bench._reference(settings)
    by_id = {row[0]: row for row in physicians}
    cases = []
    for lic in licenses:
        if lic[5] != "active":  # status
            continue
        row = by_id[lic[1]]
        lobs = json.loads(row[11])
        cases.append((lic[2], lobs[0], json.loads(row[match_bench.PHYSICIAN_SPECIALTIES])[0]))
    return Roster(
        physician_ids=ids,
        license_ids=[str(lic[0]) for lic in licenses],
        cases=cases,
        specialties=specialties,
        states=states,
        last_names=list(roster_bench.LAST_NAMES),
        licenses=len(licenses),
    )


#: What the bulk loads wrote, copied as they are to Postgres.
def _copied_tables() -> list[Any]:
    from roster.assignments.tables import Assignment
    from roster.certifications.tables import Certification
    from roster.licenses.tables import License
    from roster.physicians.tables import Physician
    from roster.screening.tables import ListSnapshot, ScreeningRun

    return [Physician, License, Certification, Assignment, ListSnapshot, ScreeningRun]


async def copy_to(source: Settings, target: Settings) -> None:
    """The bulk-loaded rows of ``source`` (SQLite, read through Piccolo) into ``target`` (migrated)."""
    from roster.db import close_engine, open_engine, write_tx
    from roster.db.bulk import insert_many

    tables = _copied_tables()
    engine = await open_engine(source, pool=False)
    try:
        rows = {table: await table.select().run() for table in tables}
    finally:
        await close_engine(engine)
    engine = await open_engine(target, pool=False)
    try:
        async with write_tx():
            for table in tables:
                await insert_many(table, rows[table])
    finally:
        await close_engine(engine)


async def create_keys(settings: Settings) -> dict[str, str]:
    from roster.db import close_engine, open_engine
    from roster.keys.service import create_key

    engine = await open_engine(settings, pool=False)
    try:
        return {
            role: (await create_key(name=f"bench-soak-{role}", role=role, actor="bench")).key
            for role in ("router", "credentialing", "manager")
        }
    finally:
        await close_engine(engine)


async def _pg(url: str, sql: str) -> None:
    import asyncpg

    from roster.db.engine import postgres_config

    connection = await asyncpg.connect(**postgres_config(url), timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


# ------------------------------------------------------------------------------------------- servers


def start_server(url: str, port: int, log_path: Path, data_dir: Path) -> subprocess.Popen:
    """``bench/api.py``'s ``start_server`` for any database URL: one uvicorn process, its own session."""
    env = {**os.environ, "ROSTER_DATABASE_URL": url, "ROSTER_DATA_DIR": str(data_dir)}
    cmd = [
        sys.executable, "-m", "uvicorn", "roster.app:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    log = open(log_path, "wb")
    try:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


@dataclasses.dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path
    rss: list[tuple[float, int]] = dataclasses.field(default_factory=list)  # (seconds into the run, KiB)
    cpu_start: float | None = None
    cpu_end: float | None = None

    def sample(self, at: float) -> None:
        if (value := rss_kib(self.proc.pid)) is not None:
            self.rss.append((at, value))


# ---------------------------------------------------------------------------------------------- load


@dataclasses.dataclass
class Stats:
    latencies: dict[str, list[float]] = dataclasses.field(default_factory=lambda: {e: [] for e in ENDPOINTS})
    statuses: dict[str, Counter] = dataclasses.field(default_factory=lambda: {e: Counter() for e in ENDPOINTS})
    transport: Counter = dataclasses.field(default_factory=Counter)
    locked_bodies: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)  # first few 5xx bodies
    refusals: dict[tuple[str, int], bytes] = dataclasses.field(default_factory=dict)  # first 4xx body of each kind

    def record(self, endpoint: str, status: int, seconds: float, body: bytes) -> None:
        # setdefault: a bench built on these clients (bench/mixed.py) may add endpoints of its own.
        self.latencies.setdefault(endpoint, []).append(seconds)
        self.statuses.setdefault(endpoint, Counter())[status] += 1
        if status >= 300 and LOCKED.search(body):
            self.locked_bodies += 1
        if 400 <= status < 500:
            self.refusals.setdefault((endpoint, status), body[:240])
        if status >= 500 and len(self.failures) < 5:
            self.failures.append(f"{endpoint} -> {status}: {body[:300]!r}")


class Client:
    """One keep-alive connection and one closed loop of the mixed workload."""

    def __init__(
        self, number: int, port: int, keys: dict[str, str], roster: Roster, seed: int, mix: dict[str, float]
    ) -> None:
        self.number = number
        self.host = f"127.0.0.1:{port}"
        self.pool = loadgen.Pool("127.0.0.1", port, 1)
        self.rng = random.Random(seed * 1000 + number)
        self.auth = {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}
        self.roster = roster
        self.open: deque[str] = deque()
        self.sent = 0
        self.stats = Stats()
        self.actions, self.weights = list(mix), list(mix.values())

    def restart(self) -> None:
        """Forget what the warm-up recorded: the measured run starts now."""
        self.stats = Stats()

    async def call(self, endpoint: str, method: str, path: str, role: str, body: Any = None) -> tuple[int, bytes]:
        raw = loadgen.encode(method, path, host=self.host, headers=self.auth[role], body=body)
        self.sent += 1
        started = time.perf_counter()
        try:
            status, payload = await asyncio.wait_for(self.pool.request(raw), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
            self.stats.transport[f"{endpoint}: {type(exc).__name__}"] += 1
            return 0, b""
        self.stats.record(endpoint, status, time.perf_counter() - started, payload)
        return status, payload

    async def run(self, deadline: float, max_requests: int, think: float) -> None:
        while time.perf_counter() < deadline and self.sent < max_requests:
            action = self.rng.choices(self.actions, self.weights)[0]
            await getattr(self, action)()
            if think:
                await asyncio.sleep(self.rng.expovariate(1 / think))

    async def get(self) -> None:
        await self.call(
            "GET /physicians/{id}", "GET", f"/api/v1/physicians/{self.rng.choice(self.roster.physician_ids)}", "manager"
        )

    async def list(self) -> None:
        rng, r = self.rng, self.roster
        state, lob, specialty = rng.choice(r.cases)
        query = rng.choice(
            (
                f"state={state}&specialty={specialty}",
                f"state={state}&line_of_business={lob}&status=active",
                f"specialty={specialty}&limit=20",
                f"q={rng.choice(r.last_names)}&limit=20",
            )
        )
        await self.call("GET /physicians?filters", "GET", f"/api/v1/physicians?{query}", "manager")

    async def match(self) -> None:
        body = match_bench.random_case(self.rng, self.roster.specialties, self.roster.states)
        await self.call("POST /match", "POST", "/api/v1/match", "router", body)

    async def assign(self) -> None:
        state, lob, specialty = self.rng.choice(self.roster.cases)
        case = {"state": state, "line_of_business": lob, "specialty": specialty, "review_type": "initial"}
        status, payload = await self.call("POST /match", "POST", "/api/v1/match", "router", case)
        if status != 200:
            return
        eligible = json.loads(payload)["eligible"]
        if not eligible:
            return
        body = {**case, "case_id": f"SOAK-{self.number}-{self.sent}", "physician_id": eligible[0]["physician_id"]}
        status, payload = await self.call("POST /assignments", "POST", "/api/v1/assignments", "router", body)
        if status == 201:
            self.open.append(json.loads(payload)["id"])
        if len(self.open) > KEEP_OPEN:
            closing = self.open.popleft()
            outcome = {"status": "completed" if self.rng.random() < 0.7 else "cancelled"}
            await self.call("PATCH /assignments/{id}", "PATCH", f"/api/v1/assignments/{closing}", "router", outcome)

    async def patch_physician(self) -> None:
        pid = self.rng.choice(self.roster.physician_ids)
        if self.rng.random() < 0.5:
            body: dict[str, Any] = {"max_open_cases": self.rng.choice((10, 15, 20, 25))}
        else:
            body = {"email": f"soak.{self.number}.{self.sent}@example.net"}
        await self.call("PATCH /physicians/{id}", "PATCH", f"/api/v1/physicians/{pid}", "credentialing", body)

    async def patch_license(self) -> None:
        lid = self.rng.choice(self.roster.license_ids)
        verified = date.today() - timedelta(days=self.rng.randrange(60))
        body = {"verified_on": verified.isoformat(), "verification_source": "state_board_api"}
        await self.call("PATCH /licenses/{id}", "PATCH", f"/api/v1/licenses/{lid}", "credentialing", body)


async def drive(
    servers: list[Server],
    keys: dict[str, str],
    roster: Roster,
    args: argparse.Namespace,
    client_class: type | None = None,
) -> tuple:
    """Warm-up, RSS at start, the measured run with RSS sampled, RSS at end. Returns (stats, elapsed, warm-up 5xx).

    ``client_class``: :class:`Client` or a subclass with more actions (``bench/mixed.py``)."""
    client_class = client_class or Client
    clients = [
        client_class(i, servers[i % len(servers)].port, keys, roster, args.seed, args.mix) for i in range(args.clients)
    ]
    think = args.think_ms / 1000
    cap = 10_000_000  # requests per client, a bound beside the deadline
    try:
        if args.warmup > 0:
            deadline = time.perf_counter() + args.warmup
            await asyncio.gather(*(c.run(deadline, cap, think) for c in clients))
            warm = [c.stats for c in clients]
            for c in clients:
                c.restart()
        else:
            warm = []
        warm_5xx = sum(n for s in warm for counts in s.statuses.values() for st, n in counts.items() if st >= 500)
        started = time.perf_counter()
        for server in servers:
            server.sample(0.0)
            server.cpu_start = cpu_seconds(server.proc.pid)
        deadline = started + args.seconds
        done = asyncio.Event()

        async def sampler() -> None:
            while not done.is_set() and time.perf_counter() < deadline + 5:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), args.sample_seconds)
                if not done.is_set():
                    for server in servers:
                        server.sample(time.perf_counter() - started)

        sampling = asyncio.create_task(sampler())
        await asyncio.gather(*(c.run(deadline, cap, think) for c in clients))
        elapsed = time.perf_counter() - started
        done.set()
        await sampling
        for server in servers:
            server.sample(elapsed)
            server.cpu_end = cpu_seconds(server.proc.pid)
        return [c.stats for c in clients], elapsed, warm_5xx
    finally:
        for c in clients:
            await c.pool.close()


# -------------------------------------------------------------------------------------------- report


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1] * 1000


def merge(parts: list[Stats]) -> Stats:
    total = Stats()
    for s in parts:
        for e in ENDPOINTS:
            total.latencies[e] += s.latencies[e]
            total.statuses[e] += s.statuses[e]
        total.transport += s.transport
        total.locked_bodies += s.locked_bodies
        total.refusals = {**s.refusals, **total.refusals}
        total.failures += s.failures[: max(0, 5 - len(total.failures))]
    return total


def log_counts(path: Path) -> tuple[int, int, int, str]:
    """(``database is locked``, tracebacks, ``unhandled error`` lines, the first traceback) in a server log."""
    text = path.read_text(errors="replace") if path.exists() else ""
    first = ""
    if (at := text.find("Traceback")) >= 0:
        first = text[max(0, text.rfind("\n", 0, max(0, at - 300)) + 1) : at + 3000]
    return (
        len(LOCKED.findall(text.encode())),
        text.count("Traceback (most recent call last)"),
        text.count("unhandled error"),
        first,
    )


def report(
    backend: str, servers: list[Server], total: Stats, elapsed: float, warm_5xx: int, args: argparse.Namespace
) -> dict[str, Any]:
    print(f"\n{'endpoint':<26}{'requests':>9}{'req/s':>8}{'2xx':>8}{'4xx':>6}{'5xx':>5}"
          f"{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}  4xx by status")  # fmt: skip
    everything: list[float] = []
    statuses: Counter = Counter()
    for e in ENDPOINTS:
        lat, counts = total.latencies[e], total.statuses[e]
        everything += lat
        statuses += counts
        n = sum(counts.values())
        ok = sum(v for k, v in counts.items() if k < 400)
        c4 = {k: v for k, v in sorted(counts.items()) if 400 <= k < 500}
        c5 = sum(v for k, v in counts.items() if k >= 500)
        detail = ", ".join(f"{k}: {v}" for k, v in c4.items()) or "-"
        print(
            f"{e:<26}{n:>9}{n / elapsed:>8.1f}{ok:>8}{sum(c4.values()):>6}{c5:>5}"
            f"{pct(lat, 50):>8.1f}{pct(lat, 90):>8.1f}{pct(lat, 99):>8.1f}{max(lat, default=0) * 1000:>8.0f}  {detail}"
        )
    n = sum(statuses.values())
    n5 = sum(v for k, v in statuses.items() if k >= 500)
    p99 = pct(everything, 99)
    print(
        f"{'all':<26}{n:>9}{n / elapsed:>8.1f}{sum(v for k, v in statuses.items() if k < 400):>8}"
        f"{sum(v for k, v in statuses.items() if 400 <= k < 500):>6}{n5:>5}"
        f"{pct(everything, 50):>8.1f}{pct(everything, 90):>8.1f}{p99:>8.1f}{max(everything, default=0) * 1000:>8.0f}"
    )
    print("status counts: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    transport = sum(total.transport.values())
    if transport:
        print("connection errors: " + ", ".join(f"{k} x {v}" for k, v in total.transport.most_common(10)))
    for (endpoint, status), body in sorted(total.refusals.items()):
        print(f"  e.g. {endpoint} -> {status}: {body!r}")
    for line in total.failures:
        print(f"  5xx: {line}")
    if warm_5xx:
        print(f"  (warm-up, not counted above: {warm_5xx} x 5xx)")

    locked_logs, tracebacks, unhandled = 0, 0, 0
    growths = []
    for s in servers:
        locked, tb, unh, first = log_counts(s.log_path)
        locked_logs, tracebacks, unhandled = locked_logs + locked, tracebacks + tb, unhandled + unh
        start_kib, end_kib = s.rss[0][1], s.rss[-1][1]
        peak = max(v for _, v in s.rss)
        half = [v for t, v in s.rss if t >= elapsed / 2]
        growth = (end_kib - start_kib) / start_kib * 100
        growths.append(growth)
        cpu = (
            f"; server CPU {s.cpu_end - s.cpu_start:.0f} s in {elapsed:.0f} s"
            if s.cpu_start is not None and s.cpu_end is not None
            else ""
        )
        alive = "" if s.proc.poll() is None else f"; EXITED with {s.proc.returncode}"
        print(
            f"server {s.name} (pid {s.proc.pid}, :{s.port}) VmRSS: start {start_kib / 1024:.1f} MB (after warm-up) -> "
            f"end {end_kib / 1024:.1f} MB ({growth:+.1f}%), peak {peak / 1024:.1f} MB, second half "
            f"{min(half) / 1024:.1f}-{max(half) / 1024:.1f} MB{cpu}{alive}"
        )
        step = max(1, len(s.rss) // 12)
        print("  samples (s: MB): " + "  ".join(f"{t:.0f}: {v / 1024:.1f}" for t, v in s.rss[::step]))
        print(f"  log: {locked} x 'database is locked', {tb} tracebacks, {unh} 'unhandled error'")
        if first:
            print("  first traceback in the log:\n    " + first.strip().replace("\n", "\n    ")[:3000])
        elif n5 and (tail := s.log_path.read_text(errors="replace").strip()[-2000:]):
            print("  log tail:\n    " + tail.replace("\n", "\n    "))
    dead = [s for s in servers if s.proc.poll() is not None]
    worst = max(growths)
    ok5 = n5 == 0 and transport == 0 and not dead
    oklock = locked_logs == 0 and total.locked_bodies == 0
    okrss = worst <= args.rss_growth
    print(f"verdicts ({backend}, {args.clients} clients, {elapsed:.0f} s measured after {args.warmup:.0f} s warm-up):")
    print(
        f"  zero 5xx, connection errors and server exits: {'PASS' if ok5 else 'MISS'} "
        f"({n5} x 5xx, {transport} connection errors, {len(dead)} servers exited; {tracebacks} tracebacks in logs)"
    )
    print(
        f"  zero 'database is locked': {'PASS' if oklock else 'MISS'} "
        f"({locked_logs} in server logs, {total.locked_bodies} in response bodies)"
    )
    print(
        f"  server RSS growth start->end <= {args.rss_growth:g}%: {'PASS' if okrss else 'MISS'} ({worst:+.1f}% worst)"
    )
    worst_e = max(ENDPOINTS, key=lambda e: pct(total.latencies[e], 99) if total.latencies[e] else -1)
    little = args.clients / (n / elapsed) * 1000 - args.think_ms if n else float("nan")
    print(
        f"  p99 over all requests: {p99:.1f} ms (p50 {pct(everything, 50):.1f} ms); "
        f"slowest endpoint p99: {worst_e} {pct(total.latencies[worst_e], 99):.1f} ms"
    )
    print(
        f"  (a closed loop: mean latency ~ {args.clients} clients / {n / elapsed:.1f} req/s - think time "
        f"= {little:.0f} ms by Little's law, so the latencies are the server's throughput seen from one client)"
    )
    return {
        "backend": backend,
        "requests": n,
        "rps": n / elapsed,
        "5xx": n5 + transport,
        "locked": locked_logs + total.locked_bodies,
        "rss": worst,
        "p99": p99,
        "verdict": "PASS" if ok5 and oklock and okrss else "MISS",
    }


# ---------------------------------------------------------------------------------------------- main


@contextlib.contextmanager
def backend_database(script: str, backend: str, args: argparse.Namespace) -> Iterator[Prepared | None]:
    """The roster built on SQLite in a fresh temporary directory and, for ``postgres``, copied into a
    throwaway database on ``--database-url`` (None when it cannot be created), with its keys; the database
    dropped and the directory removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix=f"roster-bench-{script}-{backend}-"))
    pg_name: str | None = None
    try:
        t0 = time.perf_counter()
        db_path = tmp / "roster.db"
        sqlite_settings = dataclasses.replace(Settings(), database_url=f"sqlite:///{db_path}", data_dir=tmp)
        roster = build_sqlite(db_path, sqlite_settings, args)
        settings = sqlite_settings
        if backend == "postgres":
            name = f"roster_bench_{script}_{uuid.uuid4().hex[:10]}"
            try:
                asyncio.run(_pg(args.database_url, f'CREATE DATABASE "{name}"'))
            except Exception as exc:
                print(f"\n=== {backend}: skipped, cannot create a database on {args.database_url}: {exc}")
                yield None
                return
            pg_name = name
            base, _, _ = args.database_url.rpartition("/")
            settings = dataclasses.replace(Settings(), database_url=f"{base}/{name}", data_dir=tmp)
            migrate_database(settings)
            asyncio.run(copy_to(sqlite_settings, settings))
        keys = asyncio.run(create_keys(settings))
        yield Prepared(tmp, roster, settings, keys, time.perf_counter() - t0)
    finally:
        if pg_name is not None:
            try:
                asyncio.run(_pg(args.database_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            except Exception as exc:
                print(f"could not drop database {pg_name}: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)


@dataclasses.dataclass
class Prepared:
    """A backend's database, ready to serve (:func:`backend_database`)."""

    tmp: Path
    roster: Roster
    settings: Settings
    keys: dict[str, str]
    setup: float


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any] | None:
    servers: list[Server] = []
    with backend_database("soak", backend, args) as prepared:
        if prepared is None:
            return None
        tmp, roster, settings, keys, setup = (
            prepared.tmp,
            prepared.roster,
            prepared.settings,
            prepared.keys,
            prepared.setup,
        )
        try:
            replicas = 2 if backend == "sqlite-2replicas" else 1
            for i in range(replicas):
                port = roster_bench.free_port()
                log_path = tmp / f"server-{i + 1}.log"
                proc = start_server(settings.database_url, port, log_path, tmp)
                servers.append(Server(f"replica {i + 1}" if replicas > 1 else "", port, proc, log_path))
            ready = max(roster_bench.wait_healthy(f"http://127.0.0.1:{s.port}", s.proc, s.log_path) for s in servers)
            where = "PostgreSQL" if backend == "postgres" else "SQLite, one file"
            print(
                f"\n=== {backend}: {replicas} uvicorn process{'es' if replicas > 1 else ''} on {where}; "
                f"{args.physicians} physicians, {roster.licenses} licenses, certifications, 5000 open assignments; "
                f"setup {setup:.1f} s, ready {ready:.1f} s; load average {os.getloadavg()[0]:.2f}"
            )
            print(
                f"{args.clients} clients ({'split between the replicas' if replicas > 1 else 'one connection each'}), "
                f"think time {args.think_ms:g} ms, {args.warmup:.0f} s warm-up then {args.seconds:.0f} s measured; "
                f"mix {','.join(f'{k}={v:g}' for k, v in args.mix.items())}"
            )
            stats, elapsed, warm_5xx = asyncio.run(drive(servers, keys, roster, args))
            print(
                f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores shared with the load generator and others)"
            )
            return report(backend, servers, merge(stats), elapsed, warm_5xx, args)
        finally:
            for s in servers:
                roster_bench.stop_server(s.proc)


def checked_mix_and_backends(
    parser: argparse.ArgumentParser, args: argparse.Namespace, actions: Any, backends: Any
) -> list[str]:
    """``--mix`` parsed into ``args.mix`` (actions with a positive weight) and ``--backends`` into a list,
    each checked against what the script knows (``parser.error`` otherwise)."""
    try:
        mix = {name.strip(): float(w) for name, _, w in (part.partition("=") for part in args.mix.split(","))}
    except ValueError:
        parser.error("--mix: name=weight,...")
    if set(mix) - {name for name, _ in actions} or not any(w > 0 for w in mix.values()):
        parser.error(f"--mix: actions are {', '.join(name for name, _ in actions)}, with a positive weight")
    args.mix = {k: v for k, v in mix.items() if v > 0}
    chosen = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(chosen) - set(backends):
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    return chosen


def run_backends(
    script: str, backends: list[str], run_backend: Any, args: argparse.Namespace
) -> list[dict[str, Any]] | None:
    """``run_backend`` for each backend in turn: the summary rows of those that ran, None on Ctrl-C."""
    roster_bench.interruptible()
    print(
        f"roster bench/{script}.py  python {sys.version.split()[0]}  cpus {os.cpu_count()}  "
        f"backends {','.join(backends)}"
    )
    rows = []
    for backend in backends:
        try:
            if (row := run_backend(backend, args)) is not None:
                rows.append(row)
        except KeyboardInterrupt:
            print("\ninterrupted; servers stopped, temporary files and databases removed")
            return None
        except Exception as exc:
            print(f"\n=== {backend}: FAILED to run: {type(exc).__name__}: {exc}")
    return rows


def main() -> int:
    parser = parser_for(__doc__)
    parser.epilog = (
        "Verdicts (printed, never the exit status): zero 5xx, connection errors and server exits; zero "
        "'database is locked' in server logs and response bodies; each server's VmRSS at the end within "
        "--rss-growth percent of its VmRSS after warm-up; the p99 is printed, not judged."
    )
    parser.add_argument("--seconds", type=float, default=600.0, help="measured seconds per backend (default 600)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients, one connection each")
    parser.add_argument("--physicians", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help=f"comma-separated, run in order (default {','.join(BACKENDS)})"
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server URL; a throwaway database is created there and dropped")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of the same load before RSS is taken")
    parser.add_argument("--think-ms", type=float, default=0.0, help="mean pause between a client's actions (ms)")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="RSS sampling interval")
    parser.add_argument(
        "--rss-growth", type=float, default=10.0, help="RSS threshold: end within this %% of start (default 10)"
    )
    parser.add_argument(
        "--mix",
        default=",".join(f"{name}={weight}" for name, weight in ACTIONS),
        help="relative weights of a client's actions (default %(default)s)",
    )
    args = parser.parse_args()
    backends = checked_mix_and_backends(parser, args, ACTIONS, BACKENDS)
    if args.seconds <= 0 or args.clients < 1 or args.physicians < 10 or args.warmup < 0 or args.sample_seconds <= 0:
        parser.error("--seconds, --clients, --sample-seconds must be positive, --physicians >= 10, --warmup >= 0")
    rows = run_backends("soak", backends, run_backend, args)
    if rows is None:
        return 130
    if rows:
        print(
            f"\n{'backend':<18}{'requests':>9}{'req/s':>8}{'5xx+conn':>9}{'locked':>7}{'RSS %':>7}{'p99 ms':>8}"
            "  verdict"
        )
        for r in rows:
            print(
                f"{r['backend']:<18}{r['requests']:>9}{r['rps']:>8.1f}{r['5xx']:>9}{r['locked']:>7}"
                f"{r['rss']:>+7.1f}{r['p99']:>8.1f}  {r['verdict']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
