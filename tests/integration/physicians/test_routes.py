from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests import factories
from tests.conftest import Api

BASE = "/api/v1/physicians"


async def create(api: Api, n: int = 1, **overrides: object) -> dict:
    response = await api.post(BASE, json=factories.physician(n, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_and_read_back(api: Api) -> None:
    created = await create(api, specialties=["207RX0202X"], languages=["en", "en", "es"])
    assert created["specialties"] == ["medical_oncology"], "NUCC codes resolve to the specialty slug"
    assert created["languages"] == ["en", "es"]
    assert created["status"] == "active" and created["npi_status"] == "unknown"
    by_id = await api.get(f"{BASE}/{created['id']}")
    by_npi = await api.get(f"{BASE}/npi/{created['npi']}")
    assert by_id.json() == created == by_npi.json()


async def test_languages_default_to_english(api: Api) -> None:
    body = factories.physician(2)
    del body["languages"]
    response = await api.post(BASE, json=body)
    assert response.json()["languages"] == ["en"]


async def test_duplicate_npi_is_409_and_writes_nothing(api: Api) -> None:
    await create(api, 1)
    response = await api.post(BASE, json=factories.physician(1, last_name="Other"))
    assert response.status_code == 409
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"] == [{"field": "npi", "message": "already registered"}]
    listed = (await api.get(BASE)).json()["items"]
    assert [p["last_name"] for p in listed] == ["Reviewer0001"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"npi": "1234567890"}, "npi"),
        ({"npi": "12345"}, "npi"),
        ({"npi": "12345678a3"}, "npi"),
        ({"degree": "RN"}, "degree"),
        ({"date_of_birth": (date.today() + timedelta(days=1)).isoformat()}, "date_of_birth"),
        ({"date_of_birth": "1970-02-30"}, "date_of_birth"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth"),
        ({"clinical_practice_start": "1960-01-01"}, "clinical_practice_start"),
        ({"credentialed_on": (date.today() + timedelta(days=3)).isoformat()}, "credentialed_on"),
        ({"lines_of_business": ["dental"]}, "lines_of_business.0"),
        ({"languages": ["english"]}, "languages.0"),
        ({"specialties": ["astrology"]}, "specialties.0"),
        ({"specialties": ["cardiology", "clinical_pharmacy"]}, "specialties.1"),
        ({"max_open_cases": -1}, "max_open_cases"),
        ({"first_name": ""}, "first_name"),
        ({"email": "not-an-email"}, "email"),
        ({"favourite_color": "blue"}, "favourite_color"),
    ],
)
async def test_bad_input_is_422_naming_the_field(api: Api, overrides: dict, field: str) -> None:
    response = await api.post(BASE, json=factories.physician(3, **overrides))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [field]
    assert (await api.get(BASE)).json()["items"] == [], "nothing is written"


async def test_missing_required_field(api: Api) -> None:
    body = factories.physician(4)
    del body["last_name"]
    response = await api.post(BASE, json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "last_name"


async def test_malformed_json_is_400_problem(api: Api) -> None:
    response = await api.post(BASE, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["title"] == "Bad request"


async def test_patch_changes_fields_and_keeps_others(api: Api) -> None:
    created = await create(api, 5)
    response = await api.patch(f"{BASE}/{created['id']}", json={"max_open_cases": 7, "middle_name": "Q"})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["max_open_cases"] == 7 and updated["middle_name"] == "Q"
    assert updated["npi"] == created["npi"] and updated["updated_at"] > created["updated_at"]


async def test_patch_to_an_existing_npi_is_409(api: Api) -> None:
    first = await create(api, 6)
    second = await create(api, 7)
    response = await api.patch(f"{BASE}/{second['id']}", json={"npi": first["npi"]})
    assert response.status_code == 409
    assert (await api.get(f"{BASE}/{second['id']}")).json()["npi"] == second["npi"]


async def test_patch_validates_the_merged_record(api: Api) -> None:
    created = await create(api, 8)
    response = await api.patch(f"{BASE}/{created['id']}", json={"date_of_birth": "2005-01-01"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "clinical_practice_start"


async def test_delete_deactivates_and_keeps_the_record(api: Api) -> None:
    created = await create(api, 9)
    response = await api.delete(f"{BASE}/{created['id']}")
    assert response.status_code == 200 and response.json()["status"] == "inactive"
    assert (await api.get(f"{BASE}/{created['id']}")).json()["status"] == "inactive"
    compliance = (await api.get(f"{BASE}/{created['id']}/compliance")).json()
    assert "inactive" in compliance["reasons"]


async def test_unknown_physician_is_404(api: Api) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await api.get(f"{BASE}/{missing}")).status_code == 404
    assert (await api.get(f"{BASE}/npi/1234567893")).status_code == 404
    assert (await api.patch(f"{BASE}/{missing}", json={"max_open_cases": 3})).status_code == 404
    assert (await api.delete(f"{BASE}/{missing}")).status_code == 404
    assert (await api.get(f"{BASE}/{missing}/compliance")).status_code == 404


async def test_list_filters(api: Api) -> None:
    onc = await create(
        api, 10, last_name="Alvarez", specialties=["hematology_oncology"], lines_of_business=["medicaid"]
    )
    cardio = await create(api, 11, last_name="Baker", specialties=["cardiology"])
    await api.post(f"{BASE}/{cardio['id']}/licenses", json=factories.license("TX", "TX1"))
    await api.delete(f"{BASE}/{onc['id']}")

    async def names(**params: str) -> list[str]:
        response = await api.get(BASE, params=params)
        assert response.status_code == 200, response.text
        return [p["last_name"] for p in response.json()["items"]]

    assert await names() == ["Alvarez", "Baker"]
    assert await names(specialty="hematology_oncology") == ["Alvarez"]
    assert await names(specialty="207RC0000X") == ["Baker"]
    assert await names(state="TX") == ["Baker"]
    assert await names(state="AZ") == []
    assert await names(line_of_business="medicaid") == ["Alvarez"]
    assert await names(status="inactive") == ["Alvarez"]
    assert await names(q="bak") == ["Baker"]
    assert await names(q=cardio["npi"]) == ["Baker"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"state": "ZZ"}, "state"),
        ({"state": "arizona"}, "state"),
        ({"specialty": "astrology"}, "specialty"),
        ({"line_of_business": "dental"}, "line_of_business"),
        ({"status": "sleeping"}, "status"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "WzFd"}, "cursor"),
    ],
)
async def test_list_bad_filters_are_422(api: Api, params: dict, field: str) -> None:
    response = await api.get(BASE, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_cursor_pagination_walks_every_physician_once(api: Api) -> None:
    for n in range(20, 27):
        await create(api, n, last_name=f"Same{n % 3}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(BASE, params=params)).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
