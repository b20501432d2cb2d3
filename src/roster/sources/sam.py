"""SAM.gov exclusions public extract: ``SAM_Exclusions_Public_Extract_V2_YYDDD.ZIP`` holding one
31-column CSV (reference.md §2.2-2.3).

``Active Date`` and ``Termination Date`` are ``MM/DD/YYYY`` (termination may be ``Indefinite``),
``Creation_Date`` is ``YYYY-MM-DD``; rows repeat, and ``SAM Number`` names the record. SAM has no
date of birth and rarely an NPI.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import polars as pl
from isal import isal_zlib

from roster.sources._csv import (
    MM_DD_YYYY,
    YYYY_MM_DD,
    ZIP_MAGIC,
    DateColumn,
    finish,
    joined,
    load,
    npi,
    peek,
    read_csv_table,
    require_header,
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

#: The published column holding each field the matcher compares (a hit's evidence names them).
FIELD_COLUMNS = {
    "npi": "NPI",
    "last_name": "Last",
    "first_name": "First",
    "middle_name": "Middle",
    "state": "State / Province",
}

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
            if member.compress_type == zipfile.ZIP_DEFLATED and not member.flag_bits & 0x1:
                return _inflated(data, member)
            return archive.read(member)
        except (zipfile.BadZipFile, zlib.error, isal_zlib.IsalError, EOFError, NotImplementedError) as exc:
            raise ListFormatError(f"cannot extract {member.filename} from the ZIP ({exc})") from None


def _inflated(data: bytes, member: zipfile.ZipInfo) -> bytes:
    """A deflated member inflated by ISA-L (``isal``): twice zlib's speed on the 34 MB extract, which a
    screening run otherwise waits for on one core. Checked as ``zipfile`` checks it: size and CRC-32."""
    offset = member.header_offset
    header = data[offset : offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local file header for {member.filename}")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = offset + 30 + name_length + extra_length
    raw = data[start : start + member.compress_size]
    if len(raw) != member.compress_size:
        raise zipfile.BadZipFile(f"{member.filename} is truncated")
    content = isal_zlib.decompress(raw, wbits=-15, bufsize=max(member.file_size, 1))
    if len(content) != member.file_size or isal_zlib.crc32(content) != member.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 or size for {member.filename}")
    return content


def read_sam(source: bytes | Path) -> pl.DataFrame:
    """The SAM exclusions extract (the ZIP as downloaded, or its CSV) as a
    :data:`~roster.sources.records.LIST_SCHEMA` frame.

    ``entity`` is every Classification but ``Individual``; ``business_name`` is ``Name`` for those.
    ``record_key`` is the SAM Number, or when that is empty the SHA-256 of the name fields, UEI,
    CAGE and NPI; ``record`` keeps all 31 published values and duplicate rows collapse.
    """
    data: bytes | Path = source
    if peek(source).startswith(ZIP_MAGIC):
        data = _csv_from_zip(load(source))
    table = read_csv_table(data, check_header=lambda header: require_header(header, SAM_HEADER))
    active = DateColumn("Active Date", [MM_DD_YYYY])
    checked = [
        active,
        DateColumn("Termination Date", [MM_DD_YYYY], also_valid=("Indefinite",)),
        DateColumn("Creation_Date", [YYYY_MM_DD]),
    ]

    entity = pl.col("Classification").str.strip_chars() != "Individual"
    sam_number = text("SAM Number")
    columns = {
        "record_key": sam_number,
        "entity": entity,
        **{f: text(FIELD_COLUMNS[f]) for f in ("last_name", "first_name", "middle_name")},
        "business_name": pl.when(entity).then(text("Name")),
        "npi": npi("NPI"),
        "dob": pl.lit(None, dtype=pl.Date),
        "state": text(FIELD_COLUMNS["state"]),
        "excluded_on": active.values(),
    }
    identity = joined([*(text(name) for name in _IDENTITY), npi("NPI")])
    # The SAM Number names a record: repeated rows share it, and few other rows do.
    return finish(table, columns, identity, checked, identity=("SAM Number",))
