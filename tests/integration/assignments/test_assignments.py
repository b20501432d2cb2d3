"""POST/PATCH /api/v1/assignments: re-checked eligibility, evidence, the last-slot race, and closing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import PHYSICIANS, case, match, ok, reviewer

ASSIGNMENTS = "/api/v1/assignments"


def assignment(physician_id: str, case_id: str = "C-1", **overrides: Any) -> dict[str, Any]:
    return {**case(), "case_id": case_id, "physician_id": physician_id, **overrides}


async def test_assignment_records_the_evidence(api: Api) -> None:
    physician = await reviewer(api, 1)
    body = assignment(physician["id"], due_at="2030-01-02T03:04:05Z", specialty="207RX0202X")
    created = await ok(await api.post(ASSIGNMENTS, role="router", json=body), 201)

    assert created["status"] == "open" and created["closed_at"] is None
    assert created["physician_id"] == physician["id"] and created["case_id"] == "C-1"
    assert created["specialty"] == "medical_oncology", "NUCC code stored as the slug"
    assert created["created_by"] == "test-router"
    evidence = created["evidence"]
    lic, cert = physician["licenses"][0], physician["certifications"][0]
    assert evidence["license"]["id"] == lic["id"] and evidence["license"]["expires_on"] == lic["expires_on"]
    assert [c["id"] for c in evidence["certifications"]] == [cert["id"]]
    assert evidence["specialty_match"] == "same" and evidence["specialty_source"] == "certification"
    assert evidence["as_of"] == factories.TODAY.isoformat()
    assert evidence["open_cases_before"] == 0 and evidence["max_open_cases"] == 20
    audit = await ok(await api.get("/api/v1/audit", params={"entity": "assignment", "entity_id": created["id"]}))
    assert [e["action"] for e in audit["items"]] == ["create"]
    assert (await match(api))["eligible"][0]["open_cases"] == 1


async def test_ineligible_reviewer_gets_409_with_every_reason(api: Api) -> None:
    physician = await reviewer(api, 1, lines_of_business=["medicaid"])
    response = await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"], state="CA"))
    assert response.status_code == 409, response.text
    problem = response.json()
    assert sorted(e["message"] for e in problem["errors"]) == ["line_of_business", "no_license_in_state"]
    assert {e["field"] for e in problem["errors"]} == {"physician_id"}
    assert (await match(api, state="CA"))["ineligible"] == {"line_of_business": 1, "no_license_in_state": 1}
    assert (await match(api))["ineligible"] == {"line_of_business": 1}, "nothing was written"


async def test_reviewer_who_became_ineligible_after_match(api: Api) -> None:
    physician = await reviewer(api, 1)
    assert (await match(api))["eligible"][0]["physician_id"] == physician["id"]
    await ok(await api.patch(f"/api/v1/licenses/{physician['licenses'][0]['id']}", json={"status": "suspended"}))
    response = await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"]))
    assert response.status_code == 409
    assert [e["message"] for e in response.json()["errors"]] == ["license_restricted"]


async def test_two_routers_race_for_the_last_slot(api: Api) -> None:
    physician = await reviewer(api, 1, max_open_cases=2)
    await ok(await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"], "C-0")), 201)
    first, second = await asyncio.gather(
        api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"], "C-1")),
        api.post(ASSIGNMENTS, role="admin", json=assignment(physician["id"], "C-2")),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
    loser = first if first.status_code == 409 else second
    assert [e["message"] for e in loser.json()["errors"]] == ["at_capacity"]
    assert (await match(api))["ineligible"] == {"at_capacity": 1}


async def test_same_case_twice_to_the_same_reviewer_is_409(api: Api) -> None:
    physician = await reviewer(api, 1)
    await ok(await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"])), 201)
    again = await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"]))
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "case_id"


async def test_closing_frees_capacity_once(api: Api) -> None:
    physician = await reviewer(api, 1, max_open_cases=1)
    created = await ok(await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"])), 201)
    full = await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"], "C-2"))
    assert full.status_code == 409
    cancelled = await ok(await api.patch(f"{ASSIGNMENTS}/{created['id']}", role="router", json={"status": "cancelled"}))
    assert cancelled["status"] == "cancelled" and cancelled["closed_at"] is not None
    again = await api.patch(f"{ASSIGNMENTS}/{created['id']}", role="router", json={"status": "completed"})
    assert again.status_code == 409
    await ok(await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"], "C-2")), 201)


async def test_unknown_physician_or_assignment_is_404(api: Api) -> None:
    missing = await api.post(ASSIGNMENTS, role="router", json=assignment(str(uuid.uuid4())))
    assert missing.status_code == 404
    patch = await api.patch(f"{ASSIGNMENTS}/{uuid.uuid4()}", role="router", json={"status": "completed"})
    assert patch.status_code == 404


async def test_inactive_physician_is_409(api: Api) -> None:
    physician = await reviewer(api, 1)
    await ok(await api.delete(f"{PHYSICIANS}/{physician['id']}"))
    response = await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"]))
    assert response.status_code == 409 and [e["message"] for e in response.json()["errors"]] == ["inactive"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"case_id": ""}, "case_id"),
        ({"case_id": "x" * 101}, "case_id"),
        ({"physician_id": "nope"}, "physician_id"),
        ({"specialty": "astrology"}, "specialty"),
        ({"state": "ZZ"}, "state"),
        ({"review_type": "maybe"}, "review_type"),
        ({"due_at": "2030-01-02T03:04:05"}, "due_at"),
        ({"due_at": "soon"}, "due_at"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_bad_assignment_input_is_422(api: Api, overrides: dict[str, Any], field: str) -> None:
    physician = await reviewer(api, 1)
    response = await api.post(ASSIGNMENTS, role="router", json={**assignment(physician["id"]), **overrides})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (await match(api))["eligible"][0]["open_cases"] == 0, "nothing was written"


@pytest.mark.parametrize("body", [{"status": "open"}, {"status": "done"}, {}, {"status": "completed", "x": 1}])
async def test_bad_patch_is_422(api: Api, body: dict[str, Any]) -> None:
    physician = await reviewer(api, 1)
    created = await ok(await api.post(ASSIGNMENTS, role="router", json=assignment(physician["id"])), 201)
    response = await api.patch(f"{ASSIGNMENTS}/{created['id']}", role="router", json=body)
    assert response.status_code == 422, response.text


async def test_roles(api: Api) -> None:
    physician = await reviewer(api, 1)
    for role in ("credentialing", "manager", "auditor"):
        assert (await api.post(ASSIGNMENTS, role=role, json=assignment(physician["id"]))).status_code == 403
