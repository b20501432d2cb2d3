"""Evidence uploads: PDF or PNG by their first bytes, stored once per SHA-256, nothing kept of a refusal."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from roster.audit.tables import AuditEvent
from roster.config import Settings
from roster.credentialing.tables import EvidenceFile
from tests.conftest import Api, TempDatabase
from tests.integration.api.test_uploads import BOUNDARY, MULTIPART, chunked
from tests.integration.credentialing.helpers import EVIDENCE, MISSING, PDF, PNG, ok, problem, upload

LIMIT = 64 * 1024


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings(max_evidence_file_bytes=LIMIT)


def stored(settings: Settings) -> list[Path]:
    """Everything under the evidence directory: kept files and anything staged."""
    root = settings.data_dir / "evidence"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def nothing_kept(settings: Settings, before: list[Path]) -> None:
    assert await EvidenceFile.count().run() == 0
    assert await AuditEvent.count().where(AuditEvent.entity == "evidence_file").run() == 0
    assert stored(settings) == before, "a refused upload leaves nothing on disk"


async def test_a_pdf_is_stored_once_by_its_sha256(api: Api, settings: Settings) -> None:
    created = await ok(await upload(api, PDF), 201)
    sha = hashlib.sha256(PDF).hexdigest()
    assert created == {"id": created["id"], "sha256": sha, "content_type": "application/pdf", "size": len(PDF)}
    path = settings.data_dir / "evidence" / sha
    assert path.read_bytes() == PDF
    assert not [p for p in stored(settings) if p.suffix == ".upload"], "nothing left staged"

    again = await ok(await upload(api, PDF, name="other-name.pdf"), 200)
    assert again == created, "the same bytes give back the same record"
    assert await EvidenceFile.count().run() == 1

    fetched = await api.get(f"{EVIDENCE}/{created['id']}", role="auditor")
    assert fetched.status_code == 200
    assert fetched.content == PDF
    assert fetched.headers["content-type"].startswith("application/pdf")

    [event] = await AuditEvent.select().where(AuditEvent.entity == "evidence_file").output(load_json=True).run()
    assert event["actor"] == "test-credentialing" and event["action"] == "upload"


async def test_the_type_comes_from_the_bytes_not_the_client(api: Api) -> None:
    as_pdf = await ok(await upload(api, PNG, name="scan.pdf", content_type="application/pdf"), 201)
    assert as_pdf["content_type"] == "image/png"
    fetched = await api.get(f"{EVIDENCE}/{as_pdf['id']}", role="manager")
    assert fetched.headers["content-type"].startswith("image/png") and fetched.content == PNG


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"hello, this is plain text", "application/pdf"),
        (b"PK\x03\x04zip file pretending", "application/pdf"),
        (b"GIF89a" + bytes(20), "image/png"),
        (b"%PD", "application/pdf"),  # shorter than the magic
        (b" %PDF-1.7 with a leading space", "application/pdf"),
    ],
)
async def test_another_type_is_refused_and_nothing_kept(
    api: Api, settings: Settings, content: bytes, content_type: str
) -> None:
    before = stored(settings)
    problem(await upload(api, content, content_type=content_type), 422, "file")
    await nothing_kept(settings, before)


async def test_an_empty_file_is_refused(api: Api, settings: Settings) -> None:
    before = stored(settings)
    body = problem(await upload(api, b""), 422, "file")
    assert "empty" in body["detail"]
    await nothing_kept(settings, before)


async def test_a_file_over_the_limit_is_413_and_nothing_kept(api: Api, settings: Settings) -> None:
    before = stored(settings)
    problem(await upload(api, PDF + b"0" * LIMIT), 413, "file")
    await nothing_kept(settings, before)


async def test_a_streamed_file_over_the_limit_is_413_and_nothing_kept(api: Api, settings: Settings) -> None:
    before = stored(settings)
    content = PDF + b"1" * (LIMIT * 4)
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    response = await api.post(EVIDENCE, role="credentialing", content=chunked(body), headers=MULTIPART)
    problem(response, 413, "file")
    await nothing_kept(settings, before)


async def test_a_file_at_the_limit_is_taken(api: Api) -> None:
    content = PDF + b"2" * (LIMIT - len(PDF))
    created = await ok(await upload(api, content), 201)
    assert created["size"] == LIMIT


async def test_no_file_field_is_422(api: Api, settings: Settings) -> None:
    before = stored(settings)
    response = await api.post(EVIDENCE, role="credentialing", files={"other": ("x.pdf", PDF, "application/pdf")})
    problem(response, 422, "file")
    response = await api.post(EVIDENCE, role="credentialing", json={"file": "x"})
    problem(response, 422, "file")
    await nothing_kept(settings, before)


async def test_unknown_evidence_is_404(api: Api) -> None:
    problem(await api.get(f"{EVIDENCE}/{MISSING}"), 404)


async def test_roles(api: Api, settings: Settings) -> None:
    before = stored(settings)
    for role in ("router", "manager", "auditor"):
        problem(await upload(api, PDF, role=role), 403)
    await nothing_kept(settings, before)
    created = await ok(await upload(api, PDF, role="admin"), 201)
    problem(await api.get(f"{EVIDENCE}/{created['id']}", role="router"), 403)
    for role in ("admin", "credentialing", "manager", "auditor"):
        assert (await api.get(f"{EVIDENCE}/{created['id']}", role=role)).status_code == 200
