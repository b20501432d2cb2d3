"""Load the demo roster from ``fixtures/demo`` through the same services the API uses.

The fixture's dates are written relative to ``ANCHOR_DATE`` and shifted to today on load, so the
expired, expiring and overdue examples stay live whenever the demo is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from roster.certifications import service as certifications
from roster.certifications.schemas import CertificationCreate
from roster.db import write_tx
from roster.licenses import service as licenses
from roster.licenses.schemas import LicenseCreate
from roster.physicians import repository as physician_rows
from roster.physicians import service as physicians
from roster.physicians.schemas import PhysicianCreate

ACTOR = "demo-loader"
LIST_COLUMNS = {"former_last_names", "languages", "lines_of_business", "specialties"}
BOOL_COLUMNS = {"restricted", "time_unlimited"}
#: Dates that move with the anchor. A date of birth does not: it is identity, matched against the
#: sample exclusion lists.
SHIFTED_SUFFIXES = ("_on", "_start")


@dataclass(frozen=True, slots=True)
class DemoLoad:
    physicians: int
    licenses: int
    certifications: int
    skipped: int


def _rows(path: Path, shift: timedelta) -> list[dict[str, Any]]:
    out = []
    for row in pl.read_csv(path, infer_schema=False).iter_rows(named=True):
        record: dict[str, Any] = {}
        for key, value in row.items():
            value = value if value not in (None, "") else None
            if key in LIST_COLUMNS:
                record[key] = [v for v in (value or "").split(";") if v]
            elif key in BOOL_COLUMNS:
                record[key] = (value or "false").lower() == "true"
            elif key == "max_open_cases":
                record[key] = int(value) if value else 20
            elif value is not None and key.endswith(SHIFTED_SUFFIXES):
                record[key] = (date.fromisoformat(value) + shift).isoformat()
            else:
                record[key] = value
        out.append({k: v for k, v in record.items() if v is not None})
    return out


def _by_npi(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row.pop("npi"), []).append(row)
    return grouped


async def load_demo(demo_dir: Path, today: date) -> DemoLoad:
    """Idempotent: physicians already on the roster (by NPI) are left as they are."""
    anchor = date.fromisoformat((demo_dir / "ANCHOR_DATE").read_text().strip())
    shift = today - anchor
    people = _rows(demo_dir / "physicians.csv", shift)
    lic_by_npi = _by_npi(_rows(demo_dir / "licenses.csv", shift))
    cert_by_npi = _by_npi(_rows(demo_dir / "certifications.csv", shift))
    counts = {"physicians": 0, "licenses": 0, "certifications": 0, "skipped": 0}
    async with write_tx():  # one unit of work: the demo loads whole or not at all
        await _load(people, lic_by_npi, cert_by_npi, counts)
    return DemoLoad(**counts)


async def _load(
    people: list[dict[str, Any]],
    lic_by_npi: dict[str, list[dict[str, Any]]],
    cert_by_npi: dict[str, list[dict[str, Any]]],
    counts: dict[str, int],
) -> None:
    for person in people:
        if await physician_rows.get_by_npi(person["npi"]) is not None:
            counts["skipped"] += 1
            continue
        status = person.pop("status", "active")
        created = await physicians.create(msgspec.convert(person, PhysicianCreate), actor=ACTOR)
        counts["physicians"] += 1
        for lic in lic_by_npi.get(created.npi, []):
            await licenses.create(created.id, msgspec.convert(lic, LicenseCreate), actor=ACTOR)
            counts["licenses"] += 1
        for cert in cert_by_npi.get(created.npi, []):
            await certifications.create(created.id, msgspec.convert(cert, CertificationCreate), actor=ACTOR)
            counts["certifications"] += 1
        if status == "inactive":
            await physicians.deactivate(created.id, actor=ACTOR)
