"""Request bodies are bounded per endpoint: 413 problem details naming the field, nothing written or left on disk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from roster.audit.tables import AuditEvent
from roster.config import PROJECT_ROOT, Settings
from roster.physicians.tables import Physician
from roster.screening.tables import ListSnapshot
from tests.conftest import Api, TempDatabase

LIMIT = 64 * 1024
LEIE = PROJECT_ROOT / "fixtures" / "lists" / "UPDATED.csv"
BOUNDARY = "roster-test-boundary"


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings(max_list_file_bytes=LIMIT, max_roster_file_bytes=LIMIT, max_json_body_bytes=16 * 1024)


def too_large(response: Any, field: str) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 413
    assert [e["field"] for e in problem["errors"]] == [field]


async def nothing_written(settings: Settings) -> None:
    assert await ListSnapshot.count().run() == 0
    assert await Physician.count().run() == 0
    assert await AuditEvent.count().where(AuditEvent.entity != "api_key").run() == 0
    # The data directory outlives a test (parsed snapshots of earlier tests stay): look for what an upload stages.
    staged = [p for p in settings.data_dir.rglob("*") if p.suffix in (".upload", ".part", ".staged")]
    assert staged == []


def multipart(content: bytes, *, name: str = "file", filename: str = "UPDATED.csv") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def chunked(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    """A body sent without a Content-Length: the server learns its size only by reading it."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def test_a_list_file_announced_over_the_limit_is_refused(api: Api, settings: Settings) -> None:
    response = await api.post(
        "/api/v1/screening/oig_leie/snapshots",
        role="credentialing",
        files={"file": ("UPDATED.csv", b"x" * (LIMIT + 1), "text/csv")},
    )
    too_large(response, "file")
    await nothing_written(settings)


async def test_a_streamed_list_file_is_refused_as_soon_as_it_grows_over_the_limit(api: Api, settings: Settings) -> None:
    sent = 0
    body = multipart(b"y" * (LIMIT * 8))

    async def counting() -> AsyncIterator[bytes]:
        nonlocal sent
        async for chunk in chunked(body):
            sent += len(chunk)
            yield chunk

    response = await api.post(
        "/api/v1/screening/oig_leie/snapshots", role="credentialing", content=counting(), headers=MULTIPART
    )
    too_large(response, "file")
    await nothing_written(settings)


async def test_a_file_at_the_limit_is_taken(api: Api, settings: Settings) -> None:
    content = LEIE.read_bytes()
    assert len(content) <= LIMIT, "the sample LEIE file must fit the test's limit"
    response = await api.post(
        "/api/v1/screening/oig_leie/snapshots",
        role="credentialing",
        content=chunked(multipart(content)),
        headers=MULTIPART,
    )
    assert response.status_code == 201, response.text
    assert response.json()["rows"] > 0
    staged = [p.name for p in settings.data_dir.rglob("*.upload")]
    assert staged == []


async def test_a_roster_import_over_its_limit_is_refused(api: Api, settings: Settings) -> None:
    response = await api.post(
        "/api/v1/imports/roster",
        role="credentialing",
        content=chunked(multipart(b"npi,first_name\n" + b"1234567893,A\n" * 10_000, filename="roster.csv")),
        headers=MULTIPART,
    )
    too_large(response, "file")
    await nothing_written(settings)


async def test_a_json_body_over_the_limit_is_refused(api: Api, settings: Settings) -> None:
    response = await api.post(
        "/api/v1/physicians",
        role="credentialing",
        content=b'{"first_name": "' + b"a" * 20_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    too_large(response, "body")
    response = await api.post(
        "/api/v1/screening/oig_leie/snapshots",
        role="credentialing",
        content=b'{"url": "https://oig.hhs.gov/' + b"a" * 20_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    too_large(response, "body")
    await nothing_written(settings)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (multipart(b"a,b\n1,2\n", name="other"), "field 'file'"),
        (multipart(b"a")[: -len(f"--{BOUNDARY}--\r\n")], "multipart"),
        (b"not multipart at all", "multipart"),
        (multipart(b"a,b\n")[: -len(f"--{BOUNDARY}--\r\n")] + multipart(b"c,d\n"), "one file"),
    ],
    ids=["no file field", "truncated", "garbage", "two files"],
)
async def test_a_malformed_upload_names_the_field(api: Api, settings: Settings, body: bytes, message: str) -> None:
    for url in ("/api/v1/screening/oig_leie/snapshots", "/api/v1/imports/roster"):
        response = await api.post(url, role="credentialing", content=body, headers=MULTIPART)
        assert response.status_code == 422, (url, response.text)
        problem = response.json()
        assert [e["field"] for e in problem["errors"]] == ["file"], problem
        assert message in problem["detail"], problem
    await nothing_written(settings)


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROSTER_MAX_LIST_FILE_MB", "700")
    monkeypatch.setenv("ROSTER_MAX_ROSTER_FILE_MB", "3")
    settings = Settings.from_env()
    assert (settings.max_list_file_bytes, settings.max_roster_file_bytes) == (700 << 20, 3 << 20)
    monkeypatch.setenv("ROSTER_MAX_ROSTER_FILE_MB", "lots")
    with pytest.raises(ValueError, match="ROSTER_MAX_ROSTER_FILE_MB"):
        Settings.from_env()
