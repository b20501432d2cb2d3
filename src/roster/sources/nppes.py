"""NPPES monthly dissemination file (``npidata_pfile_*.csv``, V2): what it says of the roster's NPIs.

The file is about 8-9 million rows of 330 fully quoted columns (9-10 GB unzipped; reference.md §4.2),
so it is never read whole: :func:`check_file` scans it lazily with every column as text, keeps only
the columns it needs (projection pushdown) and only the rows whose NPI is on the roster (predicate
pushdown into the reader), in one streaming pass. Dates are ``MM/DD/YYYY``. A deactivated NPI stays
in the file with little more than its NPI and deactivation date filled in; a reactivated one has a
reactivation date on or after its deactivation date.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from roster.sources._csv import UTF8_BOM, require_header
from roster.sources.records import ListFormatError

Outcome = Literal["verified", "deactivated", "not_found", "error"]

_LEADING = (
    "NPI",
    "Entity Type Code",
    "Replacement NPI",
    "Employer Identification Number (EIN)",
    "Provider Organization Name (Legal Business Name)",
    "Provider Last Name (Legal Name)",
    "Provider First Name",
    "Provider Middle Name",
    "Provider Name Prefix Text",
    "Provider Name Suffix Text",
    "Provider Credential Text",
    "Provider Other Organization Name",
    "Provider Other Organization Name Type Code",
    "Provider Other Last Name",
    "Provider Other First Name",
    "Provider Other Middle Name",
    "Provider Other Name Prefix Text",
    "Provider Other Name Suffix Text",
    "Provider Other Credential Text",
    "Provider Other Last Name Type Code",
    "Provider First Line Business Mailing Address",
    "Provider Second Line Business Mailing Address",
    "Provider Business Mailing Address City Name",
    "Provider Business Mailing Address State Name",
    "Provider Business Mailing Address Postal Code",
    "Provider Business Mailing Address Country Code (If outside U.S.)",
    "Provider Business Mailing Address Telephone Number",
    "Provider Business Mailing Address Fax Number",
    "Provider First Line Business Practice Location Address",
    "Provider Second Line Business Practice Location Address",
    "Provider Business Practice Location Address City Name",
    "Provider Business Practice Location Address State Name",
    "Provider Business Practice Location Address Postal Code",
    "Provider Business Practice Location Address Country Code (If outside U.S.)",
    "Provider Business Practice Location Address Telephone Number",
    "Provider Business Practice Location Address Fax Number",
    "Provider Enumeration Date",
    "Last Update Date",
    "NPI Deactivation Reason Code",
    "NPI Deactivation Date",
    "NPI Reactivation Date",
    "Provider Sex Code",
    "Authorized Official Last Name",
    "Authorized Official First Name",
    "Authorized Official Middle Name",
    "Authorized Official Title or Position",
    "Authorized Official Telephone Number",
)
#: Taxonomy/license slots and taxonomy groups (15 each) and other-identifier slots (50).
TAXONOMY_SLOTS = 15
OTHER_ID_SLOTS = 50
_TAXONOMY_GROUP = (
    "Healthcare Provider Taxonomy Code_{n}",
    "Provider License Number_{n}",
    "Provider License Number State Code_{n}",
    "Healthcare Provider Primary Taxonomy Switch_{n}",
)
_OTHER_ID_GROUP = (
    "Other Provider Identifier_{n}",
    "Other Provider Identifier Type Code_{n}",
    "Other Provider Identifier State_{n}",
    "Other Provider Identifier Issuer_{n}",
)
_TRAILING = (
    "Is Sole Proprietor",
    "Is Organization Subpart",
    "Parent Organization LBN",
    "Parent Organization TIN",
    "Authorized Official Name Prefix Text",
    "Authorized Official Name Suffix Text",
    "Authorized Official Credential Text",
)

#: The V2 header, in order (reference.md §4.2): 330 columns.
NPPES_HEADER: tuple[str, ...] = (
    *_LEADING,
    *(name.format(n=n) for n in range(1, TAXONOMY_SLOTS + 1) for name in _TAXONOMY_GROUP),
    *(name.format(n=n) for n in range(1, OTHER_ID_SLOTS + 1) for name in _OTHER_ID_GROUP),
    *_TRAILING,
    *(f"Healthcare Provider Taxonomy Group_{n}" for n in range(1, TAXONOMY_SLOTS + 1)),
    "Certification Date",
)
assert len(NPPES_HEADER) == 330, len(NPPES_HEADER)

NPI = "NPI"
ENTITY_TYPE = "Entity Type Code"
LAST_NAME = "Provider Last Name (Legal Name)"
FIRST_NAME = "Provider First Name"
MIDDLE_NAME = "Provider Middle Name"
CREDENTIAL = "Provider Credential Text"
ORGANIZATION = "Provider Organization Name (Legal Business Name)"
LAST_UPDATE = "Last Update Date"
DEACTIVATION_REASON = "NPI Deactivation Reason Code"
DEACTIVATED_ON = "NPI Deactivation Date"
REACTIVATED_ON = "NPI Reactivation Date"
#: The last column: null only when a record ends early (a truncated file).
LAST_COLUMN = NPPES_HEADER[-1]
_DATES = (LAST_UPDATE, DEACTIVATED_ON, REACTIVATED_ON)
_TAXONOMY_COLUMNS = tuple(tuple(name.format(n=n) for name in _TAXONOMY_GROUP) for n in range(1, TAXONOMY_SLOTS + 1))
#: The only columns read from the file.
PROJECTED: tuple[str, ...] = (
    NPI,
    ENTITY_TYPE,
    ORGANIZATION,
    LAST_NAME,
    FIRST_NAME,
    MIDDLE_NAME,
    CREDENTIAL,
    *_DATES,
    DEACTIVATION_REASON,
    *(name for slot in _TAXONOMY_COLUMNS for name in slot),
    LAST_COLUMN,
)
_ENTITY_TYPES = {"1": "individual", "2": "organization"}
_HEADER_SPAN = 1 << 16


@dataclass(frozen=True, slots=True)
class NpiCheck:
    """What one NPPES source said of one NPI. ``error`` outcomes never change a physician."""

    npi: str
    outcome: Outcome
    #: Name, entity type, taxonomies and license hints as NPPES published them.
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def npi_status(self) -> str | None:
        """The physician's ``npi_status`` this check establishes; ``None`` when it could not tell."""
        return {"verified": "active", "deactivated": "deactivated", "not_found": "deactivated"}.get(self.outcome)


@dataclass(frozen=True, slots=True)
class FileCheck:
    #: One check per NPI asked about (``full``), or per NPI found in the file (an increment).
    checks: dict[str, NpiCheck]
    #: How many of the NPIs asked about the file has a record for.
    found: int


def read_header(path: Path) -> tuple[str, ...]:
    """The file's header line, parsed as CSV (a leading UTF-8 BOM is dropped)."""
    with path.open("rb") as handle:
        head = handle.read(_HEADER_SPAN)
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    if not head.strip():
        raise ListFormatError("empty file")
    text = head.decode("utf-8", errors="replace")
    try:
        return tuple(next(csv.reader(io.StringIO(text))))
    except (csv.Error, StopIteration) as exc:
        raise ListFormatError(f"unreadable header ({exc})", line=1) from None


def require_nppes_header(header: tuple[str, ...]) -> None:
    """The V2 header exactly; a V1 file (329 columns, "Provider Gender Code") is named as such."""
    if len(header) == 329 and "Provider Gender Code" in header:
        raise ListFormatError(
            "this is a V1 NPPES file (329 columns, 'Provider Gender Code'); use the V2 file (330 columns)", line=1
        )
    require_header(header, NPPES_HEADER)


def scan_nppes(path: Path) -> pl.LazyFrame:
    """The whole file as a lazy frame of text columns, after checking its header."""
    require_nppes_header(read_header(path))
    return pl.scan_csv(
        path,
        has_header=True,
        schema=dict.fromkeys(NPPES_HEADER, pl.String()),
        quote_char='"',
        separator=",",
        encoding="utf8-lossy",
        raise_if_empty=False,
    )


def _text(name: str) -> pl.Expr:
    value = pl.col(name).str.strip_chars()
    return pl.when(value != "").then(value)


def _parsed_date(name: str) -> pl.Expr:
    value = pl.col(name).str.strip_chars()
    return pl.when(value.str.contains(r"^\d{2}/\d{2}/\d{4}$")).then(value).str.to_date("%m/%d/%Y", strict=False)


def _bad_date(name: str) -> pl.Expr:
    """A non-empty value that is not a real MM/DD/YYYY date."""
    return (pl.col(name).str.strip_chars() != "") & _parsed_date(name).is_null()


def _taxonomies(matched: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Each NPI's filled taxonomy/license slots, in slot order.

    The 15 slots are stacked into one long frame and only filled ones are turned into Python
    objects: most records fill one to three slots, and a ``concat_list`` of 15 structs (or a
    Python loop over every slot) costs more than the scan itself (``bench/nppes_bulk.py``).
    """
    long = pl.concat(
        [
            matched.select(
                pl.col(NPI),
                _text(code).alias("code"),
                _text(license).alias("license"),
                _text(state).alias("state"),
                (pl.col(switch).str.strip_chars() == "Y").alias("primary"),
            )
            for code, license, state, switch in _TAXONOMY_COLUMNS
        ]
    ).filter(pl.col("code").is_not_null())
    out: dict[str, list[dict[str, Any]]] = {}
    for npi, code, license, state, primary in long.iter_rows():
        out.setdefault(npi, []).append({"code": code, "license": license, "state": state, "primary": primary})
    return out


def _matched(scan: pl.LazyFrame, npis: Collection[str]) -> pl.LazyFrame:
    """Rows of the roster's NPIs, plus any record that ended early, with the few columns used.

    The filter comes before the projection so that polars pushes both into the reader. Rows are
    not counted: a count in the same plan makes polars cache the scan (``collect_all``) or map the
    whole file (``pl.len()``), several times the memory of the filtered scan.
    """
    wanted = pl.Series(NPI, sorted(set(npis)), dtype=pl.String()).implode()
    short = pl.col(LAST_COLUMN).is_null()
    return scan.filter(pl.col(NPI).is_in(wanted) | short).select(PROJECTED)


#: A full file that has records for fewer of the roster's NPIs than this is not trusted: it is more
#: likely a weekly increment or the wrong file than a mass deactivation.
MIN_FOUND_FRACTION = 0.5


def check_file(path: Path, npis: Collection[str], *, full: bool = True) -> FileCheck:
    """Check every NPI in ``npis`` against the file in one streaming pass.

    ``full`` (the monthly full file): an NPI absent from the file is ``not_found``, which NPPES's
    own API treats the same way (rules.md §3: "inactive or unknown"); a full file that lacks most of
    the roster is refused (:data:`MIN_FOUND_FRACTION`). With ``full=False`` (a weekly increment)
    an absent NPI is simply not reported. Raises :class:`ListFormatError` for a wrong header,
    malformed CSV or a truncated record (fields after the 330th are not read: the scan stops at the
    last column it needs); a bad value in one roster NPI's row only makes that NPI's check an ``error``.
    """
    scan = scan_nppes(path)
    try:
        matched = _matched(scan, npis).collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ListFormatError(f"unreadable NPPES file: {first}") from None
    short = matched.filter(pl.col(LAST_COLUMN).is_null())
    if short.height:
        npi = short.item(0, NPI)
        raise ListFormatError(
            f"truncated file: a record ends before column {len(NPPES_HEADER)} {LAST_COLUMN!r} (NPI {npi!r})"
        )
    checks = _checks(matched)
    found = len(checks)
    asked = len(set(npis))
    if full and asked and found < asked * MIN_FOUND_FRACTION:
        raise ListFormatError(
            f"only {found} of {asked} roster NPIs have a record in this file: not a full monthly NPPES file "
            "(a weekly increment, or another file); nothing was changed"
        )
    if full:
        for npi in npis:
            checks.setdefault(npi, NpiCheck(npi, "not_found", {"source": "file"}))
    return FileCheck(checks=checks, found=found)


def _checks(matched: pl.DataFrame) -> dict[str, NpiCheck]:
    rows = matched.select(
        pl.col(NPI),
        _text(ENTITY_TYPE).alias("entity_type"),
        _text(ORGANIZATION).alias("organization"),
        _text(LAST_NAME).alias("last_name"),
        _text(FIRST_NAME).alias("first_name"),
        _text(MIDDLE_NAME).alias("middle_name"),
        _text(CREDENTIAL).alias("credential"),
        _text(DEACTIVATION_REASON).alias("deactivation_reason"),
        *(_parsed_date(name).alias(name) for name in _DATES),
        pl.concat_list([pl.when(_bad_date(name)).then(pl.lit(name)) for name in _DATES])
        .list.drop_nulls()
        .alias("bad_dates"),
        *(pl.col(name).alias(f"raw {name}") for name in _DATES),
        pl.len().over(NPI).alias("copies"),
    )
    taxonomies = _taxonomies(matched)
    checks: dict[str, NpiCheck] = {}
    for row in rows.iter_rows(named=True):
        checks[row[NPI]] = _judge(row, taxonomies.get(row[NPI], []))
    return checks


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _judge(row: dict[str, Any], taxonomies: list[dict[str, Any]]) -> NpiCheck:
    npi = row[NPI]
    deactivated, reactivated = row[DEACTIVATED_ON], row[REACTIVATED_ON]
    details = {
        "source": "file",
        "entity_type": _ENTITY_TYPES.get(row["entity_type"] or "", row["entity_type"]),
        "name": {
            "first": row["first_name"],
            "middle": row["middle_name"],
            "last": row["last_name"],
            "credential": row["credential"],
            "organization": row["organization"],
        },
        "taxonomies": taxonomies,
        "last_updated": _iso(row[LAST_UPDATE]),
        "deactivated_on": _iso(deactivated),
        "deactivation_reason": row["deactivation_reason"],
        "reactivated_on": _iso(reactivated),
    }
    if row["copies"] > 1:
        return NpiCheck(npi, "error", details, f"NPI {npi} appears {row['copies']} times in the file")
    if row["bad_dates"]:
        name = row["bad_dates"][0]
        return NpiCheck(npi, "error", details, f"invalid date {row[f'raw {name}']!r} in {name!r}, expected MM/DD/YYYY")
    if deactivated is not None and (reactivated is None or reactivated < deactivated):
        return NpiCheck(npi, "deactivated", details)
    return NpiCheck(npi, "verified", details)
