"""Time and peak memory of drawing and rendering a 50-file audit pack from a 50k-physician roster.

Run as a script (figures, with PASS/MISS against the issue's target; the exit status is 0 regardless)::

    python bench/audit_pack.py [--physicians 50000] [--sample 50]

It builds a fresh SQLite database in a temporary directory (Alembic migrations and reference data via
``migrate_database``), bulk-loads synthetic physicians and licenses as ``bench/api.py`` does, then gives every
physician a credentialing decision in the last year (one in five a recredentialing, with its initial
approval three years earlier) and a verification of each required element before it (DEA/CDS for about
half; some late, some from an unlisted source; one in five with an evidence file), all in one ``sqlite3``
transaction with Piccolo's own value encodings.

Then, in a fresh subprocess (so its peak RSS is the pull's own, not the generator's), it serves the app
in-process (``httpx.ASGITransport``, lifespan entered as ``roster serve`` would) and times, one after the
other, over the year's whole population:

- ``GET /api/v1/audits/files`` as JSON: reading the population, drawing the sample, scoring every
  element of every sampled file, recording the pull in the audit log;
- the same with ``Accept: application/zip``: the above plus one WeasyPrint PDF per file and the index,
  written into a ZIP (the first PDF of the process includes WeasyPrint's font set-up);
- the same with the XLSX ``Accept``.

The target (issue 15) is under 30 s for the ZIP, PDFs included.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from piccolo.engine.sqlite import convert_date_in, convert_datetime_in, convert_uuid_in

from api import bulk_load, interruptible, synthetic_rows
from nppes_bulk import peak_rss_mb
from options import parser_for
from roster.cli import migrate_database
from roster.config import Settings
from roster.credentialing.rules import ELEMENTS

TARGET_SECONDS = 30.0
#: Every element but DEA/CDS (required of a holder only).
ALWAYS = tuple(e for e in ELEMENTS if e != "dea_cds")
METHODS = {
    "license": "primary_source",
    "board_certification": "abms",
    "work_history": "other",
    "malpractice_history": "npdb",
    "sanctions": "primary_source",
    "dea_cds": "primary_source",
    "education": "primary_source",
    "attestation": "other",
}
DECISION_COLUMNS = (
    "id",
    "physician",
    "kind",
    "decided_on",
    "decision",
    "decided_by",
    "timely",
    "late_elements",
    "cycle_due_on",
    "cycle_met",
    "created_at",
)
VERIFICATION_COLUMNS = (
    "id",
    "physician",
    "element",
    "source",
    "method",
    "verified_on",
    "verified_by",
    "outcome",
    "evidence",
    "created_at",
)
EVIDENCE_COLUMNS = ("id", "sha256", "content_type", "size", "created_at", "created_by")


def credentialing_rows(physician_ids: list[str], today: date, seed: int) -> dict[str, list[tuple]]:
    """A decision in the last year per physician, with the verifications it rests on (and evidence rows)."""
    rng = random.Random(seed)
    stamp = convert_datetime_in(datetime.now(UTC))
    rows: dict[str, list[tuple]] = {"evidence_file": [], "credentialing_decision": [], "verification": []}

    def decision(pid: str, kind: str, on: date, cycle_due: date | None) -> None:
        rows["credentialing_decision"].append(
            (
                convert_uuid_in(uuid.uuid4()),
                pid,
                kind,
                convert_date_in(on),
                "approved" if rng.random() < 0.95 else "deferred",
                "bench-committee",
                True,
                "[]",
                convert_date_in(cycle_due) if cycle_due else None,
                (True if cycle_due else None),
                stamp,
            )
        )

    for text in physician_ids:
        pid = convert_uuid_in(uuid.UUID(text))
        decided_on = today - timedelta(days=rng.randrange(1, 365))
        if rng.random() < 0.2:
            initial = decided_on - timedelta(days=3 * 365 - 30)
            decision(pid, "initial", initial, None)
            decision(pid, "recredentialing", decided_on, initial + timedelta(days=3 * 365))
        else:
            decision(pid, "initial", decided_on, None)
        elements = ALWAYS + (("dea_cds",) if rng.random() < 0.5 else ())
        for element in elements:
            late = rng.random() < 0.03
            days = rng.randrange(121, 200) if late else rng.randrange(1, 120)
            if element == "education":
                days = rng.randrange(1, 9000)
            evidence = None
            if rng.random() < 0.2:
                evidence = convert_uuid_in(uuid.uuid4())
                rows["evidence_file"].append(
                    (
                        evidence,
                        f"{rng.getrandbits(256):064x}",
                        "application/pdf",
                        rng.randrange(20_000, 900_000),
                        stamp,
                        "bench",
                    )
                )
            method = METHODS[element] if rng.random() < 0.97 else "nppes"
            rows["verification"].append(
                (
                    convert_uuid_in(uuid.uuid4()),
                    pid,
                    element,
                    f"{element.replace('_', ' ')} source",
                    method,
                    convert_date_in(decided_on - timedelta(days=days)),
                    "bench-credentialing",
                    "verified",
                    evidence,
                    stamp,
                )
            )
    return rows


def load_credentialing(db_path: Path, rows: dict[str, list[tuple]]) -> None:
    columns = {
        "evidence_file": EVIDENCE_COLUMNS,
        "credentialing_decision": DECISION_COLUMNS,
        "verification": VERIFICATION_COLUMNS,
    }
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        for table in ("evidence_file", "credentialing_decision", "verification"):
            marks = ", ".join("?" * len(columns[table]))
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns[table])}) VALUES ({marks})", rows[table])
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


# -------------------------------------------------------------------------- measurement (subprocess)


async def pull_all(db_path: Path, period: dict[str, str], sample: int | None, seed: int) -> dict[str, object]:
    import httpx

    from roster.app import create_app
    from roster.keys.service import create_key

    settings = replace(Settings(), database_url=f"sqlite:///{db_path}", data_dir=db_path.parent / "data")
    app = create_app(settings)
    figures: dict[str, object] = {}
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client,
    ):
        key = (await create_key(name="bench-auditor", role="auditor", actor="bench")).key
        params = {**period, "seed": str(seed), **({"sample": str(sample)} if sample else {})}
        for label, accept in (
            ("json", "application/json"),
            ("zip", "application/zip"),
            ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ):
            started = time.perf_counter()
            response = await client.get(
                "/api/v1/audits/files", params=params, headers={"Authorization": f"Bearer {key}", "Accept": accept}
            )
            figures[f"{label}_s"] = time.perf_counter() - started
            figures[f"{label}_rss_mb"] = peak_rss_mb()
            response.raise_for_status()
            figures[f"{label}_bytes"] = len(response.content)
            if label == "json":
                body = response.json()
                figures["population"] = body["population"]
                figures["files"] = len(body["sample"])
                figures["elements"] = sum(len(f["elements"]) for f in body["sample"])
                figures["passing"] = sum(f["passes"] for f in body["sample"])
            if label == "zip":
                with zipfile.ZipFile(io.BytesIO(response.content)) as pack:
                    pdfs = [n for n in pack.namelist() if n.endswith(".pdf")]
                    figures["pdfs"] = len(pdfs)
                    figures["pdfs_ok"] = all(pack.read(n).startswith(b"%PDF-") for n in pdfs)
    return figures


def measure(db_path: Path, period: dict[str, str], sample: int | None, seed: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(db_path), json.dumps(period), str(sample or 0), str(seed)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--physicians", type=int, default=50_000, help="roster size")
    parser.add_argument("--sample", type=int, default=50, help="files in the pack (0: the organization's rule)")
    parser.add_argument("--seed", type=int, default=2027, help="data generation and draw seed")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS, metavar=("DB", "PERIOD", "SAMPLE", "SEED"))
    args = parser.parse_args()
    if args.measure:
        db, period, sample, seed = args.measure
        figures = asyncio.run(pull_all(Path(db), json.loads(period), int(sample) or None, int(seed)))
        print(json.dumps(figures))
        return

    interruptible()
    today = date.today()
    period = {"period_start": (today - timedelta(days=365)).isoformat(), "period_end": today.isoformat()}
    with tempfile.TemporaryDirectory(prefix="roster-bench-audit-") as tmp:
        db_path = Path(tmp) / "roster.db"
        settings = replace(Settings(), database_url=f"sqlite:///{db_path}")
        started = time.perf_counter()
        migrate_database(settings)
        physicians, licenses, ids = synthetic_rows(args.physicians, settings, args.seed)
        bulk_load(db_path, physicians, licenses)
        rows = credentialing_rows(ids, today, args.seed)
        load_credentialing(db_path, rows)
        counts = {table: len(r) for table, r in rows.items()}
        del physicians, licenses, rows
        print(
            f"built {args.physicians:,} physicians, {counts['credentialing_decision']:,} decisions, "
            f"{counts['verification']:,} verifications, {counts['evidence_file']:,} evidence files "
            f"in {time.perf_counter() - started:.1f} s"
        )
        f = measure(db_path, period, args.sample, args.seed)
        print(
            f"population {f['population']:,} decisions in {period['period_start']}..{period['period_end']}; "
            f"sample {f['files']} files, {f['elements']} elements scored, {f['passing']} files pass"
        )
        print(f"  JSON  (draw + score + audit)       {f['json_s']:6.2f} s   peak RSS {f['json_rss_mb']:6.0f} MiB")
        verdict = "PASS" if f["zip_s"] < TARGET_SECONDS else "MISS"
        print(
            f"  ZIP   (+ {f['pdfs']} PDFs, index)         {f['zip_s']:6.2f} s   peak RSS {f['zip_rss_mb']:6.0f} MiB   "
            f"{f['zip_bytes'] / 1024:,.0f} KiB   target < {TARGET_SECONDS:.0f} s: {verdict}"
        )
        print(f"  XLSX                                {f['xlsx_s']:6.2f} s   peak RSS {f['xlsx_rss_mb']:6.0f} MiB")
        if not f["pdfs_ok"]:
            print("  a PDF in the pack does not start with %PDF-")


if __name__ == "__main__":
    main()
