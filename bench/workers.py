"""Two ``roster worker`` processes on one database: no duplicate alerts, and failover after ``kill -9``.

Run as a script from the repository root with the project venv (a repeatable fault script, not a timed test)::

    python bench/workers.py [--physicians 2000] [--kills 3] [--standby-seconds 5] [--sweep-every 3]
                            [--observe 10] [--rounds 3] [--concurrent 2] [--seed 7]
                            [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Without ``--database-url`` the database is SQLite in a temporary directory (leader lock: ``flock`` on a file
beside it); with one (a server URL) it is a throwaway PostgreSQL database created there and dropped at the end
(leader lock: a session advisory lock). It migrates and bulk-loads ``bench/sweep.py``'s synthetic roster
(``--physicians``, twice as many licenses, as many certifications, dates spread so that every alert threshold
occurs), then:

1. **Two workers, one sweep.** Starts two ``roster worker`` processes with ``ROSTER_SCHEDULE_EXPIRATION_SWEEP``
   every ``--sweep-every`` seconds (a 6-field cron; every other job ``off``, so nothing leaves the machine) and
   ``ROSTER_WORKER_STANDBY_SECONDS=--standby-seconds``; after ``--observe`` seconds it counts the alerts,
   the distinct (kind, subject, threshold) keys among them and the alerts due (the sweep's own ``due_alerts``,
   in process), the sweep runs in ``job_run``, runs that overlap in time, and the job lines each worker logged
   (the standby must log none).
2. **Failover.** ``--kills`` times: ``SIGKILL`` the leader (alternately while a sweep is recorded running and
   between sweeps), time from the kill to the standby's ``leader:`` log line (stamped as the line arrives) and
   to its first sweep in ``job_run``, compare with ``ROSTER_WORKER_STANDBY_SECONDS``, check that no run is
   left ``running`` (the new leader closes a dead leader's runs), then restart the killed worker as the new
   standby. Alerts are counted again at the end.
3. **Forced concurrent sweeps.** Workers stopped, alerts deleted, then ``--concurrent`` processes call
   ``roster.alerts.sweep.sweep(today)`` directly (no leader lock, no ``job_run``) released at the same instant,
   ``--rounds`` times: the alerts raised by all of them must add up to the alerts due, with no key twice —
   the database's unique (kind, subject_id, threshold) key is what keeps them single.

It prints one table per part and a verdict line each; exit status 1 if any check fails. Workers, temporary
files and the database are removed at the end, even on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg

from api import interruptible, stop_server  # bench/api.py: signal handling and stopping a process group
from options import parser_for
from roster.cli import migrate_database
from roster.config import Settings
from roster.db.engine import postgres_config, sqlite_path

REPO = Path(__file__).resolve().parent.parent
JOB = "expiration_sweep"
OTHER_JOBS = ("LIST_REFRESH", "NPPES_REVERIFY", "ALERT_DIGEST", "WEBHOOK_DELIVERY")
LEADER = re.compile(r"jobs\.worker: leader: scheduling")
STANDBY = re.compile(r"jobs\.worker: standby:")
JOB_LINE = re.compile(rf"jobs\.worker: (job|caught up) {JOB}")
CLOSED = re.compile(r"closed (\d+) run\(s\) left running")


# ------------------------------------------------------------------------------------------- database


async def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(sqlite_path(url), timeout=30)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.commit()
            conn.close()
    conn = await asyncpg.connect(**postgres_config(url))
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    return asyncio.run(_query(url, sql))


def alert_counts(url: str) -> tuple[int, int]:
    """(alerts, distinct (kind, subject_type, subject_id, threshold) among them)."""
    total, distinct = query(
        url,
        "SELECT count(*), count(DISTINCT kind || '|' || subject_type || '|' || subject_id || '|' || threshold)"
        " FROM alert",
    )[0]
    return int(total), int(distinct)


def _ts(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Run:
    id: str
    trigger: str
    started: datetime
    finished: datetime | None
    outcome: str
    error: str | None


def job_runs(url: str) -> list[Run]:
    rows = query(
        url,
        f"SELECT id, trigger, started_at, finished_at, outcome, error FROM job_run WHERE job = '{JOB}'"
        " ORDER BY started_at",
    )
    return [Run(str(r[0]), r[1], _ts(r[2]), _ts(r[3]), r[4], r[5]) for r in rows]  # type: ignore[arg-type]


def overlapping(runs: list[Run]) -> int:
    """Pairs of sweep runs whose [started, finished] intervals overlap (two leaders, or a lock bypassed)."""
    now = datetime.now(UTC)
    pairs = 0
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            if a.started < (b.finished or now) and b.started < (a.finished or now):
                pairs += 1
    return pairs


def due_count(settings: Settings) -> int:
    from roster.alerts.sweep import due_alerts
    from roster.db import close_engine, open_engine

    async def work() -> int:
        engine = await open_engine(settings, pool=False)
        try:
            due, _ = await due_alerts(date.today())
            return len({(a.kind, str(a.subject_id), a.threshold) for a in due})
        finally:
            await close_engine(engine)

    return asyncio.run(work())


def seed(settings: Settings, physicians: int, seed_value: int) -> None:
    """``bench/sweep.py``'s synthetic roster, bulk-loaded."""
    import sweep as sweep_bench  # bench/sweep.py
    from roster.db import close_engine, open_engine

    async def work() -> None:
        engine = await open_engine(settings)
        try:
            rng = random.Random(seed_value)
            today, now = date.today(), datetime.now(UTC)
            doctors = sweep_bench.physicians(rng, physicians, today, now)
            await sweep_bench.load(sweep_bench.Physician, doctors)
            await sweep_bench.load(sweep_bench.License, sweep_bench.licenses(rng, doctors, 2 * physicians, today, now))
            certifications = sweep_bench.certifications(rng, doctors, physicians, today, now)
            await sweep_bench.load(sweep_bench.Certification, certifications)
        finally:
            await close_engine(engine)

    asyncio.run(work())


# -------------------------------------------------------------------------------------------- workers


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log_path: Path
    lines: list[tuple[float, str]] = field(default_factory=list)
    arrived: queue.Queue[tuple[float, str]] = field(default_factory=queue.Queue)

    def pump(self) -> None:
        """Reader thread: stamp each log line with ``time.monotonic()`` as it arrives."""
        assert self.proc.stdout is not None
        with self.log_path.open("a") as log:
            for raw in self.proc.stdout:
                line = raw.rstrip("\n")
                stamped = (time.monotonic(), line)
                self.lines.append(stamped)
                self.arrived.put(stamped)
                log.write(line + "\n")

    def wait_for(self, pattern: re.Pattern[str], after: float, limit: float) -> float | None:
        """Monotonic arrival time of the first line matching ``pattern`` that arrived after ``after``."""
        for stamp, line in list(self.lines):
            if stamp > after and pattern.search(line):
                return stamp
        deadline = time.monotonic() + limit
        while (left := deadline - time.monotonic()) > 0:
            try:
                stamp, line = self.arrived.get(timeout=left)
            except queue.Empty:
                break
            if stamp > after and pattern.search(line):
                return stamp
            if self.proc.poll() is not None and self.arrived.empty():
                break
        return None

    def count(self, pattern: re.Pattern[str], after: float = 0.0, before: float = float("inf")) -> int:
        return sum(1 for stamp, line in list(self.lines) if after < stamp < before and pattern.search(line))

    def tail(self) -> str:
        return "\n".join(line for _, line in self.lines[-30:])


class Pool:
    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.workers: list[Worker] = []
        self.serial = 0

    def start(self) -> Worker:
        self.serial += 1
        cmd = [sys.executable, "-c", "from roster.cli import main; main()", "worker"]
        proc = subprocess.Popen(
            cmd,
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own process group: kill -9 reaches it and nothing else
        )
        worker = Worker(f"w{self.serial}", proc, self.tmp / f"worker-{self.serial}.log")
        threading.Thread(target=worker.pump, daemon=True).start()
        self.workers.append(worker)
        return worker

    def kill9(self, worker: Worker) -> float:
        try:
            os.killpg(worker.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        killed = time.monotonic()
        worker.proc.wait(timeout=30)
        self.workers.remove(worker)
        return killed

    def stop_all(self) -> None:
        for worker in list(self.workers):
            stop_server(worker.proc)
            self.workers.remove(worker)


def expect(worker: Worker, pattern: re.Pattern[str], after: float, limit: float, what: str) -> float:
    stamp = worker.wait_for(pattern, after, limit)
    if stamp is None:
        raise RuntimeError(f"{worker.name}: no '{what}' line within {limit:.0f} s; its log:\n{worker.tail()}")
    return stamp


def table(head: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    print("  ".join(str(h).ljust(w) for h, w in zip(head, widths, strict=True)))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


# ------------------------------------------------------------------------------------------------ parts


def part_two_workers(url: str, pool: Pool, args: argparse.Namespace, due: int) -> tuple[bool, Worker, Worker]:
    started = time.monotonic()
    first = pool.start()
    expect(first, LEADER, started, 60, "leader")
    second = pool.start()
    expect(second, STANDBY, started, 60, "standby")
    observed_from = time.monotonic()
    time.sleep(args.observe)
    observed_to = time.monotonic()
    total, distinct = alert_counts(url)
    runs = job_runs(url)
    pairs = overlapping(runs)
    first_jobs, second_jobs = first.count(JOB_LINE, started), second.count(JOB_LINE, started)
    print(f"\n1. two workers, sweep every {args.sweep_every} s, observed {observed_to - observed_from:.1f} s")
    table(
        ("alerts due", "alerts", "distinct keys", "sweep runs", "overlapping runs", "job log lines w1/w2"),
        [(due, total, distinct, len(runs), pairs, f"{first_jobs}/{second_jobs}")],
    )
    ok = total == distinct == due and pairs == 0 and second_jobs == 0 and first_jobs > 0
    print(
        f"verdict: {'PASS' if ok else 'FAIL'} (alerts = distinct = due, no overlapping runs, the standby ran nothing)"
    )
    return ok, first, second


def part_failover(url: str, pool: Pool, args: argparse.Namespace, leader: Worker, standby: Worker, due: int) -> bool:
    interval = args.standby_seconds
    rows, ok = [], True
    rng = random.Random(args.seed)
    for n in range(args.kills):
        mid_sweep = n % 2 == 0
        if mid_sweep:  # wait (bounded) for a sweep recorded as running, then kill the leader in it
            point = "between sweeps (no running sweep seen)"
            for _ in range(int(4 * args.sweep_every / 0.01) + 1):
                if query(url, f"SELECT count(*) FROM job_run WHERE job = '{JOB}' AND outcome = 'running'")[0][0]:
                    point = "mid-sweep"
                    break
                time.sleep(0.01)
        else:
            point = "between sweeps"
            time.sleep(rng.uniform(0.2, args.sweep_every))
        wall_kill = datetime.now(UTC)
        killed = pool.kill9(leader)
        took = standby.wait_for(LEADER, killed, interval * 3 + 30)
        takeover = took - killed if took is not None else None
        first_run = None
        for _ in range(int((interval * 3 + 30) / 0.05)):
            fresh = [r for r in job_runs(url) if r.started > wall_kill]
            if fresh:
                first_run = (fresh[0].started - wall_kill).total_seconds()
                break
            time.sleep(0.05)
        time.sleep(0.5)  # the new leader's catch-up and first scheduled runs settle
        closed = sum(int(m.group(1)) for t, line in list(standby.lines) if t > killed and (m := CLOSED.search(line)))
        stale = [
            r for r in job_runs(url) if r.outcome == "running" and r.started <= wall_kill
        ]  # a dead leader's run still open
        within = takeover is not None and takeover <= interval + 1.0
        ok = ok and within and not stale
        rows.append(
            (
                n + 1,
                point,
                f"{takeover:.2f} s" if takeover is not None else "none",
                f"{first_run:.2f} s" if first_run is not None else "none",
                f"{interval:g} s",
                "yes" if within else "NO",
                closed,
                len(stale),
            )
        )
        restarted = time.monotonic()
        leader, standby = standby, pool.start()
        expect(standby, STANDBY, restarted, 60, "standby")
    total, distinct = alert_counts(url)
    runs = job_runs(url)
    pairs = overlapping(runs)
    print(f"\n2. failover: kill -9 of the leader, ROSTER_WORKER_STANDBY_SECONDS={interval:g}")
    table(
        (
            "kill",
            "when",
            "takeover",
            "first sweep after kill",
            "standby interval",
            "within interval + 1 s",
            "dead leader's runs closed",
            "runs left running",
        ),
        rows,
    )
    print(
        f"after the kills: alerts {total}, distinct keys {distinct}, due {due}; sweep runs {len(runs)} "
        f"({sum(r.outcome == 'succeeded' for r in runs)} succeeded, "
        f"{sum(r.outcome != 'succeeded' for r in runs)} other: "
        f"{sorted({(r.outcome, r.error) for r in runs if r.outcome != 'succeeded'}, key=str)}), "
        f"overlapping runs {pairs}"
    )
    ok = ok and total == distinct == due and pairs == 0
    print(
        f"verdict: {'PASS' if ok else 'FAIL'} "
        "(each takeover within the interval + 1 s, no run left running, alerts single)"
    )
    return ok


def child_sweep(url: str, start_at: float) -> None:
    """One forced sweep, bypassing the leader lock and job_run, released at wall time ``start_at``."""
    from roster.alerts.sweep import sweep
    from roster.db import close_engine, open_engine

    settings = replace(Settings(), database_url=url)

    async def work() -> dict[str, Any]:
        engine = await open_engine(settings)
        try:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            began = time.time()
            counts = await sweep(date.today())
            return {**counts, "began": began, "ended": time.time()}
        finally:
            await close_engine(engine)

    print(json.dumps(asyncio.run(work())))


def part_concurrent(url: str, args: argparse.Namespace, due: int) -> bool:
    rows, ok = [], True
    for n in range(args.rounds):
        query(url, "DELETE FROM alert")
        start_at = time.time() + 3.0  # time for every child to import and connect first
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--child-sweep", url, str(start_at)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            for _ in range(args.concurrent)
        ]
        results, errors = [], []
        try:
            for proc in procs:
                out, err = proc.communicate(timeout=300)
                if proc.returncode:
                    errors.append(err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}")
                else:
                    results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        total, distinct = alert_counts(url)
        raised = [r["raised"] for r in results]
        spans = [(r["began"], r["ended"]) for r in results]
        overlap = max(0.0, min(e for _, e in spans) - max(b for b, _ in spans)) if len(spans) > 1 else 0.0
        good = not errors and sum(raised) == due == total == distinct
        ok = ok and good
        rows.append(
            (
                n + 1,
                " + ".join(map(str, raised)) + f" = {sum(raised)}",
                due,
                total,
                distinct,
                f"{overlap:.2f} s",
                "; ".join(errors) or "-",
                "ok" if good else "FAIL",
            )
        )
    print(f"\n3. {args.concurrent} sweeps forced at the same instant (no leader lock), {args.rounds} round(s)")
    table(("round", "raised by each", "due", "alerts", "distinct keys", "sweeps overlapped", "errors", "check"), rows)
    print(f"verdict: {'PASS' if ok else 'FAIL'} (raised adds up to due, every alert once)")
    return ok


# ------------------------------------------------------------------------------------------------ main


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(**postgres_config(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child-sweep":
        child_sweep(sys.argv[2], float(sys.argv[3]))
        return 0
    parser = parser_for(__doc__)
    parser.add_argument("--physicians", type=int, default=2000, help="roster size (2x licenses, 1x certifications)")
    parser.add_argument("--kills", type=int, default=3, help="leader kills in part 2")
    parser.add_argument("--standby-seconds", type=float, default=5.0, help="ROSTER_WORKER_STANDBY_SECONDS")
    parser.add_argument("--sweep-every", type=int, default=3, help="seconds between scheduled sweeps")
    parser.add_argument("--observe", type=float, default=10.0, help="seconds both workers run in part 1")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of forced concurrent sweeps")
    parser.add_argument("--concurrent", type=int, default=2, help="sweeping processes per round")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="a PostgreSQL server URL; a throwaway database is created there")
    args = parser.parse_args()
    if not (1 <= args.sweep_every <= 59) or args.physicians < 1 or args.kills < 0 or args.concurrent < 1:
        parser.error("--sweep-every must be 1..59, --physicians and --concurrent positive, --kills >= 0")

    interruptible()
    tmp = Path(tempfile.mkdtemp(prefix="roster-bench-workers-"))
    pg_name = None
    pool: Pool | None = None
    try:
        if args.database_url:
            pg_name = f"roster_workers_{uuid.uuid4().hex[:10]}"
            asyncio.run(_admin(args.database_url, f'CREATE DATABASE "{pg_name}"'))
            url = f"{args.database_url.rpartition('/')[0]}/{pg_name}"
        else:
            url = f"sqlite:///{tmp / 'roster.db'}"
        settings = replace(Settings(), database_url=url, data_dir=tmp / "data")
        began = time.perf_counter()
        migrate_database(settings)
        seed(settings, args.physicians, args.seed)
        due = due_count(settings)
        backend = "SQLite (flock leader lock)" if settings.is_sqlite else "PostgreSQL (advisory leader lock)"
        print(f"roster bench/workers.py  python {sys.version.split()[0]}  cpus {os.cpu_count()}  {backend}")
        print(
            f"roster: {args.physicians} physicians, {2 * args.physicians} licenses, {args.physicians} certifications; "
            f"{due} alerts due today (setup {time.perf_counter() - began:.1f} s)"
        )
        env = {
            **os.environ,
            "ROSTER_DATABASE_URL": url,
            "ROSTER_DATA_DIR": str(tmp / "data"),
            "ROSTER_WORKER_STANDBY_SECONDS": f"{args.standby_seconds:g}",
            "ROSTER_SCHEDULE_EXPIRATION_SWEEP": f"*/{args.sweep_every} * * * * *",
            **{f"ROSTER_SCHEDULE_{job}": "off" for job in OTHER_JOBS},
            "ROSTER_LEIE_URL": "",
        }
        pool = Pool(env, tmp)
        ok, leader, standby = part_two_workers(url, pool, args, due)
        if args.kills:
            ok = part_failover(url, pool, args, leader, standby, due) and ok
        pool.stop_all()
        ok = part_concurrent(url, args, due) and ok
        return 0 if ok else 1
    finally:
        if pool is not None:
            pool.stop_all()
        if pg_name is not None:
            asyncio.run(_admin(args.database_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
