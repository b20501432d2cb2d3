"""Row validation as a pure function of the file, reference data and a date: every error, by row and column."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.config import PROJECT_ROOT
from roster.imports import validation
from roster.imports.reader import read_roster
from roster.imports.validation import Reference, validate
from roster.physicians.npi import is_valid_npi
from roster.reference.schemas import SpecialtyRead
from roster.reference.service import SpecialtyIndex, read_specialties, read_state_rules
from tests import factories
from tests.integration.imports import roster_files as files

FIXTURES = PROJECT_ROOT / "fixtures"
TODAY = factories.TODAY  # the rows below are dated relative to it


def reference(roster_npis: tuple[str, ...] = ()) -> Reference:
    specialties = SpecialtyIndex([SpecialtyRead(**row) for row in read_specialties(FIXTURES / "specialties.csv")])
    states = {row["state"] for row in read_state_rules(FIXTURES / "state_rules.csv")}
    return Reference(specialties=specialties, states=states, roster_npis=set(roster_npis))


REF = reference()


def check(rows: list[files.Row], today: date = TODAY, ref: Reference = REF) -> validation.ValidatedRoster:
    return validate(read_roster(files.csv_bytes(rows)), today, ref)


def errors(rows: list[files.Row], **kwargs: object) -> list[tuple[int | None, str | None, str]]:
    return [(e.row, e.column, e.message) for e in check(rows, **kwargs).errors]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "written",
    ["1970-05-17", "05/17/1970", "5/17/1970", "19700517", "1970-05-17 00:00:00"],
)
def test_accepted_date_formats(written: str) -> None:
    result = check([files.physician(1, date_of_birth=written)])
    assert result.errors == []
    assert result.records["physician"][0].values["date_of_birth"] == date(1970, 5, 17)


@pytest.mark.parametrize("written", ["1970-02-30", "17/05/1970", "1970517", "May 17, 1970", "1970-05-17T10:00"])
def test_other_dates_are_errors_naming_the_cell(written: str) -> None:
    assert errors([files.physician(1, date_of_birth=written)]) == [
        (2, "date_of_birth", f"{written!r} is not a date; {validation.DATE_HINT}")
    ]


@pytest.mark.parametrize(
    ("written", "value"), [("TRUE", True), ("yes", True), ("0", False), ("No", False), ("", False)]
)
def test_booleans(written: str, value: bool) -> None:
    result = check([files.physician(1), files.license(1, restricted=written)])
    assert result.errors == []
    assert result.records["license"][0].values["restricted"] is value


def test_the_date_rules_use_the_date_given_not_the_clock() -> None:
    tomorrow = TODAY + timedelta(days=1)
    rows = [files.physician(1, credentialed_on=tomorrow.isoformat())]
    assert errors(rows, today=TODAY) == [(2, "credentialed_on", "is in the future")]
    assert errors(rows, today=tomorrow) == []


def test_empty_cells_take_the_api_defaults() -> None:
    result = check([files.physician(1, languages="", max_open_cases="", status=""), files.certification(1, status="")])
    values = result.records["physician"][0].values
    assert (values["languages"], values["max_open_cases"], values["status"]) == (["en"], 20, None)
    assert result.records["certification"][0].values["status"] == "certified"


def test_lists_are_split_stripped_and_deduplicated_as_the_api_does() -> None:
    result = check([files.physician(1, specialties=" medical_oncology ; 207RX0202X;;hematology", languages="en;en")])
    values = result.records["physician"][0].values
    assert values["specialties"] == ["medical_oncology", "hematology"]
    assert values["languages"] == ["en"]


def test_credentials_of_roster_physicians_need_no_physician_row() -> None:
    rows = [files.license(4)]
    assert errors(rows) == [(2, "npi", f"no physician with NPI {factories.npi(4)} in the file or on the roster")]
    assert errors(rows, ref=reference((factories.npi(4),))) == []


def test_a_credential_of_an_invalid_physician_row_is_not_blamed_for_it() -> None:
    rows = [files.physician(1, degree="PhD"), files.license(1)]
    assert errors(rows) == [(2, "degree", "Invalid enum value 'PhD'")]


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_npi_is_checked_exactly_as_the_api_does(npi: str) -> None:
    found = errors([files.physician(1, npi=npi)])
    if is_valid_npi(npi):
        assert found == []
    else:
        assert found == [(2, "npi", "check digit is invalid (Luhn over 80840 + NPI)")]


def test_counts_cover_valid_and_invalid_records() -> None:
    rows = files.roster_rows(3)
    rows[1]["state"] = "XX"
    result = check(rows)
    assert result.counts == {"physician": 3, "license": 3, "certification": 3}
    assert len(result.records["license"]) == 2 and len(result.errors) == 1


def test_error_listing_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "MAX_LISTED_ERRORS", 3)
    rows = [files.physician(n, degree="XX") for n in range(1, 7)]
    result = check(rows)
    assert result.error_count == 6
    assert [(e.row, e.column) for e in result.errors] == [(2, "degree"), (3, "degree"), (4, "degree"), (None, None)]
    assert result.errors[-1].message == "3 more errors not listed; fix these and upload again"
