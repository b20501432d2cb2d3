"""Bodies and small helpers for the schedule tests."""

from __future__ import annotations

from typing import Any

from tests import factories
from tests.conftest import Api

API = "/api/v1"
PHYSICIANS = f"{API}/physicians"
ROTATIONS = f"{API}/rotations"
MISSING = "00000000-0000-4000-8000-000000000000"
ROLES = ("admin", "credentialing", "router", "manager", "auditor")
WRITERS = ("admin", "credentialing")


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if status != 204 else None


def problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with ``status``; with ``field``, the first error names it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    if field is not None:
        assert body["errors"] and body["errors"][0]["field"] == field, body
    return body


async def physician(api: Api, n: int = 1, **overrides: Any) -> dict[str, Any]:
    return await ok(await api.post(PHYSICIANS, json=factories.physician(n, **overrides)), 201)


def layer(members: list[str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "primary",
        "priority": 1,
        "members": members,
        "handoff_time": "07:00",
        "shift_hours": 12,
        "starts_on": "2027-03-10",
    }
    body.update(overrides)
    return body


def rotation(members: list[str], *, time_zone: str = "America/New_York", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Pre-cert 24x7", "time_zone": time_zone, "layers": [layer(members)]}
    body.update(overrides)
    return body


async def create_rotation(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    return await ok(await api.post(ROTATIONS, json=body), 201)


async def on_call(api: Api, rotation_id: str, at: str | None = None, role: str = "router") -> dict[str, Any]:
    params = {"rotation": rotation_id, **({"at": at} if at is not None else {})}
    return await ok(await api.get(f"{API}/oncall", params=params, role=role))
