"""Reviewers built through the HTTP API for the matching, assignment and coverage tests."""

from __future__ import annotations

from typing import Any

from tests import factories
from tests.conftest import Api

PHYSICIANS = "/api/v1/physicians"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def reviewer(
    api: Api,
    n: int,
    *,
    licenses: tuple[dict[str, Any], ...] | None = None,
    certifications: tuple[dict[str, Any], ...] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """An eligible-by-default medical oncologist licensed in AZ (screening is not required in these tests)."""
    physician = await ok(await api.post(PHYSICIANS, json=factories.physician(n, **overrides)), 201)
    pid = physician["id"]
    physician["licenses"] = [
        await ok(await api.post(f"{PHYSICIANS}/{pid}/licenses", json=body), 201)
        for body in (licenses if licenses is not None else (factories.license(number=f"MD{n:05d}"),))
    ]
    physician["certifications"] = [
        await ok(await api.post(f"{PHYSICIANS}/{pid}/certifications", json=body), 201)
        for body in (certifications if certifications is not None else (factories.certification(),))
    ]
    return physician


def case(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "state": "AZ",
        "line_of_business": "commercial",
        "specialty": "medical_oncology",
        "review_type": "initial",
    }
    body.update(overrides)
    return body


async def match(api: Api, role: str = "router", **overrides: Any) -> dict[str, Any]:
    return await ok(await api.post("/api/v1/match", json=case(**overrides), role=role))
