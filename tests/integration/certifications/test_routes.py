from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.conftest import Api

PHYSICIANS = "/api/v1/physicians"
BASE = "/api/v1/certifications"
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


async def add(api: Api, physician_id: str, **overrides: object) -> dict:
    response = await api.post(f"{PHYSICIANS}/{physician_id}/certifications", json=factories.certification(**overrides))
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


async def test_create_and_read_back(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], expires_on=days(500), verified_on=days(0), verification_source="abim.org")
    assert created["physician_id"] == doc["id"]
    assert created["board"] == "ABIM" and created["specialty"] == "medical_oncology"
    assert created["status"] == "certified", "status defaults to certified"
    assert created["certified_on"] == "2008-09-01" and created["expires_on"] == days(500)
    assert created["time_unlimited"] is False and created["moc_status"] == "meeting"
    assert created["verified_on"] == days(0) and created["verification_source"] == "abim.org"
    fetched = await api.get(f"{BASE}/{created['id']}")
    assert fetched.status_code == 200 and fetched.json() == created
    assert await listed(api) == [created]


@pytest.mark.parametrize(
    ("specialty", "board", "slug"),
    [
        ("207RX0202X", "ABIM", "medical_oncology"),
        ("207rx0202x", "AOBIM", "medical_oncology"),
        ("2085R0001X", "ABR", "radiation_oncology"),
        ("orthopaedic_surgery", "ABOS", "orthopaedic_surgery"),
        ("207X00000X", "AOBOS", "orthopaedic_surgery"),
        ("critical_care_medicine", "ABEM", "critical_care_medicine"),
    ],
)
async def test_specialty_slug_or_nucc_code_is_stored_as_slug(api: Api, specialty: str, board: str, slug: str) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], board=board, specialty=specialty)
    assert created["specialty"] == slug and created["board"] == board
    assert (await api.get(f"{BASE}/{created['id']}")).json()["specialty"] == slug


async def test_time_unlimited_certificate(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], time_unlimited=True, expires_on=None, moc_status="not_required")
    assert created["time_unlimited"] is True and created["expires_on"] is None
    assert created["moc_status"] == "not_required"


async def test_continuous_certification_without_end_date(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], expires_on=None, moc_status="not_meeting")
    assert created["expires_on"] is None and created["time_unlimited"] is False


async def test_only_writers_write(api: Api) -> None:
    doc = await physician(api)
    for role in ("router", "manager", "auditor"):
        response = await api.post(f"{PHYSICIANS}/{doc['id']}/certifications", role=role, json=factories.certification())
        assert_problem(response, 403)
        assert (await api.get(BASE, role=role)).status_code == 200
    assert await listed(api) == []
    await add(api, doc["id"])
    created = (await listed(api))[0]
    for role in ("router", "manager", "auditor"):
        assert_problem(await api.patch(f"{BASE}/{created['id']}", role=role, json={"moc_status": "not_meeting"}), 403)
        assert_problem(await api.delete(f"{BASE}/{created['id']}", role=role), 403)
    response = await api.patch(f"{BASE}/{created['id']}", role="credentialing", json={"moc_status": "not_meeting"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"board": "ABOS"}, "board"),
        ({"board": "ABR", "specialty": "207RX0202X"}, "board"),
        ({"board": "abim"}, "board"),
        ({"board": "A"}, "board"),
        ({"board": "AB1M"}, "board"),
        ({"specialty": "clinical_pharmacy"}, "specialty"),
        ({"specialty": "183500000X"}, "specialty"),
        ({"specialty": "astrology"}, "specialty"),
        ({"specialty": ""}, "specialty"),
        ({"specialty": "x" * 65}, "specialty"),
        ({"time_unlimited": True, "expires_on": "2030-01-01", "moc_status": "not_required"}, "expires_on"),
        ({"time_unlimited": True, "expires_on": None, "moc_status": "meeting"}, "moc_status"),
        ({"time_unlimited": True, "expires_on": None, "moc_status": "not_meeting"}, "moc_status"),
        ({"time_unlimited": False, "moc_status": "not_required"}, "moc_status"),
        ({"moc_status": "not_required", "expires_on": "2030-01-01"}, "moc_status"),
        ({"moc_status": "sometimes"}, "moc_status"),
        ({"expires_on": "2008-09-01"}, "expires_on"),
        ({"expires_on": "2001-01-01"}, "expires_on"),
        ({"expires_on": "2030-02-30"}, "expires_on"),
        ({"certified_on": days(1)}, "certified_on"),
        ({"certified_on": "yesterday"}, "certified_on"),
        ({"certified_on": None}, "certified_on"),
        ({"verified_on": days(1)}, "verified_on"),
        ({"verification_source": "x" * 101}, "verification_source"),
        ({"status": "expired"}, "status"),
        ({"time_unlimited": "yes"}, "time_unlimited"),
        ({"favourite_color": "blue"}, "favourite_color"),
    ],
)
async def test_bad_input_is_422_naming_the_field(api: Api, overrides: dict, field: str) -> None:
    doc = await physician(api)
    response = await api.post(f"{PHYSICIANS}/{doc['id']}/certifications", json=factories.certification(**overrides))
    assert_problem(response, 422, field)
    assert await listed(api) == [], "nothing is written"


@pytest.mark.parametrize("field", ["board", "specialty", "certified_on", "moc_status"])
async def test_missing_required_field_is_422(api: Api, field: str) -> None:
    doc = await physician(api)
    body = factories.certification()
    del body[field]
    response = await api.post(f"{PHYSICIANS}/{doc['id']}/certifications", json=body)
    assert_problem(response, 422, field)
    assert await listed(api) == []


async def test_board_error_names_the_boards_that_do_certify(api: Api) -> None:
    doc = await physician(api)
    response = await api.post(f"{PHYSICIANS}/{doc['id']}/certifications", json=factories.certification(board="ABOS"))
    problem = assert_problem(response, 422, "board")
    assert "ABIM" in problem["errors"][0]["message"]


async def test_duplicate_is_409_and_writes_nothing(api: Api) -> None:
    doc = await physician(api)
    first = await add(api, doc["id"])
    # the same specialty spelled as its NUCC code is still the same certification
    response = await api.post(
        f"{PHYSICIANS}/{doc['id']}/certifications",
        json=factories.certification(specialty="207RX0202X", certified_on="2012-01-01"),
    )
    assert_problem(response, 409, "specialty")
    assert await listed(api) == [first]


async def test_same_board_and_specialty_elsewhere_is_fine(api: Api) -> None:
    doc = await physician(api, 1)
    other = await physician(api, 2)
    await add(api, doc["id"])
    await add(api, doc["id"], board="AOBIM")
    await add(api, doc["id"], specialty="hematology")
    await add(api, other["id"])
    assert len(await listed(api)) == 4


async def test_unknown_physician_is_404_and_writes_nothing(api: Api) -> None:
    response = await api.post(f"{PHYSICIANS}/{MISSING}/certifications", json=factories.certification())
    assert_problem(response, 404)
    assert await listed(api) == []


async def test_unknown_certification_is_404(api: Api) -> None:
    assert_problem(await api.get(f"{BASE}/{MISSING}"), 404)
    assert_problem(await api.patch(f"{BASE}/{MISSING}", json={"moc_status": "meeting"}), 404)
    assert_problem(await api.delete(f"{BASE}/{MISSING}"), 404)


async def test_patch_changes_fields_and_keeps_others(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], expires_on=days(90))
    response = await api.patch(
        f"{BASE}/{created['id']}", json={"moc_status": "not_meeting", "specialty": "207RH0003X", "status": "lapsed"}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["specialty"] == "hematology_oncology", "a NUCC code on PATCH is stored as the slug"
    assert updated["moc_status"] == "not_meeting" and updated["status"] == "lapsed"
    assert updated["board"] == "ABIM" and updated["expires_on"] == days(90)
    assert updated["created_at"] == created["created_at"] and updated["updated_at"] > created["updated_at"]
    assert (await api.get(f"{BASE}/{created['id']}")).json() == updated


async def test_patch_to_time_unlimited(api: Api) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], expires_on=days(90))
    # every rule is checked on the merged record
    assert_problem(await api.patch(f"{BASE}/{created['id']}", json={"time_unlimited": True}), 422, "expires_on")
    assert_problem(
        await api.patch(f"{BASE}/{created['id']}", json={"time_unlimited": True, "expires_on": None}), 422, "moc_status"
    )
    assert (await api.get(f"{BASE}/{created['id']}")).json() == created
    response = await api.patch(
        f"{BASE}/{created['id']}", json={"time_unlimited": True, "expires_on": None, "moc_status": "not_required"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["time_unlimited"] is True and response.json()["expires_on"] is None
    # and back: a time-limited certificate may not keep not_required
    assert_problem(await api.patch(f"{BASE}/{created['id']}", json={"time_unlimited": False}), 422, "moc_status")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"board": "ABOS"}, "board"),
        ({"specialty": "orthopaedic_surgery"}, "board"),
        ({"specialty": "clinical_pharmacy"}, "specialty"),
        ({"specialty": "astrology"}, "specialty"),
        ({"specialty": None}, "specialty"),
        ({"certified_on": days(1)}, "certified_on"),
        ({"certified_on": days(1200)}, "certified_on"),
        ({"expires_on": "2008-09-01"}, "expires_on"),
        ({"certified_on": days(5000), "expires_on": days(4000)}, "certified_on"),
        ({"moc_status": "not_required"}, "moc_status"),
        ({"verified_on": days(5)}, "verified_on"),
        ({"status": "gone"}, "status"),
        ({"physician_id": MISSING}, "physician_id"),
    ],
)
async def test_patch_bad_input_is_422_and_changes_nothing(api: Api, changes: dict, field: str) -> None:
    doc = await physician(api)
    created = await add(api, doc["id"], expires_on=days(90))
    assert_problem(await api.patch(f"{BASE}/{created['id']}", json=changes), 422, field)
    assert (await api.get(f"{BASE}/{created['id']}")).json() == created


async def test_patch_into_a_duplicate_is_409_and_changes_nothing(api: Api) -> None:
    doc = await physician(api)
    first = await add(api, doc["id"])
    second = await add(api, doc["id"], specialty="hematology_oncology")
    assert_problem(await api.patch(f"{BASE}/{second['id']}", json={"specialty": "207RX0202X"}), 409, "specialty")
    third = await add(api, doc["id"], board="AOBIM")
    assert_problem(await api.patch(f"{BASE}/{third['id']}", json={"board": "ABIM"}), 409, "specialty")
    for cert in (first, second, third):
        assert (await api.get(f"{BASE}/{cert['id']}")).json() == cert
    same = await api.patch(f"{BASE}/{first['id']}", json={"specialty": "207RX0202X", "board": "ABIM"})
    assert same.status_code == 200, same.text


async def test_delete_is_204_then_404(api: Api) -> None:
    doc = await physician(api)
    keep = await add(api, doc["id"])
    gone = await add(api, doc["id"], board="AOBIM")
    response = await api.delete(f"{BASE}/{gone['id']}")
    assert response.status_code == 204 and response.content == b""
    assert_problem(await api.get(f"{BASE}/{gone['id']}"), 404)
    assert_problem(await api.delete(f"{BASE}/{gone['id']}"), 404)
    assert await listed(api) == [keep]
    await add(api, doc["id"], board="AOBIM")


async def test_list_filters(api: Api) -> None:
    a = await physician(api, 1)
    b = await physician(api, 2, specialties=["cardiology"])
    onc = await add(api, a["id"], expires_on=days(30))
    unlimited = await add(
        api, a["id"], specialty="hematology", time_unlimited=True, expires_on=None, moc_status="not_required"
    )
    cardio = await add(api, b["id"], specialty="cardiology", expires_on=days(31))
    lapsed = await add(api, b["id"], specialty="interventional_cardiology", expires_on=days(-1))

    async def ids(**params: str) -> set[str]:
        return {c["id"] for c in await listed(api, **params)}

    assert await ids() == {onc["id"], unlimited["id"], cardio["id"], lapsed["id"]}
    assert await ids(physician_id=a["id"]) == {onc["id"], unlimited["id"]}
    assert await ids(physician_id=b["id"]) == {cardio["id"], lapsed["id"]}
    assert await ids(physician_id=MISSING) == set()
    assert await ids(specialty="medical_oncology") == {onc["id"]}
    assert await ids(specialty="207RC0000X") == {cardio["id"]}, "a NUCC code filters as its slug"
    assert await ids(specialty="psychiatry") == set()
    assert await ids(expiring_within_days="30") == {onc["id"]}, "at exactly N days is included"
    assert await ids(expiring_within_days="31") == {onc["id"], cardio["id"]}
    assert await ids(expiring_within_days="29") == set()
    assert await ids(expiring_within_days="3650") == {onc["id"], cardio["id"]}, "no end date never expires"
    assert await ids(expiring_within_days="31", physician_id=b["id"]) == {cardio["id"]}
    assert await ids(expiring_within_days="31", specialty="medical_oncology") == {onc["id"]}


async def test_expiring_today_is_included(api: Api) -> None:
    doc = await physician(api)
    due = await add(api, doc["id"], expires_on=days(0))
    assert [c["id"] for c in await listed(api, expiring_within_days="0")] == [due["id"]]


async def test_cursor_pagination_walks_every_certification_once(api: Api) -> None:
    doc = await physician(api)
    pairs = [
        ("ABIM", "medical_oncology"),
        ("AOBIM", "medical_oncology"),
        ("ABIM", "hematology"),
        ("AOBIM", "hematology"),
        ("ABIM", "hematology_oncology"),
        ("AOBIM", "hematology_oncology"),
        ("ABIM", "internal_medicine"),
    ]
    for board, specialty in pairs:
        await add(api, doc["id"], board=board, specialty=specialty)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        response = await api.get(BASE, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(pairs)


def _cursor(*key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"specialty": "astrology"}, "specialty"),
        ({"specialty": "x" * 65}, "specialty"),
        ({"expiring_within_days": "-1"}, "expiring_within_days"),
        ({"expiring_within_days": "3651"}, "expiring_within_days"),
        ({"expiring_within_days": "1.5"}, "expiring_within_days"),
        ({"physician_id": "123"}, "physician_id"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": _cursor(MISSING, MISSING)}, "cursor"),
        ({"cursor": _cursor("not-a-uuid")}, "cursor"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_list_bad_parameters_are_422(api: Api, params: dict, field: str) -> None:
    assert_problem(await api.get(BASE, params=params), 422, field)


async def test_certification_changes_show_in_compliance(api: Api) -> None:
    doc = await physician(api)

    async def board_check() -> dict:
        response = await api.get(f"{PHYSICIANS}/{doc['id']}/compliance")
        assert response.status_code == 200, response.text
        return next(c for c in response.json()["checks"] if c["check"] == "board_certification")

    check = await board_check()
    assert check["ok"] is False and check["reason"] == "no_board_certification"

    created = await add(api, doc["id"], expires_on=days(60))
    check = await board_check()
    assert check["ok"] is True and check["expires_on"] == days(60)

    await api.patch(f"{BASE}/{created['id']}", json={"moc_status": "not_meeting"})
    check = await board_check()
    assert check["ok"] is False and check["reason"] == "certification_lapsed"

    await api.patch(f"{BASE}/{created['id']}", json={"moc_status": "meeting", "expires_on": days(-1)})
    assert (await board_check())["reason"] == "certification_lapsed"

    await api.patch(
        f"{BASE}/{created['id']}", json={"expires_on": None, "time_unlimited": True, "moc_status": "not_required"}
    )
    check = await board_check()
    assert check["ok"] is True and check.get("expires_on") is None, "time-unlimited never expires"

    await api.delete(f"{BASE}/{created['id']}")
    assert (await board_check())["reason"] == "no_board_certification"


async def test_concurrent_duplicates_are_409_never_500(api: Api) -> None:
    """Two clients adding the same certification at once: one wins, the others get 409."""
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/certifications"
    pairs = [
        ("ABIM", "medical_oncology"),
        ("AOBIM", "medical_oncology"),
        ("ABIM", "hematology"),
        ("AOBIM", "hematology"),
        ("ABIM", "internal_medicine"),
    ]
    for board, specialty in pairs:
        body = factories.certification(board=board, specialty=specialty)
        responses = await asyncio.gather(*(api.post(url, json=body) for _ in range(4)))
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text for r in responses]
    assert len(await listed(api)) == len(pairs)
