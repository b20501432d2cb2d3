"""GET /api/v1/reports/expirations on a frozen clock (2026-06-01), every row computed by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from tests import factories
from tests.conftest import Api

P = "/api/v1/physicians"
REPORT = "/api/v1/reports/expirations"
TODAY = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)


async def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


async def build_roster(api: Api) -> dict[str, Any]:
    """Ada (n=1) has a bit of everything; Bo (n=2) was never credentialed nor IRR-tested; Cy (n=3) is inactive."""
    ada = await created(
        await api.post(
            P,
            json=factories.physician(
                1, middle_name="Q", suffix="Jr", credentialed_on="2023-06-20", irr_passed_on="2025-05-20"
            ),
        )
    )
    bo = await created(await api.post(P, json=factories.physician(2, credentialed_on=None, irr_passed_on=None)))
    cy = await created(
        await api.post(P, json=factories.physician(3, credentialed_on="2023-06-02", irr_passed_on="2025-06-01"))
    )
    ids: dict[str, Any] = {"ada": ada, "bo": bo, "cy": cy}
    for key, state, number, expires, extra in [
        ("az", "AZ", "MD1", "2026-06-01", {}),  # expires today: still in force, 0 days left
        ("tx", "TX", "TX2", "2026-05-31", {}),  # expired yesterday
        ("ca", "CA", "CA3", "2026-08-30", {}),  # exactly 90 days out
        ("ny", "NY", "NY4", "2026-08-31", {}),  # 91 days out: outside a 90-day report
        ("fl", "FL", "FL5", "2026-06-10", {"status": "revoked"}),  # not going to be renewed
        ("nv", "NV", "NV6", "2026-07-01", {"status": "probation"}),
    ]:
        body = factories.license(
            state, number, expires_on=expires, issued_on="2016-01-01", verified_on="2026-05-01", **extra
        )
        ids[key] = await created(await api.post(f"{P}/{ada['id']}/licenses", json=body))
    for key, extra in [
        ("medonc", {"specialty": "medical_oncology", "expires_on": "2026-07-15"}),
        ("hemonc", {"specialty": "hematology_oncology", "expires_on": "2026-07-01", "moc_status": "not_meeting"}),
        ("radonc", {"board": "ABR", "specialty": "radiation_oncology", "expires_on": "2026-05-01"}),
        (
            "heme",
            {"specialty": "hematology", "time_unlimited": True, "moc_status": "not_required", "expires_on": None},
        ),
    ]:
        ids[key] = await created(
            await api.post(f"{P}/{ada['id']}/certifications", json=factories.certification(**extra))
        )
    ids["cy_license"] = await created(
        await api.post(
            f"{P}/{cy['id']}/licenses", json=factories.license("AZ", "CY1", expires_on="2026-06-05", verified_on=None)
        )
    )
    assert (await api.delete(f"{P}/{cy['id']}")).status_code == 200
    return ids


def expected_rows(ids: dict[str, Any], within_days: int = 90) -> list[dict[str, Any]]:
    ada, bo = ids["ada"], ids["bo"]

    def row(
        who: dict[str, Any],
        name: str,
        kind: str,
        item: str | None,
        detail: str,
        on: str | None,
        left: int | None,
        status: str,
    ) -> dict[str, Any]:
        return {
            "physician_id": who["id"],
            "npi": who["npi"],
            "name": name,
            "kind": kind,
            "item_id": None if item is None else ids[item]["id"],
            "detail": detail,
            "expires_on": on,
            "days_left": left,
            "status": status,
        }

    a, b = "Ada Q Reviewer0001 Jr", "Ada Reviewer0002"
    rows = [
        row(bo, b, "recredentialing", None, "never credentialed", None, None, "overdue"),
        row(bo, b, "irr", None, "no IRR test passed", None, None, "overdue"),
        row(ada, a, "certification", "radonc", "ABR radiation_oncology", "2026-05-01", -31, "overdue"),
        row(ada, a, "irr", None, "IRR passed 2025-05-20", "2026-05-20", -12, "overdue"),
        row(ada, a, "license", "tx", "TX TX2", "2026-05-31", -1, "overdue"),
        row(ada, a, "license", "az", "AZ MD1", "2026-06-01", 0, "upcoming"),
        # 2023-06-20 + 36 months = 2026-06-20, the first overdue day; the report gives the last good day.
        row(ada, a, "recredentialing", None, "credentialed 2023-06-20", "2026-06-19", 18, "upcoming"),
        row(ada, a, "license", "nv", "NV NV6 (probation)", "2026-07-01", 30, "upcoming"),
        row(
            ada, a, "certification", "hemonc", "ABIM hematology_oncology (MOC not meeting)", "2026-07-01", 30, "overdue"
        ),
        row(ada, a, "certification", "medonc", "ABIM medical_oncology", "2026-07-15", 44, "upcoming"),
        row(ada, a, "license", "ca", "CA CA3", "2026-08-30", 90, "upcoming"),
    ]
    return [r for r in rows if r["days_left"] is None or r["days_left"] <= within_days]


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(TODAY, tick=False) as traveller:
        yield traveller


async def test_report_rows_are_hand_computed(api: Api, frozen: Any) -> None:
    ids = await build_roster(api)
    response = await api.get(REPORT, role="manager", params={"within_days": 90, "limit": 500})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == "2026-06-01"
    assert body["within_days"] == 90
    assert body["through"] == "2026-08-30"
    assert body["next_cursor"] is None
    assert body["items"] == expected_rows(ids)


@pytest.mark.parametrize("within_days", [0, 30, 89])
async def test_window_bounds_are_inclusive(api: Api, frozen: Any, within_days: int) -> None:
    ids = await build_roster(api)
    response = await api.get(REPORT, params={"within_days": within_days, "limit": 500})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == expected_rows(ids, within_days)


async def test_default_window_is_90_days(api: Api, frozen: Any) -> None:
    ids = await build_roster(api)
    response = await api.get(REPORT, role="auditor", params={"limit": 500})
    assert response.json()["items"] == expected_rows(ids, 90)


async def test_pages_walk_the_whole_report(api: Api, frozen: Any) -> None:
    ids = await build_roster(api)
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"within_days": 90, "limit": 4}
        if cursor:
            params["cursor"] = cursor
        body = (await api.get(REPORT, role="credentialing", params=params)).json()
        assert len(body["items"]) <= 4
        seen.extend(body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == expected_rows(ids)


async def test_a_renewal_moves_the_row_out_of_the_report(api: Api, frozen: Any) -> None:
    ids = await build_roster(api)
    before = (await api.get(REPORT, params={"limit": 500})).json()["items"]
    assert ids["tx"]["id"] in {r["item_id"] for r in before}, "the report is built (and kept) before the renewal"
    renewed = await api.patch(f"/api/v1/licenses/{ids['tx']['id']}", json={"expires_on": "2028-05-31"})
    assert renewed.status_code == 200, renewed.text
    items = (await api.get(REPORT, params={"limit": 500})).json()["items"]
    assert ids["tx"]["id"] not in {r["item_id"] for r in items}
    assert len(items) == len(expected_rows(ids)) - 1


async def test_csv_has_every_row(api: Api, frozen: Any) -> None:
    ids = await build_roster(api)
    response = await api.get(REPORT, role="manager", params={"limit": 1}, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="expirations-2026-06-01-90d.csv"'
    parsed = list(csv.DictReader(io.StringIO(response.text)))
    expected = expected_rows(ids)
    assert len(parsed) == len(expected), "CSV ignores limit: it is the whole report"
    as_text = [{k: "" if v is None else str(v) for k, v in row.items()} for row in expected]
    assert parsed == as_text
    assert response.text.splitlines()[0] == "physician_id,npi,name,kind,item_id,detail,expires_on,days_left,status"


async def test_csv_of_an_empty_report_is_its_header(api: Api, frozen: Any) -> None:
    response = await api.get(REPORT, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.text == "physician_id,npi,name,kind,item_id,detail,expires_on,days_left,status\n"
    assert (await api.get(REPORT)).json()["items"] == []


@pytest.mark.parametrize(
    ("accept", "csv_expected"),
    [
        ("text/csv", True),
        ("text/csv, application/json;q=0.5", True),
        ("application/json", False),
        ("*/*", False),
        ("application/json, text/csv;q=0.2", False),
    ],
)
async def test_accept_negotiation(api: Api, accept: str, csv_expected: bool) -> None:
    response = await api.get(REPORT, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv" if csv_expected else "application/json")


async def test_csv_neutralises_spreadsheet_formulas(api: Api, frozen: Any) -> None:
    doctor = await created(
        await api.post(
            P, json=factories.physician(5, first_name="=HYPERLINK(1)", credentialed_on=None, irr_passed_on=None)
        )
    )
    response = await api.get(REPORT, headers={"Accept": "text/csv"})
    names = {row["name"] for row in csv.DictReader(io.StringIO(response.text)) if row["physician_id"] == doctor["id"]}
    assert names == {"'=HYPERLINK(1) Reviewer0005"}
    json_names = {r["name"] for r in (await api.get(REPORT)).json()["items"] if r["physician_id"] == doctor["id"]}
    assert json_names == {"=HYPERLINK(1) Reviewer0005"}, "JSON carries the name unchanged"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"within_days": -1}, "within_days"),
        ({"within_days": 3651}, "within_days"),
        ({"within_days": "soon"}, "within_days"),
        ({"within_days": "1.5"}, "within_days"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyIyMDI2LTAxLTAxIiwiYm9hdCIsIngiXQ"}, "cursor"),  # ["2026-01-01","boat","x"]
        ({"withindays": 5}, "withindays"),
    ],
)
async def test_bad_input_is_422_naming_the_field(api: Api, params: dict[str, Any], field: str) -> None:
    for accept in ("application/json", "text/csv"):
        response = await api.get(REPORT, params=params, headers={"Accept": accept})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_routers_may_not_read_reports(api: Api) -> None:
    response = await api.get(REPORT, role="router")
    assert response.status_code == 403
    assert (await api.client.get(REPORT)).status_code == 401
