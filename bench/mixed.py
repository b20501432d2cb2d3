"""Issue 18's mixed load: write latency (p50 <= 20 ms, p99 <= 100 ms) while matches and reads run beside it.

Run as a script (not a test; figures and verdicts, exit status 0 regardless)::

    python bench/mixed.py [--seconds 600] [--clients 16] [--physicians 20000] [--seed 20261123]
                          [--backends sqlite,postgres]
                          [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                          [--warmup 30] [--probe-ms 100]
                          [--mix match=70,get=8,list=5,licenses=4,compliance=3,create=3,
                                 patch_physician=4,patch_license=3]

It reuses ``bench/soak.py`` whole: the same roster (``bench/match.py``'s: physicians and licenses from
``bench/api.py``, certifications, a current screening run, ~5,000 open assignments; on Postgres the rows
copied into a throwaway database, dropped afterwards), the same uvicorn server subprocess, the same
closed-loop keep-alive clients (``bench/loadgen.py``) and keys, with the kinds of request soak lacks
added: ``POST /physicians`` (a new physician with a fresh NPI), ``GET /licenses?...`` with filters and
``GET /physicians/{id}/compliance``. The default mix is the issue's: ~70 % ``POST /match`` on a random
case, ~20 % reads (``GET /physicians/{id}``, ``GET /physicians?...``, ``GET /licenses?...``, compliance),
~10 % roster writes (creates, ``PATCH /physicians/{id}``, ``PATCH /licenses/{id}``). Beside the clients,
one probe connection sends ``GET /health`` every ``--probe-ms`` (an open loop, not counted in the mix):
it does next to nothing, so its latency is the time a request waits for the server's event loop, the
floor under every other kind's latency in the same run.

Per backend it prints a table per kind of request (count, errors by status, p50/p95/p99/max ms), the
writes pooled as one line with PASS/MISS against p50 <= 20 ms and p99 <= 100 ms, the ``database is
locked`` count (server log and response bodies), 5xx and connection errors, per-minute lines of server
``VmRSS`` (``/proc/<pid>/status``), requests and write p50/p99, and the probe's p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api as roster_bench
import loadgen
import soak
from options import parser_for
from roster.physicians.npi import check_digit
from soak import Client, Roster, Server, Stats, drive, log_counts, pct

BACKENDS = ("sqlite", "postgres")
#: Client actions per loop iteration, with their weights: ~70 % match, ~20 % reads, ~10 % writes.
ACTIONS = (
    ("match", 70),
    ("get", 8),
    ("list", 5),
    ("licenses", 4),
    ("compliance", 3),
    ("create", 3),
    ("patch_physician", 4),
    ("patch_license", 3),
    ("assign", 0),  # soak's match + assignment (+ closing one): not a roster write; off by default
)
WRITES = ("POST /physicians", "PATCH /physicians/{id}", "PATCH /licenses/{id}")
HEALTH = "GET /health (probe)"
KINDS = (
    "POST /match",
    "GET /physicians/{id}",
    "GET /physicians?filters",
    "GET /licenses?filters",
    "GET /physicians/{id}/compliance",
    *WRITES,
    "POST /assignments",
    "PATCH /assignments/{id}",
)
TARGET_P50_MS = 20.0
TARGET_P99_MS = 100.0


@dataclasses.dataclass
class Clock:
    """When the measured run started (``perf_counter``), shared by the clients and the probe."""

    measured_from: float = 0.0


class MixedClient(Client):
    """``bench/soak.py``'s client, with creates, license lists and compliance reads, and a timeline."""

    clock = Clock()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: (perf_counter at send, endpoint, seconds) of every answered request, for the per-minute lines.
        self.timeline: list[tuple[float, str, float]] = []
        self.npi_base = 290_000_000 + self.number * 100_000 + random.Random(self.number).randrange(50_000)

    def restart(self) -> None:
        super().restart()
        self.timeline = []
        MixedClient.clock.measured_from = time.perf_counter()

    async def call(self, endpoint: str, method: str, path: str, role: str, body: Any = None) -> tuple[int, bytes]:
        started = time.perf_counter()
        status, payload = await super().call(endpoint, method, path, role, body)
        if status:
            self.timeline.append((started, endpoint, time.perf_counter() - started))
        return status, payload

    async def licenses(self) -> None:
        rng, r = self.rng, self.roster
        state, _, _ = rng.choice(r.cases)
        query = rng.choice(
            (f"state={state}&status=active&limit=20", f"expiring_within_days={rng.choice((30, 60, 90))}&limit=20")
        )
        await self.call("GET /licenses?filters", "GET", f"/api/v1/licenses?{query}", "manager")

    async def compliance(self) -> None:
        pid = self.rng.choice(self.roster.physician_ids)
        await self.call("GET /physicians/{id}/compliance", "GET", f"/api/v1/physicians/{pid}/compliance", "manager")

    async def create(self) -> None:
        rng, r = self.rng, self.roster
        body9 = f"{self.npi_base + self.sent:09d}"
        _, lob, specialty = rng.choice(r.cases)
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(40 * 365))
        first, last = rng.choice(roster_bench.FIRST_NAMES), rng.choice(r.last_names)
        body = {
            "npi": body9 + check_digit(body9),
            "first_name": first,
            "last_name": last,
            "date_of_birth": born.isoformat(),
            "degree": "MD" if rng.random() < 0.85 else "DO",
            "email": f"mixed.{self.number}.{self.sent}@example.net",
            "languages": ["en"],
            "lines_of_business": [lob],
            "specialties": [specialty],
            "clinical_practice_start": (born + timedelta(days=365 * 31)).isoformat(),
            "max_open_cases": rng.choice((10, 15, 20)),
        }
        await self.call("POST /physicians", "POST", "/api/v1/physicians", "credentialing", body)


async def probe(port: int, every: float, deadline: float, out: list[tuple[float, float]], errors: Counter) -> None:
    """``GET /health`` on a connection of its own every ``every`` seconds (an open loop) until ``deadline``."""
    pool = loadgen.Pool("127.0.0.1", port, 1)
    raw = loadgen.encode("GET", "/health", host=f"127.0.0.1:{port}", headers={})
    try:
        next_at = time.perf_counter()
        while (now := time.perf_counter()) < deadline:
            if next_at > now:
                await asyncio.sleep(next_at - now)
            next_at += every
            started = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(pool.request(raw), soak.REQUEST_TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                errors[type(exc).__name__] += 1
                continue
            if status != 200:
                errors[str(status)] += 1
            out.append((started, time.perf_counter() - started))
            next_at = max(next_at, time.perf_counter())  # never a burst to catch up
    finally:
        await pool.close()


async def run_load(servers: list[Server], keys: dict[str, str], roster: Roster, args: argparse.Namespace) -> tuple:
    """soak's ``drive`` with the mixed clients, and the health probe beside it."""
    MixedClient.clock = Clock()
    clients: list[MixedClient] = []

    class Recorded(MixedClient):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            clients.append(self)

    health: list[tuple[float, float]] = []
    health_errors: Counter = Counter()
    deadline = time.perf_counter() + args.warmup + args.seconds + 1
    probing = asyncio.create_task(probe(servers[0].port, args.probe_ms / 1000, deadline, health, health_errors))
    try:
        stats, elapsed, warm_5xx = await drive(servers, keys, roster, args, client_class=Recorded)
    finally:
        probing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probing
    start = MixedClient.clock.measured_from
    timeline = sorted(item for c in clients for item in c.timeline if item[0] >= start)
    health = [(t - start, s) for t, s in health if t >= start]
    return stats, elapsed, warm_5xx, [(t - start, e, s) for t, e, s in timeline], health, health_errors


# -------------------------------------------------------------------------------------------- report


def merge(parts: list[Stats]) -> Stats:
    total = Stats()
    total.latencies, total.statuses = {}, {}
    for s in parts:
        for e, values in s.latencies.items():
            total.latencies.setdefault(e, []).extend(values)
        for e, counts in s.statuses.items():
            total.statuses.setdefault(e, Counter()).update(counts)
        total.transport += s.transport
        total.locked_bodies += s.locked_bodies
        total.refusals = {**s.refusals, **total.refusals}
        total.failures += s.failures[: max(0, 5 - len(total.failures))]
    return total


def _row(name: str, lat: list[float], counts: Counter, transport: int = 0) -> str:
    n = sum(counts.values())
    bad = {k: v for k, v in sorted(counts.items()) if k >= 400}
    detail = ", ".join(f"{k}: {v}" for k, v in bad.items()) or "-"
    if transport:
        detail += f"; {transport} connection errors"
    return (
        f"{name:<34}{n:>8}{sum(bad.values()) + transport:>7}{pct(lat, 50):>9.1f}{pct(lat, 95):>9.1f}"
        f"{pct(lat, 99):>9.1f}{max(lat, default=0) * 1000:>9.0f}  {detail}"
    )


def report(
    backend: str,
    servers: list[Server],
    total: Stats,
    elapsed: float,
    warm_5xx: int,
    timeline: list[tuple[float, str, float]],
    health: list[tuple[float, float]],
    health_errors: Counter,
    args: argparse.Namespace,
) -> dict[str, Any]:
    transport_by: Counter = Counter()
    for key, count in total.transport.items():
        transport_by[key.partition(":")[0]] += count
    print(f"\n{'kind of request':<34}{'count':>8}{'errors':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          "  errors by status")  # fmt: skip
    kinds = [k for k in KINDS if total.statuses.get(k)] + sorted(set(total.statuses) - set(KINDS))
    everything: list[float] = []
    statuses: Counter = Counter()
    for kind in kinds:
        everything += total.latencies.get(kind, [])
        statuses += total.statuses[kind]
        print(_row(kind, total.latencies.get(kind, []), total.statuses[kind], transport_by[kind]))
    writes_lat = [v for k in WRITES for v in total.latencies.get(k, [])]
    writes_counts = sum((total.statuses.get(k, Counter()) for k in WRITES), Counter())
    print(_row("writes, pooled", writes_lat, writes_counts, sum(transport_by[k] for k in WRITES)))
    health_counts = Counter({200: len(health) - sum(v for k, v in health_errors.items() if k.isdigit())})
    for k, v in health_errors.items():
        if k.isdigit():
            health_counts[int(k)] += v
    hl = [s for _, s in health]
    print(_row(HEALTH, hl, health_counts, sum(v for k, v in health_errors.items() if not k.isdigit())))
    n = sum(statuses.values())
    n5 = sum(v for k, v in statuses.items() if k >= 500)
    transport = sum(total.transport.values())
    print(f"{n} requests in {elapsed:.0f} s ({n / elapsed:.1f} req/s), status counts: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))  # fmt: skip
    for (endpoint, status), body in sorted(total.refusals.items()):
        print(f"  e.g. {endpoint} -> {status}: {body[:200]!r}")
    for line in total.failures:
        print(f"  5xx: {line}")
    if transport:
        print("  connection errors: " + ", ".join(f"{k} x {v}" for k, v in total.transport.most_common(10)))
    if warm_5xx:
        print(f"  (warm-up, not counted above: {warm_5xx} x 5xx)")

    print("per minute: server VmRSS (MB, at the minute's end, and the minute's peak), requests, writes p50/p99 ms, "
          "/health probe p50/p99 ms")  # fmt: skip
    minutes = max(1, int(-(-(elapsed - 5) // 60)))  # a last part under 5 s joins the minute before
    for m in range(minutes):
        lo, hi = m * 60, (m + 1) * 60 if m < minutes - 1 else elapsed + 1e-9
        rss = []
        for s in servers:
            inside = [v for t, v in s.rss if lo <= t <= hi + 1]
            before = [v for t, v in s.rss if t <= hi + 1]
            if before:
                rss.append(
                    f"{s.name or 'server'} {before[-1] / 1024:.1f} (peak {max(inside or before[-1:]) / 1024:.1f})"
                )
        reqs = [e for t, e, _ in timeline if lo <= t < hi]
        w = [s for t, e, s in timeline if lo <= t < hi and e in WRITES]
        h = [s for t, s in health if lo <= t < hi]
        print(
            f"  minute {m + 1:>2} ({lo:>4.0f}-{hi:>4.0f} s): RSS {', '.join(rss) or '-'}; {len(reqs)} requests; "
            f"writes {len(w)}: p50 {pct(w, 50):.1f} p99 {pct(w, 99):.1f}; "
            f"probe p50 {pct(h, 50):.1f} p99 {pct(h, 99):.1f}"
        )

    locked_logs, tracebacks = 0, 0
    for s in servers:
        locked, tb, _, first = log_counts(s.log_path)
        locked_logs, tracebacks = locked_logs + locked, tracebacks + tb
        alive = "" if s.proc.poll() is None else f"; EXITED with {s.proc.returncode}"
        cpu = (
            f"server CPU {s.cpu_end - s.cpu_start:.0f} s in {elapsed:.0f} s"
            if s.cpu_start is not None and s.cpu_end is not None
            else "server CPU unknown"
        )
        print(f"  server {s.name or ''}(pid {s.proc.pid}): {cpu}; log: {locked} x 'database is locked', {tb} tracebacks"
              f"{alive}")  # fmt: skip
        if first:
            print("  first traceback in the log:\n    " + first.strip().replace("\n", "\n    ")[:2000])
    dead = [s for s in servers if s.proc.poll() is not None]
    p50, p99 = pct(writes_lat, 50), pct(writes_lat, 99)
    ok50, ok99 = p50 <= TARGET_P50_MS, p99 <= TARGET_P99_MS
    locked = locked_logs + total.locked_bodies
    print(f"verdicts ({backend}, {args.clients} clients, {elapsed:.0f} s measured after {args.warmup:.0f} s warm-up):")
    print(f"  writes p50 <= {TARGET_P50_MS:g} ms: {'PASS' if ok50 else 'MISS'} ({p50:.1f} ms over {len(writes_lat)})")
    print(f"  writes p99 <= {TARGET_P99_MS:g} ms: {'PASS' if ok99 else 'MISS'} ({p99:.1f} ms)")
    print(
        f"  zero 'database is locked': {'PASS' if locked == 0 else 'MISS'} "
        f"({locked_logs} in server logs, {total.locked_bodies} in response bodies)"
    )
    print(
        f"  5xx {n5}, connection errors {transport}, servers exited {len(dead)}, tracebacks in logs {tracebacks}: "
        f"{'PASS' if not (n5 or transport or dead) else 'MISS'}"
    )
    print(
        f"  /health probe (event-loop wait floor): p50 {pct(hl, 50):.1f} ms, p99 {pct(hl, 99):.1f} ms; "
        f"closed loop: mean latency ~ {args.clients} / {n / elapsed:.1f} req/s = "
        f"{args.clients / (n / elapsed) * 1000:.0f} ms"
    )
    return {
        "backend": backend,
        "requests": n,
        "rps": n / elapsed,
        "writes": len(writes_lat),
        "p50": p50,
        "p99": p99,
        "health_p99": pct(hl, 99),
        "errors": n5 + transport,
        "locked": locked,
        "verdict": "PASS" if ok50 and ok99 and locked == 0 and not (n5 or transport or dead) else "MISS",
    }


# ---------------------------------------------------------------------------------------------- main


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any] | None:
    servers: list[Server] = []
    with soak.backend_database("mixed", backend, args) as prepared:
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
            port = roster_bench.free_port()
            log_path = tmp / "server.log"
            servers.append(Server("", port, soak.start_server(settings.database_url, port, log_path, tmp), log_path))
            ready = roster_bench.wait_healthy(f"http://127.0.0.1:{port}", servers[0].proc, log_path)
            print(
                f"\n=== {backend}: one uvicorn process (pid {servers[0].proc.pid}) on "
                f"{'PostgreSQL' if backend == 'postgres' else 'SQLite'}; {args.physicians} physicians, "
                f"{roster.licenses} licenses, certifications, 5000 open assignments; setup {setup:.1f} s, "
                f"ready {ready:.1f} s; load average {os.getloadavg()[0]:.2f}"
            )
            print(
                f"{args.clients} clients, one connection each, no think time, {args.warmup:.0f} s warm-up then "
                f"{args.seconds:.0f} s measured; mix {','.join(f'{k}={v:g}' for k, v in args.mix.items() if v)}; "
                f"/health probe every {args.probe_ms:g} ms"
            )
            stats, elapsed, warm_5xx, timeline, health, health_errors = asyncio.run(
                run_load(servers, keys, roster, args)
            )
            print(
                f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores shared with the load generator and others)"
            )
            return report(backend, servers, merge(stats), elapsed, warm_5xx, timeline, health, health_errors, args)
        finally:
            for s in servers:
                roster_bench.stop_server(s.proc)


def main() -> int:
    parser = parser_for(__doc__)
    parser.epilog = (
        f"Verdicts (printed, never the exit status): writes (creates and PATCHes pooled) p50 <= {TARGET_P50_MS:g} ms "
        f"and p99 <= {TARGET_P99_MS:g} ms; zero 'database is locked' in the server log and response bodies; zero 5xx, "
        "connection errors and server exits."
    )
    parser.add_argument("--seconds", type=float, default=600.0, help="measured seconds per backend")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients, one connection each")
    parser.add_argument("--physicians", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated, run in order")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server URL; a throwaway database is created there and dropped")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of the same load before measuring")
    parser.add_argument("--probe-ms", type=float, default=100.0, help="interval of the GET /health probe (ms)")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="server RSS sampling interval (s)")
    parser.add_argument(
        "--mix",
        default=",".join(f"{name}={weight}" for name, weight in ACTIONS if weight),
        help=f"relative weights of a client's actions, among {', '.join(name for name, _ in ACTIONS)}",
    )
    args = parser.parse_args()
    args.think_ms = 0.0  # soak's drive reads it: closed loops with no pause
    backends = soak.checked_mix_and_backends(parser, args, ACTIONS, BACKENDS)
    if args.seconds <= 0 or args.clients < 1 or args.physicians < 10 or args.warmup < 0 or args.probe_ms <= 0:
        parser.error("--seconds, --clients, --probe-ms must be positive, --physicians >= 10, --warmup >= 0")
    rows = soak.run_backends("mixed", backends, run_backend, args)
    if rows is None:
        return 0
    if rows:
        print(f"\n{'backend':<10}{'requests':>9}{'req/s':>8}{'writes':>8}{'w p50':>8}{'w p99':>8}{'probe p99':>10}"
              f"{'5xx+conn':>9}{'locked':>7}  verdict")  # fmt: skip
        for r in rows:
            print(
                f"{r['backend']:<10}{r['requests']:>9}{r['rps']:>8.1f}{r['writes']:>8}{r['p50']:>8.1f}{r['p99']:>8.1f}"
                f"{r['health_p99']:>10.1f}{r['errors']:>9}{r['locked']:>7}  {r['verdict']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
