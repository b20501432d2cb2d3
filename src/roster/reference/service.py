"""Specialties and state rules: knowledge kept as data in ``fixtures/``, loaded on ``roster migrate``."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from roster.db import write_tx
from roster.errors import InvalidInput
from roster.reference import repository
from roster.reference.schemas import SpecialtyRead

_USPS = re.compile(r"[A-Z]{2}")
SPECIALTY_COLUMNS = ["slug", "name", "nucc_codes", "boards", "similarity_group", "physician"]
STATE_RULE_COLUMNS = ["state", "name", "kind", "requires_in_state_license", "review_types", "license_types", "citation"]


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def _bool(value: str | None, where: str) -> bool:
    text = (value or "").strip().lower()
    if text not in {"true", "false"}:
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    return text == "true"


def _read(path: Path, columns: list[str]) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False)
    if frame.columns != columns:
        raise ValueError(f"{path.name}: header must be {','.join(columns)}; got {','.join(frame.columns)}")
    return frame


def read_specialties(path: Path) -> list[dict[str, object]]:
    rows = []
    for i, row in enumerate(_read(path, SPECIALTY_COLUMNS).iter_rows(named=True), start=2):
        if not row["slug"] or not row["similarity_group"]:
            raise ValueError(f"{path.name} line {i}: slug and similarity_group are required")
        rows.append(
            {
                "slug": row["slug"].strip(),
                "name": (row["name"] or "").strip(),
                "nucc_codes": _split(row["nucc_codes"]),
                "boards": [b.upper() for b in _split(row["boards"])],
                "similarity_group": row["similarity_group"].strip(),
                "physician": _bool(row["physician"], f"{path.name} line {i} physician"),
            }
        )
    return rows


def read_state_rules(path: Path) -> list[dict[str, object]]:
    rows = []
    for i, row in enumerate(_read(path, STATE_RULE_COLUMNS).iter_rows(named=True), start=2):
        state = (row["state"] or "").strip()
        if not _USPS.fullmatch(state):
            raise ValueError(f"{path.name} line {i}: bad state code {state!r}")
        rows.append(
            {
                "state": state,
                "name": (row["name"] or "").strip(),
                "kind": (row["kind"] or "").strip(),
                "requires_in_state_license": _bool(row["requires_in_state_license"], f"{path.name} line {i}"),
                "review_types": _split(row["review_types"]),
                "license_types": _split(row["license_types"]),
                "citation": (row["citation"] or "").strip(),
            }
        )
    return rows


async def sync_reference_data(fixtures_dir: Path) -> tuple[int, int]:
    """Make the specialty and state-rule tables equal to the fixtures; safe to run any number of times."""
    specialties = read_specialties(fixtures_dir / "specialties.csv")
    state_rules = read_state_rules(fixtures_dir / "state_rules.csv")
    async with write_tx():
        await repository.replace_specialties(specialties)
        await repository.replace_state_rules(state_rules)
    return len(specialties), len(state_rules)


class SpecialtyIndex:
    """Resolves a slug or NUCC code to a specialty; built from one query per use."""

    def __init__(self, specialties: list[SpecialtyRead]) -> None:
        self.by_slug = {s.slug: s for s in specialties}
        self.by_code = {code: s for s in specialties for code in s.nucc_codes}

    def resolve(self, ref: str) -> SpecialtyRead | None:
        return self.by_slug.get(ref) or self.by_code.get(ref.upper())

    def resolve_physician_specialty(self, ref: str, field: str) -> SpecialtyRead:
        specialty = self.resolve(ref)
        if specialty is None:
            raise InvalidInput.on(field, f"unknown specialty {ref!r}: use a slug or NUCC code from the specialty table")
        if not specialty.physician:
            raise InvalidInput.on(field, f"{specialty.slug!r} is not a physician specialty")
        return specialty


async def specialty_index() -> SpecialtyIndex:
    rows = await repository.all_specialties()
    return SpecialtyIndex([SpecialtyRead(**row) for row in rows])


async def specialty_slug(ref: str, field: str = "specialty") -> str:
    """The slug of the specialty ``ref`` names (a slug or NUCC code, as a filter takes it); else a 422."""
    resolved = (await specialty_index()).resolve(ref)
    if resolved is None:
        raise InvalidInput.on(field, f"unknown specialty {ref!r}")
    return resolved.slug


async def require_state(state: str, field: str = "state") -> None:
    if not await repository.state_exists(state):
        raise InvalidInput.on(field, f"{state!r} is not a USPS code of a state, DC or territory")
