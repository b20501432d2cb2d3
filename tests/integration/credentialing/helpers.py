"""Bodies and small helpers for the credentialing-file tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests import factories
from tests.conftest import Api

API = "/api/v1"
PHYSICIANS = f"{API}/physicians"
EVIDENCE = f"{API}/evidence"
MISSING = "00000000-0000-4000-8000-000000000000"
TODAY = factories.TODAY
#: The elements every file needs (dea_cds only when the physician holds a registration).
REQUIRED = (
    "license",
    "board_certification",
    "work_history",
    "malpractice_history",
    "sanctions",
    "education",
    "attestation",
)

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with ``status``; with ``field``, the errors name exactly it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field], body
    return body


async def physician(api: Api, n: int = 1, **overrides: Any) -> dict[str, Any]:
    return await ok(await api.post(PHYSICIANS, json=factories.physician(n, **overrides)), 201)


def verification_body(element: str = "license", verified_on: date | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "element": element,
        "source": "Texas Medical Board",
        "method": "primary_source",
        "verified_on": (verified_on or ago(10)).isoformat(),
        "outcome": "verified",
    }
    body.update(overrides)
    return body


async def verify(api: Api, physician_id: str, element: str, verified_on: date, **overrides: Any) -> dict[str, Any]:
    response = await api.post(
        f"{PHYSICIANS}/{physician_id}/verifications",
        role="credentialing",
        json=verification_body(element, verified_on, **overrides),
    )
    return await ok(response, 201)


async def verify_all(api: Api, physician_id: str, verified_on: date, *, skip: tuple[str, ...] = ()) -> None:
    for element in REQUIRED:
        if element not in skip:
            await verify(api, physician_id, element, verified_on)


async def decide(
    api: Api, physician_id: str, kind: str, decided_on: date, decision: str = "approved"
) -> dict[str, Any]:
    response = await api.post(
        f"{PHYSICIANS}/{physician_id}/credentialing-decisions",
        role="credentialing",
        json={"kind": kind, "decided_on": decided_on.isoformat(), "decision": decision},
    )
    return await ok(response, 201)


async def upload(
    api: Api,
    content: bytes,
    *,
    role: str = "credentialing",
    name: str = "scan.pdf",
    content_type: str = "application/pdf",
) -> Any:
    return await api.post(EVIDENCE, role=role, files={"file": (name, content, content_type)})
