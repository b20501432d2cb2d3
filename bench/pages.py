"""Server time of the workspace's roster and physician pages beside the JSON endpoints serving the same data.

Run as a script (not a test; figures, not pass/fail)::

    python bench/pages.py [--physicians 50000] [--requests 300]

It builds the same 50k-physician SQLite database as ``bench/api.py`` (Alembic migrations, synthetic
physicians and licenses bulk-loaded), creates an admin user and key, serves the app with uvicorn in a
subprocess, signs in through the ``/login`` form as a browser would, then requests each endpoint one at
a time (concurrency 1, so a request's latency is the server's time plus a loopback round trip):

- ``GET /health``: the baseline, measured in the same run;
- ``GET /roster?<filter>`` (50 rows, filters rotating over state, specialty, line of business and name
  search) beside ``GET /api/v1/physicians?<same filter>&limit=50``;
- ``GET /roster?compliance=...&sort=expiry`` (the compliance-standing filter, sorted by next expiry),
  beside the same JSON list;
- ``GET /physicians/{id}`` beside ``GET /api/v1/physicians/{id}`` and ``.../compliance`` (the page
  also shows licenses, certifications, hits, assignments and the audit timeline);
- ``GET /`` (home, as an admin: compliance counts, hits, open alerts, the coverage-gap panel over every
  line of business) beside ``GET /api/v1/reports/coverage`` for one line of business.

The issue's target is p50 <= 50 ms for every page; the ratios to ``/health`` are what to compare
across machines.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

import loadgen
from api import (
    bulk_load,
    create_admin_key,
    db_bytes,
    free_port,
    interruptible,
    start_server,
    stop_server,
    synthetic_rows,
    wait_healthy,
)
from options import parser_for
from roster.cli import migrate_database
from roster.config import Settings
from roster.vocabulary import LineOfBusiness

TARGET_P50_MS = 50.0
EMAIL = "bench-pages@roster.example"
STANDINGS = ("compliant", "at_risk", "non_compliant")


def create_user(settings: Settings) -> str:
    from roster.db import close_engine, open_engine
    from roster.users.service import create_user as create

    async def work() -> str:
        engine = await open_engine(settings, pool=False)
        try:
            return (await create(email=EMAIL, role="admin", actor="bench")).password
        finally:
            await close_engine(engine)

    return asyncio.run(work())


def sign_in(base: str, password: str) -> str:
    """The session cookie, from the sign-in form exactly as a browser submits it."""
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/login")
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.text))
        done = client.post("/login", data={**fields, "email": EMAIL, "password": password})
        if done.status_code != 303 or "roster_session" not in client.cookies:
            raise RuntimeError(f"sign-in failed: {done.status_code} {done.text[:300]}")
        return client.cookies["roster_session"]


def standing_views(rng: random.Random, n: int) -> list[dict[str, str]]:
    """The compliance-standing filter (with a state half the time), sorted by next expiry."""
    from api import LINES_OF_BUSINESS

    views = []
    for i in range(n):
        view = {"compliance": STANDINGS[i % len(STANDINGS)], "sort": "expiry"}
        if i % 2:
            view["line_of_business"] = rng.choice(LINES_OF_BUSINESS)
        views.append(view)
    return views


def filters(settings: Settings, rng: random.Random, n: int) -> list[dict[str, str]]:
    from api import LAST_NAMES, LINES_OF_BUSINESS, _reference

    specialties, states = _reference(settings)
    made = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            made.append({"state": rng.choice(states)})
        elif kind == 1:
            made.append({"specialty": rng.choice(specialties)})
        elif kind == 2:
            made.append({"state": rng.choice(states), "line_of_business": rng.choice(LINES_OF_BUSINESS)})
        else:
            made.append({"q": rng.choice(LAST_NAMES)})
    return made


async def measure(
    port: int, key: str, cookie: str, ids: list[str], settings: Settings, args: object
) -> list[loadgen.Result]:
    rng = random.Random(args.seed + 2)
    host = f"127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {key}"}
    browser = {"Cookie": f"roster_session={cookie}", "Accept": "text/html"}
    n = args.requests
    views = filters(settings, rng, n)
    picked = [rng.choice(ids) for _ in range(n)]
    lines = LineOfBusiness.__args__  # type: ignore[attr-defined]

    def get(path: str, headers: dict[str, str]) -> bytes:
        return loadgen.encode("GET", path, host=host, headers=headers)

    runs = [
        ("GET /health", [get("/health", {})] * n),
        ("GET /roster?<filter>", [get(f"/roster?{urlencode(v)}", browser) for v in views]),
        (
            "GET /api/v1/physicians?<filter>",
            [get(f"/api/v1/physicians?{urlencode({**v, 'limit': 50})}", auth) for v in views],
        ),
        (
            "GET /roster?compliance=<c>&sort=expiry",
            [get(f"/roster?{urlencode(v)}", browser) for v in standing_views(rng, n)],
        ),
        ("GET /physicians/{id}", [get(f"/physicians/{pid}", browser) for pid in picked]),
        ("GET /api/v1/physicians/{id}", [get(f"/api/v1/physicians/{pid}", auth) for pid in picked]),
        (
            "GET /api/v1/physicians/{id}/compliance",
            [get(f"/api/v1/physicians/{pid}/compliance", auth) for pid in picked],
        ),
        ("GET /", [get("/", browser)] * n),
        (
            "GET /api/v1/reports/coverage?line_of_business=<l>",
            [get(f"/api/v1/reports/coverage?line_of_business={lines[i % len(lines)]}", auth) for i in range(n)],
        ),
    ]
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=60) as client:
        for name, requests in runs:  # every endpoint answers 200 before anything is timed
            path = requests[0].split(b" ", 2)[1].decode()
            headers = browser if not path.startswith("/api") else auth
            probe = await client.get(path, headers=headers)
            if probe.status_code != 200:
                raise RuntimeError(f"probe {name} {path} -> {probe.status_code}: {probe.text[:400]}")
    pool = loadgen.Pool("127.0.0.1", port, 1)
    try:
        results = []
        for name, requests in runs:
            if args.warmup:
                await loadgen.closed_loop(pool, name, requests[: args.warmup], 1, args.time_cap)
            results.append(await loadgen.closed_loop(pool, name, requests, 1, args.time_cap))
        return results
    finally:
        await pool.close()


def report(results: list[loadgen.Result]) -> None:
    print()
    loadgen.table(results)
    by_name = {r.endpoint: r for r in results}
    health = by_name["GET /health"].pct(50)
    print()
    for page, json_names in (
        ("GET /roster?<filter>", ["GET /api/v1/physicians?<filter>"]),
        ("GET /roster?compliance=<c>&sort=expiry", ["GET /api/v1/physicians?<filter>"]),
        ("GET /physicians/{id}", ["GET /api/v1/physicians/{id}", "GET /api/v1/physicians/{id}/compliance"]),
        ("GET /", ["GET /api/v1/reports/coverage?line_of_business=<l>"]),
    ):
        result = by_name[page]
        p50, p99 = result.pct(50), result.pct(99)
        beside = ", ".join(f"{name.split(' ', 1)[1]} p50 {by_name[name].pct(50):.1f} ms" for name in json_names)
        verdict = "PASS" if p50 <= TARGET_P50_MS else "MISS"
        print(
            f"{page}: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({p50 / health:.1f}x /health) "
            f"beside {beside}; target p50 <= {TARGET_P50_MS:.0f} ms: {verdict}"
        )


def main() -> int:
    parser = parser_for(__doc__)
    parser.add_argument("--physicians", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests per endpoint first")
    parser.add_argument("--time-cap", type=float, default=120.0, help="seconds per endpoint run, at most")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    if args.physicians < 1 or args.requests < 1:
        parser.error("--physicians and --requests must be positive")
    interruptible()
    tmp = Path(tempfile.mkdtemp(prefix="roster-bench-pages-"))
    proc: subprocess.Popen | None = None
    try:
        db_path = tmp / "roster.db"
        settings = dataclasses.replace(Settings(), database_url=f"sqlite:///{db_path}")
        t0 = time.perf_counter()
        migrate_database(settings)
        physicians, licenses, ids = synthetic_rows(args.physicians, settings, args.seed)
        bulk_load(db_path, physicians, licenses)
        n_licenses = len(licenses)
        del physicians, licenses
        key = create_admin_key(settings)
        password = create_user(settings)
        t_setup = time.perf_counter() - t0
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
        proc = start_server(db_path, port, 1, log_path)
        wait_healthy(base, proc, log_path)
        cookie = sign_in(base, password)
        print(f"roster bench/pages.py  python {sys.version.split()[0]}  cpus {os.cpu_count()}  concurrency 1")
        print(
            f"database: {args.physicians} physicians, {n_licenses} licenses, {db_bytes(db_path) / 1e6:.1f} MB "
            f"(SQLite); setup {t_setup:.1f}s; {args.requests} requests per endpoint after {args.warmup} warm-up"
        )
        results = asyncio.run(measure(port, key, cookie, ids, settings, args))
        report(results)
        return 0
    finally:
        if proc is not None:
            stop_server(proc)
        for path in sorted(tmp.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        tmp.rmdir()


if __name__ == "__main__":
    sys.exit(main())
