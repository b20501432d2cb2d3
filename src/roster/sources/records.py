"""The one shape every list reader produces, the error a bad file raises, and the two derived forms of a
published row (its SHA-256 and its JSON), computed only for the rows that need them."""

from __future__ import annotations

import polars as pl
import polars_hash  # noqa: F401  (registers the ``chash`` expression namespace)


class ListFormatError(ValueError):
    """The file is not a readable instance of its publisher's format; nothing from it is stored."""

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        self.line = line
        self.column = column
        where = ", ".join(
            part for part in (f"line {line}" if line else "", f"column {column}" if column else "") if part
        )
        super().__init__(f"{message} ({where})" if where else message)


#: Columns of a normalized list frame, in order.
LIST_SCHEMA: dict[str, pl.DataType] = {
    #: Stable identity of the listed party within its source (e.g. SAM Number, or a hash of the
    #: LEIE name/DOB/NPI fields): a dismissed hit is remembered against it. Always computed from
    #: the row's own cells, so identical rows share it (readers rely on that to drop repeats).
    "record_key": pl.String(),
    #: A business/firm row: never matched to a physician by name.
    "entity": pl.Boolean(),
    "last_name": pl.String(),
    "first_name": pl.String(),
    "middle_name": pl.String(),
    "business_name": pl.String(),
    #: Null when the publisher left it empty or wrote a placeholder such as ``0000000000``.
    "npi": pl.String(),
    "dob": pl.Date(),
    "state": pl.String(),
    #: LEIE EXCLDATE, SAM Active Date, preclusion effective date.
    "excluded_on": pl.Date(),
}

#: The last column of a list frame: the row as published, a Struct with one String field per header
#: name, in header order (so its exact type depends on the file). Hashing and serialising 150,000
#: rows costs more than parsing them, and only the few rows that become hits need either: see
#: :func:`record_hash` and :func:`record_json`.
RECORD = "record"
#: Joins the published values before hashing; never appears in published text.
SEP = "\x1f"


def sha256_hex(expr: pl.Expr) -> pl.Expr:
    """SHA-256 hex digest of each value (UTF-8 text); null stays null.

    Keys and hashes are stored and compared month after month, so this is SHA-256 itself (polars-hash,
    RustCrypto's ``sha2``), not polars' own hashing, which may change between versions. It runs inside
    polars, on every core: hashing a list's 80,000 keys in Python would hold the GIL for 60 ms."""
    return expr.chash.sha2_256()


def record_hash(record: pl.Series) -> pl.Series:
    """SHA-256 (hex) of each published row: its values in header order joined by :data:`SEP`, UTF-8.

    Stored with a hit, it must never change for the same published row (a dismissed hit is
    remembered against it; a changed row, say a new exclusion date, re-raises): see :func:`sha256_hex`.
    """
    values = pl.concat_str(pl.all().fill_null(""), separator=SEP)
    return record.to_frame().unnest(record.name).select(sha256_hex(values).alias("record_hash")).to_series()


def record_json(record: pl.Series) -> pl.Series:
    """Compact JSON object of each published row, keys in header order."""
    return record.struct.json_encode().alias("record")
