"""OIG LEIE: the monthly full file ``UPDATED.csv`` and the ``YYMMEXCL`` / ``YYMMREIN`` supplements.

All three share one 18-column, fully quoted layout (reference.md §1.2-1.3). Conventions: dates are
``YYYYMMDD`` with ``00000000`` (or ``""``) for none; a missing NPI is ``0000000000``, ``0`` or
``""``; an entity row has BUSNAME and no person name; the full file repeats some lines verbatim.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from roster.sources._csv import (
    YYYYMMDD,
    DateColumn,
    drop_repeated_rows,
    finish,
    joined,
    npi,
    read_csv_table,
    require_header,
    text,
)

LEIE_HEADER: tuple[str, ...] = (
    "LASTNAME",
    "FIRSTNAME",
    "MIDNAME",
    "BUSNAME",
    "GENERAL",
    "SPECIALTY",
    "UPIN",
    "NPI",
    "DOB",
    "ADDRESS",
    "CITY",
    "STATE",
    "ZIP",
    "EXCLTYPE",
    "EXCLDATE",
    "REINDATE",
    "WAIVERDATE",
    "WVRSTATE",
)

#: The published column holding each field the matcher compares (a hit's evidence names them).
FIELD_COLUMNS = {
    "npi": "NPI",
    "last_name": "LASTNAME",
    "first_name": "FIRSTNAME",
    "middle_name": "MIDNAME",
    "dob": "DOB",
    "state": "STATE",
}

_NO_DATE = ("", "00000000")
#: The cells that tell one exclusion from another, for finding repeated lines (see _csv.finish).
_PARTY = ("LASTNAME", "FIRSTNAME", "MIDNAME", "BUSNAME", "NPI", "DOB", "EXCLTYPE", "EXCLDATE")


def read_leie(source: bytes | Path) -> pl.DataFrame:
    """A LEIE file (full or supplement) as a :data:`~roster.sources.records.LIST_SCHEMA` frame.

    ``record_key`` is the SHA-256 of LASTNAME, FIRSTNAME, MIDNAME, BUSNAME, DOB and NPI after
    normalising (stripped; placeholder NPI and ``00000000`` DOB as empty), so the same party keeps
    its key from month to month; ``record`` keeps all 18 published values (what a hit's
    ``record_hash`` covers). Byte-identical duplicate lines become one row.
    """
    table = read_csv_table(source, check_header=lambda header: require_header(header, LEIE_HEADER))
    dob_column = DateColumn("DOB", [YYYYMMDD], nulls=_NO_DATE)
    excluded_column = DateColumn("EXCLDATE", [YYYYMMDD], nulls=_NO_DATE)
    dob, excluded_on = dob_column.values(), excluded_column.values()

    last, first, middle = (text(FIELD_COLUMNS[f]) for f in ("last_name", "first_name", "middle_name"))
    business = text("BUSNAME")
    columns = {
        "record_key": pl.lit(None, dtype=pl.String),
        "entity": business.is_not_null() & last.is_null() & first.is_null(),
        "last_name": last,
        "first_name": first,
        "middle_name": middle,
        "business_name": business,
        "npi": npi("NPI"),
        "dob": dob,
        "state": text(FIELD_COLUMNS["state"]),
        "excluded_on": excluded_on,
    }
    # A DOB is a placeholder or eight digits that parse (else the file is refused): the text itself, then.
    dob_text = pl.col("DOB").str.strip_chars().replace(list(_NO_DATE), None)
    hashed = joined([last, first, middle, business, dob_text, npi("NPI")])
    # A party and its exclusion: repeated rows share them, and few other rows do.
    return finish(table, columns, hashed, [dob_column, excluded_column], identity=_PARTY)


def apply_leie_supplement(base: pl.DataFrame, supplement: pl.DataFrame, kind: Literal["excl", "rein"]) -> pl.DataFrame:
    """Bring a LEIE frame forward by one monthly supplement (both read with :func:`read_leie`).

    ``excl`` appends the supplement's rows not already present (the same published ``record``); ``rein``
    removes every base row of a reinstated party's exclusion: same ``record_key`` and the same
    ``excluded_on``. Row order is kept.
    """
    if kind == "excl":
        return drop_repeated_rows(pl.concat([base, supplement], how="vertical"))
    if kind == "rein":
        reinstated = supplement.select("record_key", "excluded_on").unique()
        return base.join(
            reinstated, on=["record_key", "excluded_on"], how="anti", nulls_equal=True, maintain_order="left"
        )
    raise ValueError(f"kind must be 'excl' or 'rein', not {kind!r}")
