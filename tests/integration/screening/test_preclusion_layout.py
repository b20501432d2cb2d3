"""A plan whose Preclusion List has its own headers maps them with ROSTER_PRECLUSION_COLUMNS."""

from __future__ import annotations

import pytest

from roster.config import Settings, _env_columns
from roster.sources.preclusion import layout_with
from tests import factories
from tests.conftest import Api, TempDatabase

COLUMNS = {
    "npi": "NPI Number",
    "last_name": "Surname",
    "first_name": "Given Name",
    "middle_name": None,
    "business_name": None,
    "provider_type": None,
    "effective_date": "Start",
    "claim_denial_date": None,
    "reason": "Why",
}


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings(preclusion_columns=COLUMNS)


async def upload(api: Api, content: bytes) -> object:
    return await api.post(
        "/api/v1/screening/cms_preclusion/snapshots", files={"file": ("precluded.csv", content, "text/csv")}
    )


async def test_a_mapped_layout_loads_and_screens_by_npi(api: Api) -> None:
    doc = (await api.post("/api/v1/physicians", json=factories.physician(41))).json()
    content = f"NPI Number,Surname,Given Name,Start,Why\n{doc['npi']},REVIEWER,ADA,2026-01-05,revoked\n".encode()
    response = await upload(api, content)
    assert response.status_code == 201, response.text
    run = (await api.post("/api/v1/screening/runs", json={"sources": ["cms_preclusion"]})).json()
    assert run["new_hits"] == 1
    [hit] = (await api.get("/api/v1/screening/hits", params={"source": "cms_preclusion"})).json()["items"]
    assert hit["match_kind"] == "npi" and hit["record"]["Why"] == "revoked"


async def test_the_default_layout_is_then_rejected_naming_the_missing_columns(api: Api) -> None:
    default = (
        b"NPI,Last Name,First Name,Middle Name,Business Name,Provider Type,Effective Date,Claim Denial Date,Reason\n"
    )
    response = await upload(api, default + b"1234567893,DOE,JANE,,,MD,2026-01-05,,x\n")
    assert response.status_code == 422
    assert "NPI Number" in response.json()["detail"]


def test_layout_settings_are_validated() -> None:
    assert layout_with({"npi": "NPI Number"}).npi == "NPI Number"
    with pytest.raises(ValueError, match="unknown preclusion field"):
        layout_with({"nip": "NPI"})
    with pytest.raises(ValueError, match="must be mapped"):
        layout_with({"npi": None})


def test_layout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROSTER_PRECLUSION_COLUMNS", '{"npi": "NPI Number", "reason": null}')
    assert Settings.from_env().preclusion_columns == {"npi": "NPI Number", "reason": None}
    assert _env_columns("UNSET_VARIABLE_FOR_TEST") == {}
    monkeypatch.setenv("ROSTER_PRECLUSION_COLUMNS", "[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        Settings.from_env()
    monkeypatch.setenv("ROSTER_PRECLUSION_COLUMNS", "{not json")
    with pytest.raises(ValueError, match="not JSON"):
        Settings.from_env()
