"""NPPES bulk verification at scale: ``check_file`` on a generated V2 dissemination file.

Run as a script from the repository root with the project venv (figures, not pass/fail; exit 0)::

    python bench/nppes_bulk.py [--rows 1000000] [--roster 50000] [--seed 7] [--keep]

It writes, in a temporary directory, an ``npidata_pfile`` CSV in the published byte format: the real
330-column V2 header (written here from reference.md §4.2, not imported from the reader), every value
double-quoted, ``MM/DD/YYYY`` dates, individuals and organizations with one to three taxonomy/license
slots, about 2% deactivated NPIs (only NPI and deactivation date filled in, as NPPES publishes them) and
0.3% reactivated ones. The roster is ``--roster`` NPIs: 95% drawn from the file, 5% absent from it.

Each measurement runs in a fresh subprocess, so its peak RSS (``ru_maxrss``) is its own:

* ``check_file``: the service's one-pass scan (projection + predicate pushdown, streaming engine) of
  the whole file against the roster; the outcomes are compared with the generator's ground truth;
* parse floor (the baseline): ``pl.scan_csv`` of the same file reading its first and last column,
  i.e. splitting every field of every record and materialising nothing else;
* stdlib ``csv`` on the first 100,000 rows with a set lookup per row, extrapolated linearly (labelled so).

Rows/s and wall time are extrapolated to 8M rows (the real file: reference.md §4.2) twice: all of it
linearly (conservative), and by phase (the scan linearly, judging the roster's rows once, since it grows
with the roster and not the file); both are judged against the targets: 8M rows in at most 60 s and peak
RSS at most 2 GB.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from options import parser_for  # bench/options.py

REPO = Path(__file__).resolve().parent.parent
FULL_FILE_ROWS = 8_000_000
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 2048.0
CHUNK = 100_000


def _fixture_header() -> list[str]:
    """The 330 names as ``fixtures/nppes/generate.py`` writes them (from reference.md §4.2): a writer
    kept apart from the reader's ``NPPES_HEADER`` on purpose, so a wrong name in one shows up."""
    spec = importlib.util.spec_from_file_location("nppes_fixture", REPO / "fixtures" / "nppes" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.HEADER)


HEADER = _fixture_header()

LAST_NAMES = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "NGUYEN", "PATEL"]
FIRST_NAMES = ["JAMES", "MARY", "ROBERT", "PATRICIA", "JOHN", "JENNIFER", "MICHAEL", "LINDA", "ANJALI", "WEI"]
TAXONOMIES = ["207R00000X", "207RX0202X", "207X00000X", "2084P0800X", "2085R0202X", "207Q00000X", "208M00000X"]
STATES = ["AZ", "CA", "FL", "MD", "NY", "TX", "WA", "OH", "PA", "IL"]
CITIES = ["PHOENIX", "LOS ANGELES", "MIAMI", "BETHESDA", "NEW YORK", "HOUSTON", "SEATTLE"]


# --------------------------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------------------------


def npis(first_nine: np.ndarray) -> np.ndarray:
    """Valid NPIs (Luhn over 80840 + NPI, reference.md §4.3) for 9-digit prefixes, vectorised."""
    digits = np.stack([(first_nine // 10 ** (8 - i)) % 10 for i in range(9)], axis=1)
    total = np.full(len(first_nine), 24, dtype=np.int64)
    for i in range(9):  # from the right of the 9 digits, every other digit (starting with the last) doubled
        d = digits[:, 8 - i]
        if i % 2 == 0:
            d = d * 2
            d = np.where(d > 9, d - 9, d)
        total += d
    check = (10 - total % 10) % 10
    return first_nine * 10 + check


def _dates(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """MM/DD/YYYY strings, ``low``..``high`` days after NPPES began (2005-05-23)."""
    days = np.datetime64("2005-05-23") + rng.integers(low, high, n).astype("timedelta64[D]")
    return pl.Series(days).dt.strftime("%m/%d/%Y").to_numpy().astype(str)


def chunk_lines(rng: np.random.Generator, ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Published CSV lines for ``ids`` and, per row, whether the NPI is deactivated (not reactivated)."""
    n = len(ids)
    deactivated = rng.random(n) < 0.02
    reactivated = deactivated & (rng.random(n) < 0.15)
    blank = deactivated & ~reactivated  # published with only NPI and deactivation date
    org = ~blank & (rng.random(n) < 0.25)
    person = ~blank & ~org
    filled = ~blank
    slots = rng.integers(1, 4, n)

    def pick(pool: list[str], where: np.ndarray) -> np.ndarray:
        return np.where(where, np.array(pool)[rng.integers(0, len(pool), n)], "")

    cols: dict[str, np.ndarray] = {
        "NPI": ids.astype(str),
        "Entity Type Code": np.where(blank, "", np.where(org, "2", "1")),
        "Provider Organization Name (Legal Business Name)": np.char.add("MEDICAL GROUP OF ", pick(CITIES, org)),
        "Provider Last Name (Legal Name)": pick(LAST_NAMES, person),
        "Provider First Name": pick(FIRST_NAMES, person),
        "Provider Credential Text": np.where(person, "M.D.", ""),
        "Provider First Line Business Mailing Address": np.where(filled, "100 MAIN ST", ""),
        "Provider Business Mailing Address City Name": pick(CITIES, filled),
        "Provider Business Mailing Address State Name": pick(STATES, filled),
        "Provider Business Mailing Address Postal Code": np.where(filled, "208171841", ""),
        "Provider Business Mailing Address Country Code (If outside U.S.)": np.where(filled, "US", ""),
        "Provider Enumeration Date": np.where(filled, _dates(rng, 0, 7000, n), ""),
        "Last Update Date": np.where(filled, _dates(rng, 3000, 7400, n), ""),
        "NPI Deactivation Reason Code": np.where(deactivated & ~blank, "DT", ""),
        "NPI Deactivation Date": np.where(deactivated, _dates(rng, 4000, 6000, n), ""),
        "NPI Reactivation Date": np.where(reactivated, _dates(rng, 6000, 7000, n), ""),
        "Provider Sex Code": np.where(person, "F", ""),
        "Is Sole Proprietor": np.where(person, "N", np.where(org, "X", "")),
        "Certification Date": np.where(filled, _dates(rng, 6000, 7400, n), ""),
    }
    cols["Provider Organization Name (Legal Business Name)"] = np.where(
        org, cols["Provider Organization Name (Legal Business Name)"], ""
    )
    for slot in range(1, 4):
        used = filled & (slots >= slot)
        cols[f"Healthcare Provider Taxonomy Code_{slot}"] = pick(TAXONOMIES, used)
        cols[f"Provider License Number_{slot}"] = np.where(
            used, np.char.add("MD", rng.integers(10000, 99999, n).astype(str)), ""
        )
        cols[f"Provider License Number State Code_{slot}"] = pick(STATES, used)
        cols[f"Healthcare Provider Primary Taxonomy Switch_{slot}"] = np.where(used, "Y" if slot == 1 else "N", "")
    frame = pl.DataFrame({name: pl.Series(values, dtype=pl.String) for name, values in cols.items()})
    fields = [pl.col(c) if c in cols else pl.lit("") for c in HEADER]
    line = pl.concat_str([pl.lit('"'), pl.concat_str(fields, separator='","'), pl.lit('"')])
    return frame.select(line).to_series().to_list(), deactivated & ~reactivated


def generate(path: Path, rows: int, roster_size: int, seed: int) -> tuple[list[str], dict[str, str]]:
    """Write the file; return the roster NPIs and the expected outcome of each."""
    rng = np.random.default_rng(seed)
    spacing = 99_999_999 // rows
    ids = npis(rng.permutation(100_000_000 + np.arange(rows, dtype=np.int64) * spacing))
    states = np.empty(rows, dtype=bool)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(f'"{name}"' for name in HEADER) + "\n")
        for start in range(0, rows, CHUNK):
            lines, deactivated = chunk_lines(rng, ids[start : start + CHUNK])
            states[start : start + CHUNK] = deactivated
            out.write("\n".join(lines))
            out.write("\n")
    present = min(rows, int(roster_size * 0.95))
    chosen = rng.choice(rows, size=present, replace=False)
    expected = {str(ids[i]): ("deactivated" if states[i] else "verified") for i in chosen}
    absent_prefixes = 200_000_000 + rng.choice(99_999_999, size=roster_size - present, replace=False)
    for value in npis(absent_prefixes):
        expected[str(value)] = "not_found"
    return list(expected), expected


# --------------------------------------------------------------------------------------------
# measurements (each in its own subprocess)
# --------------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS. ``VmHWM`` starts afresh at exec; ``ru_maxrss`` would carry over the
    generating parent's peak into the measuring subprocess on Linux, so it is only the fallback."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux and BSD: KiB


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads: a figure other load on the machine barely moves."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(kind: str, path: Path, roster_path: Path, sample: int) -> dict[str, object]:
    roster = json.loads(roster_path.read_text())
    baseline_rss = peak_rss_mb()
    started = time.perf_counter()
    if kind == "check_file":
        sys.path.insert(0, str(REPO / "src"))
        from roster.sources.nppes import check_file

        cpu_before = cpu_seconds()
        result = check_file(path, roster)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        rss = peak_rss_mb()
        outcomes = {npi: check.outcome for npi, check in result.checks.items()}
        # The same work again in its two phases: the scan grows with the file, judging with the roster.
        from roster.sources import nppes

        started = time.perf_counter()
        matched = nppes._matched(nppes.scan_nppes(path), roster).collect(engine="streaming")
        scan_seconds = time.perf_counter() - started
        started = time.perf_counter()
        nppes._checks(matched)
        judge_seconds = time.perf_counter() - started
        return {"seconds": seconds, "cpu_seconds": cpu, "rows": sample, "rss_mb": rss, "base_rss_mb": baseline_rss,
                "scan_seconds": scan_seconds, "judge_seconds": judge_seconds, "outcomes": outcomes}  # fmt: skip
    if kind == "floor":
        # ``select(pl.len())`` alone only counts lines; reading the first and the last column makes
        # polars split every field of every record, as any reader that notices a truncated record must.
        scan = pl.scan_csv(path, schema=dict.fromkeys(HEADER, pl.String()))
        both = pl.col("NPI").str.len_bytes().gt(0) & pl.col(HEADER[-1]).is_not_null()
        rows = scan.select(both.sum()).collect(engine="streaming").item()
        return {"seconds": time.perf_counter() - started, "rows": rows, "rss_mb": peak_rss_mb()}
    wanted, found, rows = set(roster), 0, 0
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for record in reader:
            rows += 1
            if record[0] in wanted:
                found += 1
            if rows >= sample:
                break
    return {"seconds": time.perf_counter() - started, "rows": rows, "rss_mb": peak_rss_mb()}


def run_measure(kind: str, path: Path, roster_path: Path, sample: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path), str(roster_path), str(sample)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--roster", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--naive-rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated file and print where it is")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, path, roster, sample = args.measure
        print(json.dumps(measure(kind, Path(path), Path(roster), int(sample))))
        return

    work = Path(tempfile.mkdtemp(prefix="nppes-bench-"))
    try:
        path = work / "npidata_pfile_20050523-20261109.csv"
        started = time.perf_counter()
        roster, expected = generate(path, args.rows, args.roster, args.seed)
        roster_path = work / "roster.json"
        roster_path.write_text(json.dumps(roster))
        size_mb = path.stat().st_size / 2**20
        print(f"generated {args.rows:,} rows x {len(HEADER)} columns, {size_mb:,.0f} MiB, "
              f"in {time.perf_counter() - started:.1f} s; roster {len(roster):,} NPIs")  # fmt: skip

        check = run_measure("check_file", path, roster_path, args.rows)
        floor = run_measure("floor", path, roster_path, 0)
        naive = run_measure("naive", path, roster_path, args.naive_rows)

        outcomes = check.pop("outcomes")
        assert isinstance(outcomes, dict)
        wrong = sum(1 for npi, want in expected.items() if outcomes.get(npi) != want)
        counts: dict[str, int] = {}
        for outcome in outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1

        def rate(m: dict[str, object]) -> float:
            return float(m["rows"]) / float(m["seconds"])  # type: ignore[arg-type]

        scale = FULL_FILE_ROWS / args.rows
        print(f"\n{'measurement':<34}{'rows':>12}{'seconds':>10}{'rows/s':>14}{'peak RSS MiB':>14}")
        for label, m in (("check_file (service scan)", check), ("parse floor: every field split", floor),
                         ("stdlib csv (sample)", naive)):  # fmt: skip
            print(f"{label:<34}{m['rows']:>12,}{m['seconds']:>10.2f}{rate(m):>14,.0f}{m['rss_mb']:>14,.0f}")
        print(f"  (interpreter + polars + roster before the scan: {check['base_rss_mb']:,.0f} MiB; check_file used "
              f"{check['cpu_seconds']:.2f} s of CPU over {check['seconds']:.2f} s wall on {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f})")  # fmt: skip
        print(f"\noutcomes: {counts}; {wrong} of {len(expected):,} differ from the generator's ground truth")
        print(f"check_file / parse floor time: {float(check['seconds']) / float(floor['seconds']):.2f}x")  # type: ignore[arg-type]
        print(f"check_file vs stdlib csv, rows/s: {rate(check) / rate(naive):.1f}x faster")
        projected = float(check["seconds"]) * scale  # type: ignore[arg-type]
        scan_s, judge_s = float(check["scan_seconds"]), float(check["judge_seconds"])  # type: ignore[arg-type]
        split = scan_s * scale + judge_s
        naive_projected = FULL_FILE_ROWS / rate(naive)
        print(f"\nEXTRAPOLATED linearly to {FULL_FILE_ROWS:,} rows (x{scale:g}):")
        print(f"  check_file  {projected:7.1f} s   all linear; target <= {TARGET_SECONDS:.0f} s   "
              f"{'PASS' if projected <= TARGET_SECONDS else 'MISS'}")  # fmt: skip
        print(f"  check_file  {split:7.1f} s   by phase: scan {scan_s:.2f} s x{scale:g} + judging {len(roster):,} "
              f"roster NPIs {judge_s:.2f} s once   {'PASS' if split <= TARGET_SECONDS else 'MISS'}")  # fmt: skip
        print(f"  stdlib csv  {naive_projected:7.1f} s")
        rss = float(check["rss_mb"])  # type: ignore[arg-type]
        print(f"  peak RSS    {rss:7.0f} MiB (streaming: does not grow with rows; measured at {args.rows:,})   "
              f"target <= {TARGET_RSS_MB:.0f} MiB   {'PASS' if rss <= TARGET_RSS_MB else 'MISS'}")  # fmt: skip
        if args.keep:
            print(f"\nkept: {path}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
