"""The one shape every list reader produces, and the error a bad file raises."""

from __future__ import annotations

import polars as pl


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
    #: LEIE name/DOB/NPI fields): a dismissed hit is remembered against it.
    "record_key": pl.String(),
    #: SHA-256 of the row exactly as published: a changed row (new exclusion date) re-raises.
    "record_hash": pl.String(),
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
    #: JSON object of the row as published: column name -> text.
    "record": pl.String(),
}
