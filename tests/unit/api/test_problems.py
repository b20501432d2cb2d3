"""Litestar/msgspec validation messages become 422 problems that name the field.

The ``extra`` items below are what Litestar 2 actually produces for a msgspec request body
(``{"message": ..., "key": ..., "source": "body"}``, message cut at " - "), plus the longer
msgspec spelling that still carries "- at `$.path`".
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions import ValidationException

from roster.api.problems import _field_of, _validation_problem


def problem_for(*extra: dict[str, Any], detail: str = "Validation failed for POST /physicians") -> Any:
    return _validation_problem(ValidationException(detail=detail, extra=list(extra)))


def fields(problem: Any) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in problem.errors]


def test_problem_shape() -> None:
    problem = problem_for({"message": "Expected `str`, got `int`", "key": "npi", "source": "body"})
    assert problem.status == 422
    assert problem.title == "Invalid input"
    assert problem.type == "https://roster.dev/problems/invalid-input"
    assert problem.detail == "npi: Expected `str`, got `int`"


def test_regex_message_with_path_suffix() -> None:
    problem = problem_for(
        {
            "message": "Expected `str` matching regex '^[0-9]{10}$' - at `$.npi`",
            "key": "npi",
            "source": "body",
        }
    )
    assert fields(problem) == [("npi", "Expected `str` matching regex '^[0-9]{10}$'")]
    assert "$." not in problem.detail


def test_regex_message_as_litestar_sends_it() -> None:
    problem = problem_for({"message": "Expected `str` matching regex '^[0-9]{10}$'", "key": "npi", "source": "body"})
    assert fields(problem) == [("npi", "Expected `str` matching regex '^[0-9]{10}$'")]


@pytest.mark.parametrize(
    "item",
    [
        {"message": "Object contains unknown field `foo`", "key": "data", "source": "body"},
        {"message": "Object contains unknown field `foo`"},
        {"message": "Object contains unknown field `foo` - at `$`", "key": "data", "source": "body"},
    ],
)
def test_unknown_field(item: dict[str, Any]) -> None:
    assert fields(problem_for(item)) == [("foo", "Object contains unknown field `foo`")]


@pytest.mark.parametrize(
    "item",
    [
        {"message": "Object missing required field `last_name`", "key": "data", "source": "body"},
        {"message": "Object missing required field `last_name` - at `$`"},
    ],
)
def test_missing_required_field(item: dict[str, Any]) -> None:
    assert fields(problem_for(item)) == [("last_name", "Object missing required field `last_name`")]


@pytest.mark.parametrize(
    "item",
    [
        {"message": "Expected `str` matching regex '^[a-z]{2}$'", "key": "languages[0]", "source": "body"},
        {"message": "Expected `str` matching regex '^[a-z]{2}$' - at `$.languages[0]`", "key": "data"},
        {"message": "Expected `str` matching regex '^[a-z]{2}$' - at `$.languages[0]`"},
    ],
)
def test_nested_list_item(item: dict[str, Any]) -> None:
    assert fields(problem_for(item)) == [("languages.0", "Expected `str` matching regex '^[a-z]{2}$'")]


def test_deeply_nested_path() -> None:
    item = {"message": "Expected `int`, got `str` - at `$.licenses[2].history[10].count`"}
    assert _field_of(item) == "licenses.2.history.10.count"


def test_unknown_field_in_nested_object_with_path_in_message() -> None:
    item = {
        "message": "Object contains unknown field `zip` - at `$.address`",
        "key": "address",
        "source": "body",
    }
    assert fields(problem_for(item)) == [("address.zip", "Object contains unknown field `zip`")]
    item = {"message": "Object contains unknown field `zip` - at `$.addresses[0]`"}
    assert _field_of(item) == "addresses.0.zip"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (
            {"message": "Object contains unknown field `zip`", "key": "address", "source": "body"},
            "address.zip",
        ),
        (
            {"message": "Object missing required field `city`", "key": "addresses[0]", "source": "body"},
            "addresses.0.city",
        ),
    ],
)
def test_unknown_field_in_nested_object_as_litestar_sends_it(item: dict[str, Any], field: str) -> None:
    assert _field_of(item) == field


def test_query_parameter() -> None:
    item = {"message": "Expected `int <= 500`", "key": "limit", "source": "query"}
    assert fields(problem_for(item, detail="Validation failed for GET /physicians")) == [
        ("limit", "Expected `int <= 500`")
    ]


def test_whole_body_of_wrong_type_is_body() -> None:
    item = {"message": "Expected `object`, got `array`", "key": "data", "source": "body"}
    assert fields(problem_for(item)) == [("body", "Expected `object`, got `array`")]


def test_several_errors_keep_order_and_join_detail() -> None:
    problem = problem_for(
        {"message": "Expected `str`, got `int`", "key": "npi", "source": "body"},
        {"message": "Object missing required field `last_name`", "key": "data", "source": "body"},
        {"message": "Expected `str` matching regex '^[a-z]{2}$'", "key": "languages[1]", "source": "body"},
    )
    assert [f for f, _ in fields(problem)] == ["npi", "last_name", "languages.1"]
    assert problem.detail == (
        "npi: Expected `str`, got `int`; last_name: Object missing required field `last_name`; "
        "languages.1: Expected `str` matching regex '^[a-z]{2}$'"
    )


def test_item_without_message() -> None:
    assert fields(problem_for({"key": "email"})) == [("email", "invalid value")]
    assert fields(problem_for({"message": " - at `$.email`"})) == [("email", "invalid value")]


@pytest.mark.parametrize("extra", [None, [], "some text", ["not a dict"], {"key": "npi"}])
def test_no_usable_extras_is_body(extra: Any) -> None:
    problem = _validation_problem(ValidationException(detail="JSON is malformed", extra=extra))
    assert fields(problem) == [("body", "JSON is malformed")]
    assert problem.detail == "body: JSON is malformed"


def test_no_extra_argument_is_body() -> None:
    problem = _validation_problem(ValidationException(detail="Invalid request body"))
    assert fields(problem) == [("body", "Invalid request body")]


def test_missing_required_query_parameter_names_it() -> None:
    detail = "Missing required query parameter 'line_of_business' for path /api/v1/reports/coverage"
    problem = _validation_problem(ValidationException(detail=detail))
    assert fields(problem) == [("line_of_business", "is required")]
