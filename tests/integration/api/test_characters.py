"""A NUL character (U+0000) in any text is a 422 naming the field on both backends, never a 500 or a write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from roster.audit.tables import AuditEvent
from roster.keys.tables import ApiKey
from roster.physicians.tables import Physician
from tests import factories
from tests.conftest import Api
from tests.integration.imports import roster_files as files

JSON = {"Content-Type": "application/json"}


def refused(response: Any, *fields: str) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == list(fields), problem
    assert all("NUL" in e["message"] for e in problem["errors"]), problem


async def writes() -> tuple[int, int]:
    return await Physician.count().run(), await AuditEvent.count().where(AuditEvent.entity != "api_key").run()


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"first_name": "A\x00n"}, ["first_name"]),
        ({"middle_name": "x\x00", "suffix": "\x00"}, ["middle_name", "suffix"]),
        ({"languages": ["en", "e\x00"]}, ["languages.1"]),
        ({"email": "a\x00@b.example"}, ["email"]),
    ],
    ids=["first name", "two fields", "list item", "email"],
)
async def test_a_physician_with_a_nul_is_refused(api: Api, overrides: dict[str, Any], fields: list[str]) -> None:
    body = json.dumps(factories.physician(**overrides)).encode()
    assert b"\\u0000" in body
    refused(await api.post("/api/v1/physicians", role="credentialing", content=body, headers=JSON), *fields)
    assert await writes() == (0, 0)


async def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(api: Api) -> None:
    response = await api.post(
        "/api/v1/physicians", role="credentialing", json=factories.physician(middle_name="\\u0000")
    )
    assert response.status_code == 201, response.text
    assert response.json()["middle_name"] == "\\u0000"


async def test_a_patch_with_a_nul_is_refused(api: Api) -> None:
    created = (await api.post("/api/v1/physicians", role="credentialing", json=factories.physician())).json()
    before = await writes()
    response = await api.patch(f"/api/v1/physicians/{created['id']}", role="credentialing", json={"last_name": "B\x00"})
    refused(response, "last_name")
    assert await writes() == before


async def test_a_key_name_with_a_nul_is_refused(api: Api) -> None:
    keys = await ApiKey.count().run()
    refused(await api.post("/api/v1/keys", json={"name": "a\x00b", "role": "auditor"}), "name")
    assert await ApiKey.count().run() == keys


@pytest.mark.parametrize(
    ("url", "field"),
    [("/api/v1/physicians?q=a%00b", "q"), ("/api/v1/keys?name=%00", "name"), ("/fhir/Practitioner?_id=%00", "_id")],
)
async def test_a_query_parameter_with_a_nul_is_refused(api: Api, url: str, field: str) -> None:
    response = await api.get(url)
    assert response.status_code in (400, 422), response.text
    assert field in response.text and "NUL" in response.text


async def test_a_roster_file_cell_with_a_nul_is_reported_by_row_and_column(api: Api) -> None:
    content = files.csv_bytes([files.physician(1, first_name="Ann\x00e")])
    response = await api.post(
        "/api/v1/imports/roster", role="credentialing", files={"file": ("roster.csv", content, "text/csv")}
    )
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors if "NUL" in e["message"]] == [(2, "first_name")], errors
    assert await writes() == (0, 0)
