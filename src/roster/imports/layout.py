"""The roster file layout, shared by import and export (fixtures/templates/README.md documents it).

A CSV holds one record per line, with a ``record`` column saying what it is (``physician``,
``license`` or ``certification``) and the union of the three records' columns; a cell that does not
belong to the record type stays empty. An XLSX workbook holds the same records on three sheets
(``physicians``, ``licenses``, ``certifications``), each with only its own columns. Credentials are
keyed to their physician by ``npi``.
"""

from __future__ import annotations

from typing import Literal

RecordKind = Literal["physician", "license", "certification"]

RECORD = "record"

PHYSICIAN_COLUMNS = (
    "npi",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "former_last_names",
    "date_of_birth",
    "degree",
    "email",
    "languages",
    "lines_of_business",
    "specialties",
    "clinical_practice_start",
    "credentialed_on",
    "irr_passed_on",
    "max_open_cases",
    "status",
    "time_zone",
)
LICENSE_COLUMNS = (
    "npi",
    "state",
    "number",
    "license_type",
    "status",
    "restricted",
    "issued_on",
    "expires_on",
    "verified_on",
    "verification_source",
)
CERTIFICATION_COLUMNS = (
    "npi",
    "board",
    "specialty",
    "status",
    "certified_on",
    "expires_on",
    "time_unlimited",
    "moc_status",
    "verified_on",
    "verification_source",
)

COLUMNS: dict[RecordKind, tuple[str, ...]] = {
    "physician": PHYSICIAN_COLUMNS,
    "license": LICENSE_COLUMNS,
    "certification": CERTIFICATION_COLUMNS,
}
KINDS: tuple[RecordKind, ...] = ("physician", "license", "certification")
#: Columns a file may leave out of its header (added after the layout first shipped); read as empty.
OPTIONAL_COLUMNS = frozenset({"time_zone"})
#: XLSX sheet of each record kind, in workbook order.
SHEETS: dict[RecordKind, str] = {"physician": "physicians", "license": "licenses", "certification": "certifications"}

#: The CSV header: ``record``, then every record's columns once, in the order first met.
CSV_COLUMNS: tuple[str, ...] = (RECORD, *dict.fromkeys(c for kind in KINDS for c in COLUMNS[kind]))

DATE_COLUMNS = frozenset(
    {
        "date_of_birth",
        "clinical_practice_start",
        "credentialed_on",
        "irr_passed_on",
        "issued_on",
        "expires_on",
        "verified_on",
        "certified_on",
    }
)
#: Lists are written ``;``-separated in one cell.
LIST_COLUMNS = frozenset({"former_last_names", "languages", "lines_of_business", "specialties"})
LIST_SEPARATOR = ";"
BOOL_COLUMNS = frozenset({"restricted", "time_unlimited"})
INT_COLUMNS = frozenset({"max_open_cases"})
