"""CMS Preclusion List as uploaded by a plan: a CSV or the first sheet of an XLSX workbook.

CMS does not publish the list, so its layout is configurable (reference.md §3.3, api.md): the
default header is ``NPI,Last Name,First Name,Middle Name,Business Name,Provider Type,Effective
Date,Claim Denial Date,Reason``; another file is read through a :class:`PreclusionLayout` naming the
file's column for each field. Dates are ``YYYY-MM-DD`` or ``MM/DD/YYYY`` (a spreadsheet date cell
reads as ``YYYY-MM-DD 00:00:00`` and is accepted too). Columns the layout does not name are kept in
``record`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec
import polars as pl

from roster.sources._csv import (
    M_D_YYYY,
    YYYY_MM_DD_MIDNIGHT,
    ZIP_MAGIC,
    DateColumn,
    finish,
    joined,
    load,
    npi,
    peek,
    read_csv_table,
    read_xlsx_table,
    require_columns,
    text,
)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_DATE_FORMATS = (YYYY_MM_DD_MIDNIGHT, M_D_YYYY)


class PreclusionLayout(msgspec.Struct, frozen=True, kw_only=True):
    """For each field, the header name of the file's column holding it (``None``: the file has
    no such column). NPI and the effective date are required."""

    npi: str = "NPI"
    last_name: str | None = "Last Name"
    first_name: str | None = "First Name"
    middle_name: str | None = "Middle Name"
    business_name: str | None = "Business Name"
    provider_type: str | None = "Provider Type"
    effective_date: str = "Effective Date"
    claim_denial_date: str | None = "Claim Denial Date"
    reason: str | None = "Reason"
    #: Not in the default layout; some plans' files carry the provider's state.
    state: str | None = None

    def columns(self) -> dict[str, str]:
        """Field name -> file column, for the fields this layout maps."""
        return {field: getattr(self, field) for field in self.__struct_fields__ if getattr(self, field) is not None}


DEFAULT_LAYOUT = PreclusionLayout()


def layout_with(overrides: Mapping[str, str | None]) -> PreclusionLayout:
    """The default layout with some fields mapped to other headers (or to ``None``: no such column)."""
    unknown = sorted(set(overrides) - set(PreclusionLayout.__struct_fields__))
    if unknown:
        raise ValueError(
            f"unknown preclusion field(s) {', '.join(unknown)}; fields: {', '.join(PreclusionLayout.__struct_fields__)}"
        )
    for required in ("npi", "effective_date"):
        if required in overrides and not overrides[required]:
            raise ValueError(f"the preclusion field {required} must be mapped to a column")
    return msgspec.structs.replace(DEFAULT_LAYOUT, **overrides)


def _is_spreadsheet(data: bytes, file_name: str | None) -> bool:
    if data.startswith((ZIP_MAGIC, _OLE_MAGIC)):
        return True
    return file_name is not None and file_name.lower().endswith(_SPREADSHEET_SUFFIXES)


def read_preclusion(
    source: bytes | Path, *, layout: PreclusionLayout = DEFAULT_LAYOUT, file_name: str | None = None
) -> pl.DataFrame:
    """A plan-supplied Preclusion List as a :data:`~roster.sources.records.LIST_SCHEMA` frame.

    XLSX is recognised by its ZIP signature or a ``.xlsx`` name (``file_name``, else the path's
    name); anything else is read as CSV. Every column the layout maps must be present, else
    :class:`~roster.sources.records.ListFormatError` names the missing ones. ``record_key`` is the
    NPI, or the SHA-256 of the names when there is none; ``excluded_on`` is the effective date.
    """
    if file_name is None and isinstance(source, Path):
        file_name = source.name
    mapped = layout.columns()
    if _is_spreadsheet(peek(source), file_name):
        table = read_xlsx_table(load(source))
        require_columns(table.header, mapped.values())
    else:
        table = read_csv_table(source, check_header=lambda header: require_columns(header, mapped.values()))
    effective = DateColumn(layout.effective_date, _DATE_FORMATS)
    checked = [effective]
    if layout.claim_denial_date is not None:
        checked.append(DateColumn(layout.claim_denial_date, _DATE_FORMATS))

    def field(name: str) -> pl.Expr:
        column = mapped.get(name)
        return text(column) if column is not None else pl.lit(None, dtype=pl.String)

    last, first, middle = field("last_name"), field("first_name"), field("middle_name")
    business = field("business_name")
    listed_npi = npi(layout.npi)
    columns = {
        "record_key": listed_npi,
        "entity": business.is_not_null() & last.is_null() & first.is_null(),
        "last_name": last,
        "first_name": first,
        "middle_name": middle,
        "business_name": business,
        "npi": listed_npi,
        "dob": pl.lit(None, dtype=pl.Date),
        "state": field("state"),
        "excluded_on": effective.values(),
    }
    return finish(table, columns, joined([last, first, middle, business]), checked)
