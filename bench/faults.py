"""Crash faults: ``kill -9`` of the API server in the middle of a bulk import, a screening run and a manual job run.

Run as a script from the repository root with the project venv (a repeatable fault script, not a timed test)::

    python bench/faults.py [--rows 20000] [--kills 6] [--seed 7] [--scenario import|screening|job ...]
                           [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Without ``--database-url`` every database is SQLite in a temporary directory; with one (a server URL) the
databases are throwaway PostgreSQL databases created there and dropped at the end. Setup, once:

* a template database: migrated, a base roster imported through ``roster.imports.service`` (``--rows / 8``
  physicians, each with two licenses and a board certification, written by ``bench/import.py``'s generator),
  list snapshots loaded (the sample LEIE ``UPDATED.csv`` and SAM extract from ``fixtures/lists/``, and a
  generated CMS Preclusion List naming half of the roster's NPIs, so a run has many hits to write), an admin key;
* the import file: ``--rows`` rows (``--rows / 4`` physicians: the base ones with other names, dates and
  licenses, i.e. updates and new credentials, and as many new ones), another seed of the same generator.

Each scenario (``POST /api/v1/imports/roster`` with that file; ``POST /api/v1/screening/runs`` over every
list; ``POST /api/v1/jobs/expiration_sweep/run?wait=true``, a manual job run) first runs once to completion on
a fresh copy of the template (the reference: its duration, when its write transaction was first seen open, the
counts after it). Then, per kill point, on a fresh copy: start ``roster serve`` in a subprocess, take the
counts, send the call, ``SIGKILL`` the server's process group at the kill point, start ``roster serve`` again
(which migrates first, as it always does), and take the counts again. Kill points, in this order (``--kills
N`` takes the first N; past the list, random points):

* ``10%`` / ``50%`` / ``90%``: that fraction of the reference call's duration after the request was sent;
* ``tx open``: as soon as the write transaction is seen open (SQLite: another connection's
  ``BEGIN IMMEDIATE`` is refused; PostgreSQL: a backend of the database holds a transaction id, i.e. has
  written; the job: its ``job_run`` row is committed as ``running``), polled every 5 ms;
* ``tx +50%`` / ``tx +90%``: that far into the write window the reference measured (first seen open -> response).

The verdict compares the counts after the restart (physicians, licenses, certifications, record versions,
audit events, alerts, screening runs and hits, snapshots, job runs, keys, the roster version counter) with the
counts before the call (the restart's own bump of the roster version counter allowed for: ``roster serve``
syncs the reference data, a roster write) and with the reference's counts after a complete call: ``rolled
back`` or ``committed`` (for the job also ``sweep rolled back, its run record kept``: a manual run commits its
``job_run`` row and audit event before its body runs), anything else is ``PARTIAL``. Invariants are checked
too, each must be 0: records without a current version, current versions without a record, versions left
unstamped (NULL ``roster_version``, set only at commit), audit events of physicians/licenses/certifications !=
versions, screening runs without their audit event or not ``succeeded``, pending hits != their alerts, job
runs left ``running``; on SQLite also ``PRAGMA integrity_check`` and ``foreign_key_check``. It prints the
reference figures and one table: scenario, kill point, when the kill landed, what the client saw, the key
counts before and after the restart, for the job the answer to the same call sent again after the restart
(retried every 2 s while it answers 409: the killed run blocks its job until it has been silent for
``SILENT_AFTER``, then the next start closes it as abandoned; the invariants are read after that), the
verdict. Exit status 1 if any trial is PARTIAL or breaks an invariant. Servers, temporary files and databases
are removed at the end, even on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import hashlib
import importlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from api import free_port, interruptible, stop_server  # bench/api.py: the server helpers every bench shares
from options import parser_for
from roster.cli import migrate_database
from roster.config import Settings
from roster.db.engine import postgres_config, sqlite_path
from roster.scheduling.service import SILENT_AFTER

REPO = Path(__file__).resolve().parent.parent
write_roster = importlib.import_module("import").write_roster  # bench/import.py's roster CSV generator

ACTOR = "bench-faults"
#: Tables whose row counts are compared, and the roster version counter.
TABLES = (
    "physician",
    "license",
    "certification",
    "record_version",
    "audit_event",
    "alert",
    "screening_run",
    "screening_hit",
    "list_snapshot",
    "job_run",
    "api_key",
)
ROSTER_ENTITIES = ("physician", "license", "certification")
#: Counts shown in the table, per scenario (all are compared).
SHOWN = {
    "import": (("phys", "physician"), ("lic", "license"), ("ver", "record_version"), ("audit", "audit_event")),
    "screening": (("runs", "screening_run"), ("hits", "screening_hit"), ("alerts", "alert"), ("audit", "audit_event")),
    "job": (("runs", "job_run"), ("alerts", "alert"), ("audit", "audit_event")),
}
#: What a manual job run commits before its body runs (``start_run``): the run record and its audit event.
RUN_RECORD = {"job_run": 1, "audit_event": 1}
POINTS = (("10%", "call", 0.1), ("50%", "call", 0.5), ("90%", "call", 0.9), ("tx open", "tx", 0.0))
POINTS += (("tx +50%", "tx", 0.5), ("tx +90%", "tx", 0.9))
POLL = 0.005
CALL_TIMEOUT = 600.0


# ------------------------------------------------------------------------------------------ databases


def _invariant_queries() -> dict[str, str]:
    q = {"versions unstamped": "SELECT count(*) FROM record_version WHERE roster_version IS NULL"}
    for entity in ROSTER_ENTITIES:
        q[f"{entity}s without current version"] = (
            f"SELECT count(*) FROM {entity} t WHERE NOT EXISTS (SELECT 1 FROM record_version v"
            f" WHERE v.entity = '{entity}' AND v.entity_id = t.id AND v.recorded_to IS NULL)"
        )
        q[f"current {entity} versions without row"] = (
            f"SELECT count(*) FROM record_version v WHERE v.entity = '{entity}' AND v.recorded_to IS NULL"
            f" AND NOT v.deleted AND NOT EXISTS (SELECT 1 FROM {entity} t WHERE t.id = v.entity_id)"
        )
    entities = ", ".join(f"'{e}'" for e in ROSTER_ENTITIES)
    q["audit events != versions"] = (
        f"SELECT (SELECT count(*) FROM audit_event WHERE entity IN ({entities}))"
        " - (SELECT count(*) FROM record_version)"
    )
    q["runs without audit event"] = (
        "SELECT count(*) FROM screening_run r WHERE NOT EXISTS (SELECT 1 FROM audit_event a"
        " WHERE a.entity = 'screening_run' AND a.entity_id = CAST(r.id AS TEXT))"
    )
    q["runs not succeeded"] = "SELECT count(*) FROM screening_run WHERE status <> 'succeeded'"
    q["pending hits != hit alerts"] = (
        "SELECT (SELECT count(*) FROM screening_hit WHERE status = 'pending')"
        " - (SELECT count(*) FROM alert WHERE subject_type = 'screening_hit')"
    )
    q["job runs left running"] = "SELECT count(*) FROM job_run WHERE outcome = 'running'"
    return q


INVARIANTS = _invariant_queries()


class Backend:
    """Where the template and the per-trial copies live, and how to read them."""

    name = ""

    async def clone(self, label: str) -> str:
        raise NotImplementedError

    async def drop(self, url: str) -> None:
        raise NotImplementedError

    def template_url(self) -> str:
        raise NotImplementedError

    def finish_template(self) -> None:
        """Called once the template is seeded, before the first clone."""

    def cleanup(self) -> None:
        raise NotImplementedError

    async def query(self, url: str, sqls: list[str]) -> list[Any]:
        raise NotImplementedError

    async def tx_poller(self, url: str) -> tuple[Callable[[], Awaitable[bool]], Callable[[], Awaitable[None]]]:
        """(is a write transaction open?, close)."""
        raise NotImplementedError

    async def settle(self, url: str, since: float) -> int:
        """Wait for sessions of a killed server to end; returns how many were still there at first."""
        return 0

    async def integrity(self, url: str) -> str:
        return "n/a"

    async def counts(self, url: str) -> tuple[dict[str, int], dict[str, int]]:
        sqls = [f"SELECT count(*) FROM {t}" for t in TABLES]
        sqls.append("SELECT version FROM roster_version WHERE id = 1")
        sqls += list(INVARIANTS.values())
        values = [int(v or 0) for v in await self.query(url, sqls)]
        names = [*TABLES, "roster_version"]
        return dict(zip(names, values, strict=False)), dict(zip(INVARIANTS, values[len(names) :], strict=True))


class SQLiteBackend(Backend):
    name = "SQLite"

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.template = tmp / "template.db"

    def template_url(self) -> str:
        return f"sqlite:///{self.template}"

    def finish_template(self) -> None:
        conn = sqlite3.connect(self.template, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    async def clone(self, label: str) -> str:
        path = self.tmp / f"{label}-{uuid.uuid4().hex[:6]}.db"
        for suffix in ("", "-wal"):
            source = Path(f"{self.template}{suffix}")
            if source.exists():
                shutil.copyfile(source, f"{path}{suffix}")
        return f"sqlite:///{path}"

    async def drop(self, url: str) -> None:
        path = sqlite_path(url)
        for suffix in ("", "-wal", "-shm", ".worker.lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def cleanup(self) -> None:
        pass  # the temp dir goes

    async def query(self, url: str, sqls: list[str]) -> list[Any]:
        conn = sqlite3.connect(sqlite_path(url), timeout=30)
        try:
            return [conn.execute(sql).fetchone()[0] for sql in sqls]
        finally:
            conn.close()

    async def tx_poller(self, url: str) -> tuple[Callable[[], Awaitable[bool]], Callable[[], Awaitable[None]]]:
        conn = sqlite3.connect(sqlite_path(url), timeout=0, isolation_level=None)

        async def busy() -> bool:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True  # another connection holds the write lock: the server's write transaction
            conn.execute("ROLLBACK")
            return False

        async def close() -> None:
            conn.close()

        return busy, close

    async def integrity(self, url: str) -> str:
        conn = sqlite3.connect(sqlite_path(url), timeout=30)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchall()
            fk = conn.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            conn.close()
        text = "ok" if check == [("ok",)] else "; ".join(str(r[0]) for r in check[:3])
        return text if not fk else f"{text}; {len(fk)} foreign key violation(s)"


class PostgresBackend(Backend):
    name = "PostgreSQL"

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.base = server_url.rpartition("/")[0]
        self.prefix = f"roster_faults_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_template"
        self.made: list[str] = []
        asyncio.run(self._admin(f'CREATE DATABASE "{self.template}"'))
        self.made.append(self.template)

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(**postgres_config(self.server_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def template_url(self) -> str:
        return f"{self.base}/{self.template}"

    async def clone(self, label: str) -> str:
        name = f"{self.prefix}_{label.replace('-', '_')}_{uuid.uuid4().hex[:4]}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.append(name)
        return f"{self.base}/{name}"

    async def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.made:
            self.made.remove(name)

    def cleanup(self) -> None:
        for name in list(self.made):
            try:
                asyncio.run(self.drop(f"{self.base}/{name}"))
            except Exception as exc:  # keep dropping the others
                print(f"could not drop {name}: {exc!r}", file=sys.stderr)

    async def query(self, url: str, sqls: list[str]) -> list[Any]:
        conn = await asyncpg.connect(**postgres_config(url))
        try:
            return [await conn.fetchval(sql) for sql in sqls]
        finally:
            await conn.close()

    async def tx_poller(self, url: str) -> tuple[Callable[[], Awaitable[bool]], Callable[[], Awaitable[None]]]:
        conn = await asyncpg.connect(**postgres_config(url))
        name = url.rpartition("/")[2]

        async def busy() -> bool:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_xid IS NOT NULL"
                    " AND pid <> pg_backend_pid()",
                    name,
                )
            )

        async def close() -> None:
            await conn.close()

        return busy, close

    async def settle(self, url: str, since: float) -> int:
        """The killed server's sessions end when their backends next touch the socket; wait for that, so the
        counts read are final (a backend still running a statement of the dead server finishes it first)."""
        name = url.rpartition("/")[2]
        conn = await asyncpg.connect(**postgres_config(self.server_url))
        try:
            first = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                left = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
                    " AND backend_start < to_timestamp($2) AND pid <> pg_backend_pid()",
                    name,
                    since,
                )
                first = left if first is None else first
                if not left:
                    break
                await asyncio.sleep(0.1)
            return int(first or 0)
        finally:
            await conn.close()


# ------------------------------------------------------------------------------------------- setup


def preclusion_csv(base_roster: Path, path: Path, share: float) -> int:
    """A CMS Preclusion List (default layout) naming the first ``share`` of the roster's physicians."""
    with base_roster.open(newline="") as f:
        people = [r for r in csv.DictReader(f) if r["record"] == "physician"]
    listed = people[: max(1, int(len(people) * share))]
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(
            [
                *("NPI", "Last Name", "First Name", "Middle Name", "Business Name", "Provider Type"),
                *("Effective Date", "Claim Denial Date", "Reason"),
            ]
        )
        start = date.today() - timedelta(days=200)
        for p in listed:
            denial = (start + timedelta(days=90)).isoformat()
            name = (p["last_name"].upper(), p["first_name"].upper(), "", "")
            w.writerow([p["npi"], *name, "Physician", start.isoformat(), denial, "Revoked with re-enrollment bar"])
    return len(listed)


def seed_template(settings: Settings, base_roster: Path, lists: list[tuple[str, Path]]) -> str:
    """Migrate, import the base roster, load the list snapshots, create an admin key; returns the key."""
    from roster.db import close_engine, open_engine
    from roster.imports.service import import_roster
    from roster.keys.service import create_key
    from roster.screening.service import list_dir, load_snapshot

    migrate_database(settings)

    async def work() -> str:
        engine = await open_engine(settings)
        try:
            await import_roster(base_roster.read_bytes(), file_name=base_roster.name, dry_run=False, actor=ACTOR)
            for source, path in lists:
                staged = list_dir(settings.data_dir, source) / f"staged-{uuid.uuid4().hex}"
                shutil.copyfile(path, staged)  # load_snapshot consumes the staged file
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
                await load_snapshot(
                    source, staged, sha, file_name=path.name, origin="upload", settings=settings, actor=ACTOR
                )
            return (await create_key(name=ACTOR, role="admin", actor=ACTOR)).key
        finally:
            await close_engine(engine)

    return asyncio.run(work())


# ------------------------------------------------------------------------------------------ server


def start_serve(url: str, data_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    """``roster serve`` (migrate, then uvicorn in this one process) in its own session."""
    env = {**os.environ, "ROSTER_DATABASE_URL": url, "ROSTER_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-c", "from roster.cli import main; main()", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port)]
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO)
    finally:
        log.close()


async def wait_healthy(base: str, proc: subprocess.Popen, log_path: Path, limit: float = 90.0) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.perf_counter() - started < limit:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if (await client.get(f"{base}/health")).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server not healthy after {limit:.0f}s:\n{log_path.read_text()[-3000:]}")


def kill9(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


# --------------------------------------------------------------------------------------- scenarios


@dataclasses.dataclass
class Scenario:
    name: str
    call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
    #: After the restart (counts already taken): the same call again, to see whether the service accepts it.
    again: bool = False
    #: When set, the "tx" kill points wait for this query to count a row instead of for a write transaction.
    busy_sql: str | None = None

    async def poller(
        self, backend: Backend, url: str
    ) -> tuple[Callable[[], Awaitable[bool]], Callable[[], Awaitable[None]]]:
        if self.busy_sql is None:
            return await backend.tx_poller(url)
        sql = self.busy_sql

        async def busy() -> bool:
            return bool((await backend.query(url, [sql]))[0])

        async def close() -> None:
            pass

        return busy, close


@dataclasses.dataclass
class Reference:
    duration: float
    tx_seen: float | None  # seconds after sending when the write transaction was first seen open
    before: dict[str, int]
    after: dict[str, int]
    restart_bump: int
    summary: str


@dataclasses.dataclass
class Trial:
    scenario: str
    point: str
    killed_at: float | None
    client: str
    before: dict[str, int]
    after: dict[str, int]
    invariants: dict[str, int]
    integrity: str
    lingering: int
    verdict: str
    again: str


class Harness:
    def __init__(self, backend: Backend, tmp: Path, data_dir: Path, key: str) -> None:
        self.backend, self.tmp, self.data_dir, self.key = backend, tmp, data_dir, key
        self.procs: list[subprocess.Popen] = []
        self.serial = 0

    async def serve(self, url: str, label: str) -> tuple[subprocess.Popen, str, Path]:
        port = free_port()
        log_path = self.tmp / f"server-{label}.log"
        proc = start_serve(url, self.data_dir, port, log_path)
        self.procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base, proc, log_path)
        return proc, base, log_path

    def stop(self, proc: subprocess.Popen) -> None:
        stop_server(proc)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)

    def client(self, base: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base, timeout=CALL_TIMEOUT, headers={"Authorization": f"Bearer {self.key}"})

    async def reference(self, scenario: Scenario) -> Reference:
        url = await self.backend.clone(f"ref_{scenario.name}")
        try:
            proc, base, _ = await self.serve(url, f"ref-{scenario.name}")
            before, _ = await self.backend.counts(url)
            busy, close = await scenario.poller(self.backend, url)
            tx_seen = None
            try:
                async with self.client(base) as client:
                    await warm_up(client)
                    sent = time.perf_counter()
                    task = asyncio.create_task(scenario.call(client))
                    seen_at = await poll_until(task, busy, sent + CALL_TIMEOUT)
                    tx_seen = seen_at - sent if seen_at is not None else None
                    response = await asyncio.wait_for(task, CALL_TIMEOUT)
                    duration = time.perf_counter() - sent
            finally:
                await close()
            if response.status_code >= 300:
                raise RuntimeError(f"reference {scenario.name}: {response.status_code} {response.text[:500]}")
            mid, _ = await self.backend.counts(url)
            self.stop(proc)
            proc, _, _ = await self.serve(url, f"ref-{scenario.name}-restart")
            after, invariants = await self.backend.counts(url)
            self.stop(proc)
            bad = {k: v for k, v in invariants.items() if v}
            if bad:
                raise RuntimeError(f"reference {scenario.name}: invariants broken without any fault: {bad}")
            return Reference(
                duration, tx_seen, before, after, after["roster_version"] - mid["roster_version"], response.text[:300]
            )
        finally:
            await self.backend.drop(url)

    async def trial(self, scenario: Scenario, ref: Reference, label: str, kind: str, fraction: float) -> Trial:
        self.serial += 1
        url = await self.backend.clone(f"t{self.serial}_{scenario.name}")
        try:
            proc, base, _ = await self.serve(url, f"t{self.serial}")
            before, _ = await self.backend.counts(url)
            busy, close = await scenario.poller(self.backend, url)
            killed_at: float | None = None
            try:
                async with self.client(base) as client:
                    await warm_up(client)
                    sent = time.perf_counter()
                    task = asyncio.create_task(scenario.call(client))
                    deadline = sent + ref.duration * 3 + 30  # bounded even if the call hangs
                    if kind == "call":
                        await sleep_until(task, sent + fraction * ref.duration)
                    else:
                        window = max(0.0, ref.duration - (ref.tx_seen or 0.0))
                        await poll_until(task, busy, deadline)
                        await sleep_until(task, time.perf_counter() + fraction * window)
                    finished_first = task.done()
                    killed = time.time()
                    killed_at = time.perf_counter() - sent
                    kill9(proc)
                    self.procs.remove(proc)
                    try:
                        response = await asyncio.wait_for(task, timeout=30)
                        seen = f"{response.status_code}" + (" (before the kill)" if finished_first else "")
                    except (httpx.HTTPError, TimeoutError) as exc:
                        seen = type(exc).__name__
            finally:
                await close()
            lingering = await self.backend.settle(url, killed)
            proc, base, _ = await self.serve(url, f"t{self.serial}-restart")
            after, invariants = await self.backend.counts(url)
            integrity = await self.backend.integrity(url)
            again = "-"
            if scenario.again:
                # A run killed with its server stays "running" until it has been silent for SILENT_AFTER;
                # then the next start closes it as abandoned. Retry until then, and say how long it took.
                restarted = time.perf_counter()
                patience = SILENT_AFTER.total_seconds() + 45
                async with self.client(base) as client:
                    while True:
                        response = await scenario.call(client)
                        waited = time.perf_counter() - restarted
                        if response.status_code != 409 or waited > patience:
                            break
                        await asyncio.sleep(2)
                    body = response.json()
                    again = f"{response.status_code} {body.get('outcome') or body.get('title', '')}".lower()
                    again += f" after {waited:.0f} s"
                _, invariants = await self.backend.counts(url)  # the dead run is closed by now, or it is a finding
            self.stop(proc)
            verdict = judge(before, after, ref, invariants, integrity, scenario.name)
            return Trial(
                scenario.name, label, killed_at, seen, before, after, invariants, integrity, lingering, verdict, again
            )
        finally:
            await self.backend.drop(url)


async def warm_up(client: httpx.AsyncClient) -> None:
    """One authenticated read first: the key's use is recorded (a short write transaction, at most once a
    minute per key and process) now, not inside the measured call where it would look like the call's."""
    (await client.get("/api/v1/physicians", params={"limit": 1})).raise_for_status()
    await asyncio.sleep(0.5)


async def sleep_until(task: asyncio.Task[Any], target: float) -> None:
    """Until ``target`` (``perf_counter``) or the end of ``task``, whichever comes first."""
    await asyncio.wait({task}, timeout=max(0.0, target - time.perf_counter()))


async def poll_until(task: asyncio.Task[Any], busy: Callable[[], Awaitable[bool]], deadline: float) -> float | None:
    """Poll ``busy`` every ``POLL`` s until it says yes (returns when), ``task`` ends or ``deadline`` passes."""
    for _ in range(int(max(0.0, deadline - time.perf_counter()) / POLL) + 1):
        if task.done() or time.perf_counter() >= deadline:
            return None
        if await busy():
            return time.perf_counter()
        await asyncio.wait({task}, timeout=POLL)
    return None


def judge(
    before: dict[str, int], after: dict[str, int], ref: Reference, inv: dict[str, int], integrity: str, scenario: str
) -> str:
    rolled_back = {**before, "roster_version": before["roster_version"] + ref.restart_bump}
    if after == rolled_back:
        verdict = "rolled back"
    elif scenario == "job" and after == {k: v + RUN_RECORD.get(k, 0) for k, v in rolled_back.items()}:
        verdict = "sweep rolled back, its run record kept"
    elif after == ref.after:
        verdict = "committed"
    else:
        diff = ", ".join(
            f"{k} {before[k]}->{after[k]} (complete {ref.after[k]})" for k in after if after[k] not in (before[k],)
        )
        verdict = f"PARTIAL: {diff}"
    broken = [f"{k}={v}" for k, v in inv.items() if v]
    if broken:
        verdict += " + INVARIANT " + ", ".join(broken)
    if integrity not in ("ok", "n/a"):
        verdict += f" + INTEGRITY {integrity}"
    return verdict


def kill_points(n: int, seed: int) -> list[tuple[str, str, float]]:
    rng = random.Random(seed)
    points = list(POINTS[:n])
    while len(points) < n:
        f = round(rng.uniform(0.02, 0.98), 2)
        points.append((f"{f:.0%}", "call", f) if rng.random() < 0.5 else (f"tx +{f:.0%}", "tx", f))
    return points


def shown(counts: dict[str, int], scenario: str) -> str:
    return " ".join(f"{label} {counts[key]}" for label, key in SHOWN[scenario])


def print_table(backend: Backend, trials: list[Trial]) -> None:
    head = ("scenario", "kill point", "killed at", "client saw", "before", "after restart", "call again", "verdict")
    rows = [
        (
            t.scenario,
            t.point,
            f"{t.killed_at:.2f} s" if t.killed_at is not None else "-",
            t.client,
            shown(t.before, t.scenario),
            shown(t.after, t.scenario),
            t.again,
            t.verdict,
        )
        for t in trials
    ]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    print(f"\n{backend.name}: kill -9 of `roster serve` mid-call, then a restart")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    slow = [t for t in trials if t.lingering]
    if slow:
        print(f"(PostgreSQL sessions of the killed server still open at restart, waited out: {len(slow)} trial(s))")


# ------------------------------------------------------------------------------------------------ main


def prepare(args: argparse.Namespace, backend: Backend, tmp: Path) -> tuple[str, Path]:
    """The files and the seeded template; returns the admin key and the import file."""
    data_dir = tmp / "data"
    physicians = max(2, args.rows // 4)
    base_roster, import_file = tmp / "base_roster.csv", tmp / "import_roster.csv"
    write_roster(base_roster, physicians // 2, args.seed)
    credentials = write_roster(import_file, physicians, args.seed + 1)
    listed = preclusion_csv(base_roster, tmp / "preclusion.csv", 0.5)
    lists = [
        ("oig_leie", REPO / "fixtures" / "lists" / "UPDATED.csv"),
        ("sam", REPO / "fixtures" / "lists" / "SAM_Exclusions_Public_Extract_V2_26327.ZIP"),
        ("cms_preclusion", tmp / "preclusion.csv"),
    ]
    settings = dataclasses.replace(Settings(), database_url=backend.template_url(), data_dir=data_dir)
    started = time.perf_counter()
    key = seed_template(settings, base_roster, lists)
    backend.finish_template()
    print(
        f"roster bench/faults.py  python {sys.version.split()[0]}  cpus {os.cpu_count()}  {backend.name}  "
        f"seed {args.seed}"
    )
    print(
        f"template: {physicians // 2} physicians imported, LEIE + SAM samples and a preclusion list of {listed} "
        f"roster NPIs loaded ({time.perf_counter() - started:.1f} s)"
    )
    print(f"import file: {physicians + credentials + 1} lines ({physicians} physicians, {credentials} credentials)")
    return key, import_file


async def run(args: argparse.Namespace, backend: Backend, tmp: Path, key: str, import_file: Path) -> list[Trial]:
    data = import_file.read_bytes()

    async def do_import(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/api/v1/imports/roster", files={"file": (import_file.name, data, "text/csv")})

    async def do_screening(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/api/v1/screening/runs", json={})

    async def do_job(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/api/v1/jobs/expiration_sweep/run", params={"wait": "true"})

    scenarios = [
        Scenario("import", do_import),
        Scenario("screening", do_screening),
        Scenario("job", do_job, again=True, busy_sql="SELECT count(*) FROM job_run WHERE outcome = 'running'"),
    ]
    harness = Harness(backend, tmp, tmp / "data", key)
    trials: list[Trial] = []
    try:
        for scenario in scenarios:
            if scenario.name not in args.scenario:
                continue
            ref = await harness.reference(scenario)
            tx = f"{ref.tx_seen:.2f} s" if ref.tx_seen is not None else "never seen"
            print(
                f"\nreference {scenario.name}: {ref.duration:.2f} s, write transaction first seen open at {tx}; "
                f"{shown(ref.before, scenario.name)} -> {shown(ref.after, scenario.name)}"
            )
            print(f"  response: {ref.summary}")
            changed = {k: (ref.before[k], ref.after[k]) for k in ref.after if ref.after[k] != ref.before[k]}
            print(f"  every count it changes (restart included): {changed}")
            for label, kind, fraction in kill_points(args.kills, args.seed):
                trial = await harness.trial(scenario, ref, label, kind, fraction)
                print(f"  {scenario.name:<9} {label:<8} killed at {trial.killed_at:.2f} s: {trial.verdict}")
                trials.append(trial)
    finally:
        harness.stop_all()
    return trials


def main() -> int:
    parser = parser_for(__doc__)
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the killed import's file")
    parser.add_argument("--kills", type=int, default=6, help="kill points per scenario")
    parser.add_argument("--seed", type=int, default=7, help="data generator and random kill points")
    parser.add_argument(
        "--scenario", action="append", choices=("import", "screening", "job"), help="repeatable; default: all three"
    )
    parser.add_argument("--database-url", help="a PostgreSQL server URL; throwaway databases are created there")
    args = parser.parse_args()
    args.scenario = args.scenario or ["import", "screening", "job"]
    if args.rows < 8 or args.kills < 1:
        parser.error("--rows must be at least 8 and --kills at least 1")

    interruptible()
    tmp = Path(tempfile.mkdtemp(prefix="roster-bench-faults-"))
    backend: Backend | None = None
    try:
        backend = PostgresBackend(args.database_url) if args.database_url else SQLiteBackend(tmp)
        key, import_file = prepare(args, backend, tmp)
        trials = asyncio.run(run(args, backend, tmp, key, import_file))
        print_table(backend, trials)
        held = ("rolled back", "committed", "sweep rolled back, its run record kept")
        bad = [t for t in trials if t.verdict not in held]
        print(f"\n{len(trials) - len(bad)} of {len(trials)} trials all-or-nothing with every invariant held")
        return 1 if bad else 0
    finally:
        if backend is not None:
            backend.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
