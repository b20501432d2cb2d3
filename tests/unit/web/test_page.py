"""The form and link helpers every page is built on."""

from __future__ import annotations

from datetime import date

import pytest

from roster.errors import FieldError, InvalidInput, RosterError
from roster.licenses.schemas import LicenseCreate, LicenseUpdate
from roster.web.page import decode_form, field_errors, form_values, query_string

GOOD = {
    "_csrf_token": "x" * 43,
    "state": "TX",
    "number": " A123 ",
    "license_type": "MD",
    "status": "active",
    "issued_on": "2020-01-01",
    "expires_on": "2030-01-01",
    "verified_on": "",
}


def test_a_form_becomes_the_api_schema_with_blank_fields_left_out() -> None:
    values = form_values(GOOD, booleans=("restricted",))
    assert "_csrf_token" not in values and "verified_on" not in values
    assert values["restricted"] is False and values["number"] == "A123"
    made = decode_form(values, LicenseCreate)
    assert made.issued_on == date(2020, 1, 1) and made.verified_on is None and made.restricted is False


def test_a_checked_box_is_true() -> None:
    assert form_values({"restricted": "on"}, booleans=("restricted",)) == {"restricted": True}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expires_on": "2030-02-30"}, "expires_on"),
        ({"issued_on": "yesterday"}, "issued_on"),
        ({"state": "Texas"}, "state"),
        ({"status": "sort of"}, "status"),
        ({"number": ""}, "number"),
    ],
)
def test_a_bad_field_is_named_as_the_api_names_it(change: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_form(form_values({**GOOD, **change}), LicenseCreate)
    errors = field_errors(caught.value)
    assert list(errors) == [field] or (field in errors), errors
    assert errors[field]


def test_an_unknown_field_is_refused_like_the_api() -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_form({**form_values(GOOD), "owner": "me"}, LicenseCreate)
    assert "owner" in str(caught.value)


def test_errors_without_fields_go_to_the_form() -> None:
    assert field_errors(RosterError(detail="the list is busy", status=409)) == {"_": "the list is busy"}
    both = field_errors(RosterError(detail="not allowed now", errors=[FieldError("state", "unknown")]))
    assert both == {"state": "unknown", "_": "not allowed now"}


def test_links_keep_the_filters_and_drop_blanks() -> None:
    assert query_string({"state": "TX", "q": "", "cursor": "abc"}, cursor=None) == "?state=TX"
    assert query_string({"q": "O'Brien & Sons"}) == "?q=O%27Brien+%26+Sons"
    assert query_string({}) == "?"


def test_an_edit_form_sends_an_emptied_field_as_null() -> None:
    """A PATCH: null clears an optional field and is "required" on a required one."""
    values = form_values({**GOOD, "verification_source": "  "}, booleans=("restricted",), blank_clears=True)
    assert values["verified_on"] is None and values["verification_source"] is None
    patch = decode_form(values, LicenseUpdate)
    assert patch.verified_on is None and patch.verification_source is None and patch.number == "A123"
    with pytest.raises(InvalidInput) as caught:
        decode_form(form_values({**GOOD, "number": ""}, blank_clears=True), LicenseUpdate)
    assert field_errors(caught.value) == {"number": "required"}
