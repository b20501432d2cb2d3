from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.conftest import Api

PHYSICIANS = "/api/v1/physicians"
BASE = "/api/v1/licenses"
MISSING = "00000000-0000-4000-8000-000000000000"


def today():
    """The service's clock is UTC."""
    return datetime.now(UTC).date()


def days(n: int) -> str:
    return (today() + timedelta(days=n)).isoformat()


async def physician(api: Api, n: int = 1, **overrides: object) -> dict:
    response = await api.post(PHYSICIANS, json=factories.physician(n, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def add(api: Api, physician_id: str, state: str = "AZ", number: str = "MD12345", **overrides: object) -> dict:
    response = await api.post(
        f"{PHYSICIANS}/{physician_id}/licenses", json=factories.license(state, number, **overrides)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def listed(api: Api, **params: str) -> list[dict]:
    response = await api.get(BASE, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def assert_problem(response, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    if field is not None:
        assert [e["field"] for e in problem["errors"]] == [field], problem
    return problem


async def test_create_normalizes_number_and_reads_back(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], "TX", "md-12345/a  ", license_type="MD", restricted=False)
    assert created["number"] == "MD-12345/A", "number is upper-cased and stripped"
    assert created["physician_id"] == doc["id"]
    assert created["state"] == "TX" and created["status"] == "active" and created["restricted"] is False
    assert created["issued_on"] == "2010-01-01"
    assert created["verification_source"] == "state_board_website"
    fetched = await api.get(f"{BASE}/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert await listed(api) == [created]


async def test_optional_fields_default(api: Api) -> None:
    doc = await physician(api)
    body = factories.license("PR", "PR-1")
    for key in ("restricted", "verified_on", "verification_source"):
        del body[key]
    response = await api.post(f"{PHYSICIANS}/{doc['id']}/licenses", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["restricted"] is False
    assert created["verified_on"] is None and created["verification_source"] is None
    assert created["state"] == "PR", "territories are states for licensing"


async def test_every_role_may_read_but_only_writers_write(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"])
    for role in ("admin", "credentialing", "router", "manager", "auditor"):
        assert (await api.get(f"{BASE}/{created['id']}", role=role)).status_code == 200, role
    for role in ("router", "manager", "auditor"):
        response = await api.post(f"{PHYSICIANS}/{doc['id']}/licenses", role=role, json=factories.license("TX", "T1"))
        assert_problem(response, 403)
        assert_problem(await api.patch(f"{BASE}/{created['id']}", role=role, json={"status": "inactive"}), 403)
        assert_problem(await api.delete(f"{BASE}/{created['id']}", role=role), 403)
    by_credentialing = await api.post(
        f"{PHYSICIANS}/{doc['id']}/licenses", role="credentialing", json=factories.license("TX", "T2")
    )
    assert by_credentialing.status_code == 201
    assert sorted(lic["number"] for lic in await listed(api)) == ["MD12345", "T2"]
    assert (await api.get(BASE, headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_duplicate_is_409_and_writes_nothing(api: Api) -> None:
    doc = await physician(api)
    first = await add(api, doc["id"], "AZ", "MD12345")
    response = await api.post(
        f"{PHYSICIANS}/{doc['id']}/licenses", json=factories.license("AZ", "md12345  ", status="inactive")
    )
    problem = assert_problem(response, 409, "number")
    assert problem["title"] == "Conflict"
    assert await listed(api) == [first]


async def test_same_number_elsewhere_is_fine(api: Api) -> None:
    doc = await physician(api, 1)
    other = await physician(api, 2)
    await add(api, doc["id"], "AZ", "MD12345")
    await add(api, doc["id"], "NM", "MD12345")
    await add(api, other["id"], "AZ", "MD12345")
    rows = await listed(api)
    assert len(rows) == 3
    assert {(r["physician_id"], r["state"]) for r in rows} == {
        (doc["id"], "AZ"),
        (doc["id"], "NM"),
        (other["id"], "AZ"),
    }


async def test_unknown_physician_is_404_and_writes_nothing(api: Api) -> None:
    response = await api.post(f"{PHYSICIANS}/{MISSING}/licenses", json=factories.license())
    assert_problem(response, 404)
    assert await listed(api) == []


async def test_unknown_license_is_404(api: Api) -> None:
    assert_problem(await api.get(f"{BASE}/{MISSING}"), 404)
    assert_problem(await api.patch(f"{BASE}/{MISSING}", json={"status": "inactive"}), 404)
    assert_problem(await api.delete(f"{BASE}/{MISSING}"), 404)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"state": "ZZ"}, "state"),
        ({"state": "az"}, "state"),
        ({"state": "Arizona"}, "state"),
        ({"state": None}, "state"),
        ({"number": ""}, "number"),
        ({"number": "MD#1"}, "number"),
        ({"number": "X" * 41}, "number"),
        ({"license_type": "RN"}, "license_type"),
        ({"status": "lapsed"}, "status"),
        ({"status": "ACTIVE"}, "status"),
        ({"restricted": "no"}, "restricted"),
        ({"issued_on": days(1)}, "issued_on"),
        ({"issued_on": "2010-02-30"}, "issued_on"),
        ({"issued_on": "01/02/2010"}, "issued_on"),
        ({"expires_on": "2010-01-01"}, "expires_on"),
        ({"expires_on": "2009-12-31"}, "expires_on"),
        ({"expires_on": "next year"}, "expires_on"),
        ({"verified_on": days(1)}, "verified_on"),
        ({"verified_on": "2024-13-01"}, "verified_on"),
        ({"verification_source": "x" * 101}, "verification_source"),
        ({"favourite_color": "blue"}, "favourite_color"),
    ],
)
async def test_bad_input_is_422_naming_the_field(api: Api, overrides: dict, field: str) -> None:
    doc = await physician(api)
    response = await api.post(f"{PHYSICIANS}/{doc['id']}/licenses", json=factories.license(**overrides))
    assert_problem(response, 422, field)
    assert await listed(api) == [], "nothing is written"


@pytest.mark.parametrize("field", ["state", "number", "license_type", "status", "issued_on", "expires_on"])
async def test_missing_required_field_is_422(api: Api, field: str) -> None:
    doc = await physician(api)
    body = factories.license()
    del body[field]
    response = await api.post(f"{PHYSICIANS}/{doc['id']}/licenses", json=body)
    assert_problem(response, 422, field)
    assert await listed(api) == []


async def test_patch_changes_fields_and_keeps_others(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"])
    response = await api.patch(
        f"{BASE}/{created['id']}", json={"status": "probation", "restricted": True, "number": "md999 "}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["status"] == "probation" and updated["restricted"] is True
    assert updated["number"] == "MD999"
    assert updated["state"] == created["state"] and updated["expires_on"] == created["expires_on"]
    assert updated["created_at"] == created["created_at"] and updated["updated_at"] > created["updated_at"]
    assert (await api.get(f"{BASE}/{created['id']}")).json() == updated


async def test_patch_can_clear_optional_fields(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"])
    response = await api.patch(f"{BASE}/{created['id']}", json={"verified_on": None, "verification_source": None})
    assert response.status_code == 200, response.text
    assert response.json()["verified_on"] is None and response.json()["verification_source"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"expires_on": "2010-01-01"}, "expires_on"),
        ({"expires_on": "2005-06-30"}, "expires_on"),
        ({"issued_on": "2099-01-01"}, "issued_on"),
        ({"issued_on": days(3650), "expires_on": days(3000)}, "issued_on"),
        ({"verified_on": days(2)}, "verified_on"),
        ({"state": "ZZ"}, "state"),
        ({"state": "tx"}, "state"),
        ({"state": None}, "state"),
        ({"issued_on": None}, "issued_on"),
        ({"status": "gone"}, "status"),
        ({"license_type": "NP"}, "license_type"),
        ({"number": ""}, "number"),
        ({"physician_id": MISSING}, "physician_id"),
        ({"expires_on": "2031-02-29"}, "expires_on"),
    ],
)
async def test_patch_bad_input_is_422_and_changes_nothing(api: Api, changes: dict, field: str) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], issued_on="2010-01-01")
    assert_problem(await api.patch(f"{BASE}/{created['id']}", json=changes), 422, field)
    assert (await api.get(f"{BASE}/{created['id']}")).json() == created


async def test_patch_validates_the_merged_record(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], issued_on="2015-03-01", expires_on=days(30))
    # expires_on alone, checked against the stored issued_on
    response = await api.patch(f"{BASE}/{created['id']}", json={"expires_on": "2015-03-01"})
    assert_problem(response, 422, "expires_on")
    # issued_on alone, checked against the stored expires_on
    response = await api.patch(f"{BASE}/{created['id']}", json={"issued_on": created["expires_on"]})
    assert_problem(response, 422)
    assert (await api.get(f"{BASE}/{created['id']}")).json() == created
    # moving both together is fine
    ok = await api.patch(f"{BASE}/{created['id']}", json={"issued_on": "2016-01-01", "expires_on": "2016-01-02"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["issued_on"] == "2016-01-01" and ok.json()["expires_on"] == "2016-01-02"


async def test_patch_into_a_duplicate_is_409_and_changes_nothing(api: Api) -> None:
    doc = await physician(api)
    first = await add(api, doc["id"], "AZ", "MD1")
    second = await add(api, doc["id"], "AZ", "MD2")
    assert_problem(await api.patch(f"{BASE}/{second['id']}", json={"number": "md1"}), 409, "number")
    third = await add(api, doc["id"], "NV", "MD1")
    assert_problem(await api.patch(f"{BASE}/{third['id']}", json={"state": "AZ"}), 409, "number")
    assert (await api.get(f"{BASE}/{second['id']}")).json() == second
    assert (await api.get(f"{BASE}/{third['id']}")).json() == third
    assert (await api.get(f"{BASE}/{first['id']}")).json() == first
    # re-stating its own number is not a conflict with itself
    same = await api.patch(f"{BASE}/{first['id']}", json={"number": "md1", "state": "AZ"})
    assert same.status_code == 200, same.text


async def test_delete_is_204_then_404(api: Api) -> None:
    doc = await physician(api)
    keep = await add(api, doc["id"], "AZ", "KEEP")
    gone = await add(api, doc["id"], "TX", "GONE")
    response = await api.delete(f"{BASE}/{gone['id']}")
    assert response.status_code == 204 and response.content == b""
    assert_problem(await api.get(f"{BASE}/{gone['id']}"), 404)
    assert_problem(await api.delete(f"{BASE}/{gone['id']}"), 404)
    assert_problem(await api.patch(f"{BASE}/{gone['id']}", json={"status": "inactive"}), 404)
    assert await listed(api) == [keep]
    # the number can be used again once the old license is gone
    await add(api, doc["id"], "TX", "GONE")


async def test_list_filters(api: Api) -> None:
    a = await physician(api, 1)
    b = await physician(api, 2)
    az = await add(api, a["id"], "AZ", "A-AZ", expires_on=days(100))
    tx = await add(api, a["id"], "TX", "A-TX", status="suspended", expires_on=days(200))
    b_az = await add(api, b["id"], "AZ", "B-AZ", status="probation", restricted=True, expires_on=days(50))

    async def numbers(**params: str) -> list[str]:
        return [lic["number"] for lic in await listed(api, **params)]

    assert await numbers() == [b_az["number"], az["number"], tx["number"]], "soonest expiry first"
    assert await numbers(state="AZ") == ["B-AZ", "A-AZ"]
    assert await numbers(state="TX") == ["A-TX"]
    assert await numbers(state="CA") == []
    assert await numbers(status="suspended") == ["A-TX"]
    assert await numbers(status="probation") == ["B-AZ"]
    assert await numbers(status="revoked") == []
    assert await numbers(physician_id=a["id"]) == ["A-AZ", "A-TX"]
    assert await numbers(physician_id=b["id"]) == ["B-AZ"]
    assert await numbers(physician_id=MISSING) == []
    assert await numbers(state="AZ", physician_id=a["id"]) == ["A-AZ"]
    assert await numbers(state="AZ", status="active") == ["A-AZ"]
    assert await numbers(expiring_within_days="100", state="AZ") == ["B-AZ", "A-AZ"]
    assert await numbers(expiring_within_days="99") == ["B-AZ"]


async def test_expiring_within_days_window(api: Api) -> None:
    doc = await physician(api)
    await add(api, doc["id"], "AL", "PAST", status="expired", expires_on=days(-1))
    await add(api, doc["id"], "AK", "TODAY", expires_on=days(0))
    await add(api, doc["id"], "AZ", "AT-N", expires_on=days(30))
    await add(api, doc["id"], "AR", "N-PLUS-1", expires_on=days(31))
    await add(api, doc["id"], "CA", "LATER", expires_on=days(365))

    async def numbers(**params: str) -> list[str]:
        return [lic["number"] for lic in await listed(api, **params)]

    assert await numbers(expiring_within_days="30") == ["TODAY", "AT-N"]
    assert await numbers(expiring_within_days="31") == ["TODAY", "AT-N", "N-PLUS-1"]
    assert await numbers(expiring_within_days="0") == ["TODAY"]
    assert await numbers() == ["PAST", "TODAY", "AT-N", "N-PLUS-1", "LATER"]


async def test_cursor_pagination_walks_every_license_once_soonest_first(api: Api) -> None:
    doc = await physician(api)
    states = ["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI"]
    # several share an expiry date, so the id tie-break matters
    for i, state in enumerate(states):
        await add(api, doc["id"], state, f"N{i}", expires_on=days(10 + i % 3))
    seen: list[dict] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        response = await api.get(BASE, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    ids = [lic["id"] for lic in seen]
    assert len(ids) == len(set(ids)) == len(states)
    keys = [(lic["expires_on"], lic["id"]) for lic in seen]
    assert keys == sorted(keys)
    assert seen == await listed(api, limit="500")


async def test_pagination_with_filter_and_exact_page_size(api: Api) -> None:
    doc = await physician(api)
    for i, state in enumerate(["AL", "AK", "AZ", "AR"]):
        await add(api, doc["id"], state, f"P{i}", expires_on=days(5 + i))
    await add(api, doc["id"], "CA", "FAR", expires_on=days(400))
    first = (await api.get(BASE, params={"limit": "2", "expiring_within_days": "30"})).json()
    assert [lic["number"] for lic in first["items"]] == ["P0", "P1"] and first["next_cursor"]
    second = (
        await api.get(BASE, params={"limit": "2", "expiring_within_days": "30", "cursor": first["next_cursor"]})
    ).json()
    assert [lic["number"] for lic in second["items"]] == ["P2", "P3"]
    assert second["next_cursor"] is None, "no empty trailing page"


def _cursor(*key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"state": "ZZ"}, "state"),
        ({"state": "az"}, "state"),
        ({"status": "sleeping"}, "status"),
        ({"expiring_within_days": "-1"}, "expiring_within_days"),
        ({"expiring_within_days": "3651"}, "expiring_within_days"),
        ({"expiring_within_days": "soon"}, "expiring_within_days"),
        ({"physician_id": "not-a-uuid"}, "physician_id"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "WzFd"}, "cursor"),
        ({"cursor": _cursor("2024-01-01")}, "cursor"),
        ({"cursor": _cursor("not-a-date", MISSING)}, "cursor"),
        ({"cursor": _cursor("2024-01-01", "not-a-uuid")}, "cursor"),
        ({"cursor": _cursor({"a": 1}, MISSING)}, "cursor"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_list_bad_parameters_are_422(api: Api, params: dict, field: str) -> None:
    assert_problem(await api.get(BASE, params=params), 422, field)


async def test_license_changes_show_in_compliance(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"])

    async def license_check() -> dict:
        response = await api.get(f"{PHYSICIANS}/{doc['id']}/compliance")
        assert response.status_code == 200, response.text
        return next(c for c in response.json()["checks"] if c["check"] == "license")

    check = await license_check()
    assert check["ok"] is True and check["expires_on"] == created["expires_on"]

    await api.patch(f"{BASE}/{created['id']}", json={"status": "suspended"})
    check = await license_check()
    assert check["ok"] is False and check["reason"] == "license_restricted"

    await api.patch(f"{BASE}/{created['id']}", json={"status": "active", "restricted": True})
    assert (await license_check())["reason"] == "license_restricted"

    await api.patch(f"{BASE}/{created['id']}", json={"restricted": False, "expires_on": days(-1)})
    assert (await license_check())["reason"] == "license_expired"

    await api.patch(f"{BASE}/{created['id']}", json={"expires_on": days(0)})
    assert (await license_check())["ok"] is True, "a license expiring today is valid today"

    await api.delete(f"{BASE}/{created['id']}")
    check = await license_check()
    assert check["ok"] is False and check["reason"] == "no_license_in_state"
    report = (await api.get(f"{PHYSICIANS}/{doc['id']}/compliance")).json()
    assert report["compliant"] is False and "no_license_in_state" in report["reasons"]


async def test_concurrent_duplicates_are_409_never_500(api: Api) -> None:
    """Two clients adding the same license at once: one wins, the others get the 409 a serial client gets."""
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/licenses"
    for round_ in range(5):
        responses = await asyncio.gather(
            *(api.post(url, json=factories.license("AZ", f"RACE{round_}")) for _ in range(4))
        )
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text for r in responses]
    assert len(await listed(api)) == 5
    audit = (await api.get("/api/v1/audit", params={"entity": "license", "limit": "500"})).json()["items"]
    assert len(audit) == 5, "one create event per license"


async def test_concurrent_patches_into_one_number_are_409_never_500(api: Api) -> None:
    doc = await physician(api)
    for round_ in range(3):
        licenses = [await add(api, doc["id"], "AZ", f"R{round_}-{i}") for i in range(3)]
        responses = await asyncio.gather(
            *(api.patch(f"{BASE}/{lic['id']}", json={"number": f"TARGET{round_}"}) for lic in licenses)
        )
        assert sorted(r.status_code for r in responses) == [200, 409, 409], [r.text for r in responses]
    numbers = [lic["number"] for lic in await listed(api)]
    assert sorted(n for n in numbers if n.startswith("TARGET")) == ["TARGET0", "TARGET1", "TARGET2"]
