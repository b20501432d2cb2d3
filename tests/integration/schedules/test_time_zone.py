"""Physician ``time_zone``: optional on POST (the organization's default), PATCH-able, validated, versioned."""

from __future__ import annotations

import pytest

from roster.config import Settings
from tests import factories
from tests.conftest import Api, TempDatabase
from tests.integration.imports import roster_files
from tests.integration.schedules.helpers import PHYSICIANS, ok, physician, problem


async def test_default_given_and_patched(api: Api) -> None:
    default = await physician(api, 1)
    assert default["time_zone"] == "America/New_York"
    chicago = await physician(api, 2, time_zone="America/Chicago")
    assert chicago["time_zone"] == "America/Chicago"
    assert (await ok(await api.get(f"{PHYSICIANS}/{chicago['id']}")))["time_zone"] == "America/Chicago"
    patched = await ok(await api.patch(f"{PHYSICIANS}/{default['id']}", json={"time_zone": "Pacific/Honolulu"}))
    assert patched["time_zone"] == "Pacific/Honolulu"
    audit = await ok(await api.get("/api/v1/audit", params={"entity": "physician", "entity_id": default["id"]}))
    update = next(e for e in audit["items"] if e["action"] == "update")
    assert update["before"]["time_zone"] == "America/New_York" and update["after"]["time_zone"] == "Pacific/Honolulu"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "EST6", "localtime", "", "America/New York", 5, None])
async def test_unknown_zone_is_422_naming_it(api: Api, zone: object) -> None:
    response = await api.post(PHYSICIANS, json=factories.physician(1, time_zone=zone))
    if zone is None:  # null is "not given"
        assert response.status_code == 201
        return
    problem(response, 422, "time_zone")
    created = await physician(api, 2)
    problem(await api.patch(f"{PHYSICIANS}/{created['id']}", json={"time_zone": zone}), 422, "time_zone")
    assert (await ok(await api.get(f"{PHYSICIANS}/{created['id']}")))["time_zone"] == "America/New_York"


async def test_a_zone_change_that_breaks_working_hours_is_refused(api: Api) -> None:
    phoenix = await physician(api, 1, time_zone="America/Phoenix")
    rule = {"weekdays": ["sun"], "start": "02:30", "end": "10:00"}
    await ok(await api.post(f"{PHYSICIANS}/{phoenix['id']}/working-hours", json=rule), 201)
    body = problem(await api.patch(f"{PHYSICIANS}/{phoenix['id']}", json={"time_zone": "America/New_York"}), 422)
    assert body["errors"][0]["field"] == "time_zone" and "02:30" in body["errors"][0]["message"]
    assert await ok(await api.patch(f"{PHYSICIANS}/{phoenix['id']}", json={"time_zone": "Asia/Tokyo"}))


class TestOrganizationDefault:
    @pytest.fixture
    def settings(self, migrated: TempDatabase) -> Settings:
        return migrated.settings(required_sources=(), default_time_zone="America/Phoenix")

    async def test_new_physicians_get_the_organizations_zone(self, api: Api) -> None:
        assert (await physician(api, 1))["time_zone"] == "America/Phoenix"
        files = {"file": ("roster.csv", roster_files.csv_bytes([roster_files.physician(2)]), "text/csv")}
        await ok(await api.post("/api/v1/imports/roster", files=files))
        found = await ok(await api.get(f"{PHYSICIANS}/npi/{factories.npi(2)}"))
        assert found["time_zone"] == "America/Phoenix"


def test_a_bad_default_zone_fails_at_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROSTER_DEFAULT_TIME_ZONE", "America/Atlantis")
    with pytest.raises(ValueError, match="ROSTER_DEFAULT_TIME_ZONE: 'America/Atlantis' is not an IANA time zone"):
        Settings.from_env()
    monkeypatch.setenv("ROSTER_DEFAULT_TIME_ZONE", "Asia/Kolkata")
    assert Settings.from_env().default_time_zone == "Asia/Kolkata"


async def upload(api: Api, data: bytes, name: str = "roster.csv") -> object:
    mime = "text/csv" if name.endswith(".csv") else "application/octet-stream"
    return await api.post("/api/v1/imports/roster", files={"file": (name, data, mime)})


async def test_import_takes_an_optional_time_zone_column(api: Api) -> None:
    without = [c for c in roster_files.CSV_COLUMNS if c != "time_zone"]
    await ok(await upload(api, roster_files.csv_bytes([roster_files.physician(1)], without)))
    assert (await ok(await api.get(f"{PHYSICIANS}/npi/{factories.npi(1)}")))["time_zone"] == "America/New_York"
    rows = [roster_files.physician(2, time_zone="America/Chicago"), roster_files.physician(1, time_zone="")]
    await ok(await upload(api, roster_files.csv_bytes(rows)))
    assert (await ok(await api.get(f"{PHYSICIANS}/npi/{factories.npi(2)}")))["time_zone"] == "America/Chicago"
    assert (await ok(await api.get(f"{PHYSICIANS}/npi/{factories.npi(1)}")))["time_zone"] == "America/New_York"
    moved = [roster_files.physician(1, time_zone="Pacific/Honolulu")]
    await ok(await upload(api, roster_files.xlsx_bytes(moved), "roster.xlsx"))
    assert (await ok(await api.get(f"{PHYSICIANS}/npi/{factories.npi(1)}")))["time_zone"] == "Pacific/Honolulu"


async def test_import_names_a_bad_time_zone_per_row(api: Api) -> None:
    rows = [roster_files.physician(1), roster_files.physician(2, time_zone="Moon/Tranquility")]
    response = await upload(api, roster_files.csv_bytes(rows))
    assert response.status_code == 422, response.text
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(3, "time_zone")]
    assert (await ok(await api.get(PHYSICIANS)))["items"] == [], "nothing was written"


async def test_export_includes_the_time_zone(api: Api) -> None:
    await physician(api, 1, time_zone="America/Chicago")
    response = await api.get("/api/v1/exports/roster", params={"format": "csv"})
    assert response.status_code == 200
    header, first = response.text.splitlines()[:2]
    assert "time_zone" in header.split(",")
    assert first.split(",")[header.split(",").index("time_zone")] == "America/Chicago"
