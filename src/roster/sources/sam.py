"""SAM.gov exclusions public extract: ``SAM_Exclusions_Public_Extract_V2_YYDDD.ZIP`` holding one
31-column CSV (reference.md §2.2-2.3).

``Active Date`` and ``Termination Date`` are ``MM/DD/YYYY`` (termination may be ``Indefinite``),
``Creation_Date`` is ``YYYY-MM-DD``; rows repeat, and ``SAM Number`` names the record. SAM has no
date of birth and rarely an NPI.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import polars as pl

from roster.sources._csv import (
    MM_DD_YYYY,
    YYYY_MM_DD,
    ZIP_MAGIC,
    dates,
    finish,
    joined,
    load,
    npi,
    published,
    read_csv_table,
    require_header,
    sha256_hex,
    text,
)
from roster.sources.records import ListFormatError

SAM_HEADER: tuple[str, ...] = (
    "Classification",
    "Name",
    "Prefix",
    "First",
    "Middle",
    "Last",
    "Suffix",
    "Address 1",
    "Address 2",
    "Address 3",
    "Address 4",
    "City",
    "State / Province",
    "Country",
    "Zip Code",
    "Open Data Flag",
    "Blank (Deprecated)",
    "Unique Entity ID",
    "Exclusion Program",
    "Excluding Agency",
    "CT Code",
    "Exclusion Type",
    "Additional Comments",
    "Active Date",
    "Termination Date",
    "Record Status",
    "Cross-Reference",
    "SAM Number",
    "CAGE",
    "NPI",
    "Creation_Date",
)

#: With the NPI, what identifies a party when its row has no SAM Number.
_IDENTITY = ("Classification", "Name", "First", "Middle", "Last", "Suffix", "Unique Entity ID", "CAGE")

#: A larger member is refused rather than inflated (the real CSV is about 66 MB).
_MAX_CSV_BYTES = 1 << 30


def _csv_from_zip(data: bytes) -> bytes:
    """The one ``.CSV`` member of the extract ZIP."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ListFormatError(f"not a readable ZIP archive ({exc})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and m.filename.lower().endswith(".csv")]
        if len(members) != 1:
            names = ", ".join(m.filename for m in members) or "none"
            raise ListFormatError(f"the ZIP must hold exactly one .CSV file, found {len(members)} ({names})")
        (member,) = members
        if member.file_size > _MAX_CSV_BYTES:
            raise ListFormatError(f"{member.filename} is {member.file_size} bytes uncompressed; too large")
        try:
            return archive.read(member)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise ListFormatError(f"cannot extract {member.filename} from the ZIP ({exc})") from None


def read_sam(source: bytes | Path) -> pl.DataFrame:
    """The SAM exclusions extract (the ZIP as downloaded, or its CSV) as a
    :data:`~roster.sources.records.LIST_SCHEMA` frame.

    ``entity`` is every Classification but ``Individual``; ``business_name`` is ``Name`` for those.
    ``record_key`` is the SAM Number, or when that is empty the SHA-256 of the name fields, UEI,
    CAGE and NPI; ``record`` keeps all 31 published values and duplicate rows collapse.
    """
    data = load(source)
    if data.startswith(ZIP_MAGIC):
        data = _csv_from_zip(data)
    table = read_csv_table(data)
    require_header(table.header, SAM_HEADER)
    active = dates(table, "Active Date", [MM_DD_YYYY])
    dates(table, "Termination Date", [MM_DD_YYYY], also_valid=("Indefinite",))
    dates(table, "Creation_Date", [YYYY_MM_DD])

    entity = pl.col("Classification").str.strip_chars() != "Individual"
    sam_number = text("SAM Number")
    identity = joined([*(text(name) for name in _IDENTITY), npi("NPI")])
    frame = (
        table.frame.with_columns(active.alias("__active"))
        .lazy()
        .select(
            pl.coalesce(sam_number, sha256_hex(pl.when(sam_number.is_null()).then(identity))).alias("record_key"),
            entity.alias("entity"),
            text("Last").alias("last_name"),
            text("First").alias("first_name"),
            text("Middle").alias("middle_name"),
            pl.when(entity).then(text("Name")).alias("business_name"),
            npi("NPI").alias("npi"),
            pl.lit(None, dtype=pl.Date).alias("dob"),
            text("State / Province").alias("state"),
            pl.col("__active").alias("excluded_on"),
            published(SAM_HEADER),
        )
    )
    return finish(frame)
