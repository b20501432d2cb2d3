"""GET /api/v1/exports/roster: formats, media types, and export -> wipe -> import == the same roster."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import fastexcel
import polars as pl
import pytest

from roster.imports.layout import COLUMNS, CSV_COLUMNS, SHEETS
from roster.spreadsheet import FORMULA_START
from tests import factories
from tests.conftest import Api, written_behind_the_app

URL = "/api/v1/exports/roster"
P = "/api/v1/physicians"
MEDIA = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
#: Fields the system sets, not the roster file: they differ after a re-import by design.
SYSTEM_FIELDS = {"id", "physician_id", "created_at", "updated_at", "npi_status", "npi_checked_on"}


async def created(api: Api, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(url, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def build_roster(api: Api) -> None:
    """Physicians that exercise every kind of value the layout carries."""
    today = date.today()
    a = await created(
        api,
        P,
        factories.physician(
            1,
            middle_name="Q",
            suffix="III",
            former_last_names=["Okafor", "Lee-Smith"],
            email="a@example.org",
            specialties=["207RX0202X", "hematology"],
            max_open_cases=7,
        ),
    )
    await created(api, f"{P}/{a['id']}/licenses", factories.license("AZ", "md-1"))
    await created(
        api,
        f"{P}/{a['id']}/licenses",
        factories.license("CA", "A1", status="probation", restricted=True, verified_on=None, verification_source=None),
    )
    await created(api, f"{P}/{a['id']}/certifications", factories.certification())
    await created(
        api,
        f"{P}/{a['id']}/certifications",
        factories.certification(
            specialty="hematology",
            certified_on="2011-01-01",
            expires_on=(today + timedelta(days=700)).isoformat(),
            status="lapsed",
            moc_status="not_meeting",
            verified_on=today.isoformat(),
            verification_source="abms",
        ),
    )
    b = await created(
        api, P, factories.physician(2, degree="DO", languages=["fr"], lines_of_business=[], credentialed_on=None)
    )
    await created(
        api,
        f"{P}/{b['id']}/certifications",
        factories.certification(
            board="AOBIM",
            specialty="internal_medicine",
            certified_on="1985-06-01",
            time_unlimited=True,
            moc_status="not_required",
        ),
    )
    assert (await api.delete(f"{P}/{b['id']}")).status_code == 200  # inactive physicians are exported too
    await created(api, P, factories.physician(3, irr_passed_on=None))  # no credentials at all


async def wipe_roster() -> None:
    """Empty the roster (not the API keys the test client uses)."""
    from roster.certifications.tables import Certification
    from roster.credentialing.tables import Verification
    from roster.history.tables import RecordVersion
    from roster.licenses.tables import License
    from roster.physicians.tables import Physician

    # Verifications too: a license or certification written with ``verified_on`` records one.
    for table in (Certification, License, Verification, RecordVersion, Physician):
        await table.delete(force=True).run()
    await written_behind_the_app()


async def snapshot(api: Api) -> dict[str, Any]:
    """Every roster field of every physician, license and certification, keyed by natural keys."""

    def strip(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in SYSTEM_FIELDS}

    people = (await api.get(P, params={"limit": 500})).json()["items"]
    out: dict[str, Any] = {}
    for person in people:
        lic = (await api.get("/api/v1/licenses", params={"physician_id": person["id"]})).json()["items"]
        cert = (await api.get("/api/v1/certifications", params={"physician_id": person["id"]})).json()["items"]
        out[person["npi"]] = {
            "physician": strip(person),
            "licenses": sorted((strip(x) for x in lic), key=lambda x: (x["state"], x["number"])),
            "certifications": sorted((strip(x) for x in cert), key=lambda x: (x["board"], x["specialty"])),
        }
    return out


async def export(api: Api, fmt: str | None = None, role: str = "admin") -> Any:
    response = await api.get(URL, role=role, params={} if fmt is None else {"format": fmt})
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_export_then_import_gives_the_identical_roster(api: Api, fmt: str) -> None:
    await build_roster(api)
    before = await snapshot(api)
    assert len(before) == 3
    exported = (await export(api, fmt)).content

    await wipe_roster()
    assert await snapshot(api) == {}
    name = f"roster.{fmt}"
    response = await api.post("/api/v1/imports/roster", files={"file": (name, exported, MEDIA[fmt])})
    assert response.status_code == 200, response.text
    assert response.json()["changes"]["licenses"]["created"] == 2

    after = await snapshot(api)
    assert after == before
    again = await api.post("/api/v1/imports/roster", files={"file": (name, exported, MEDIA[fmt])})
    assert {k: v["updated"] + v["created"] for k, v in again.json()["changes"].items()} == {
        "physicians": 0,
        "licenses": 0,
        "certifications": 0,
    }


async def build_formula_roster(api: Api, start: str) -> None:
    """Values a spreadsheet would run as formulas, and values that already start with a quote."""
    a = await created(
        api,
        P,
        factories.physician(
            1,
            first_name=f'{start}HYPERLINK("http://x","a")',
            last_name=f"{start}SUM(1)",
            middle_name=f"{start}Q",
            suffix=f"{start}1",
            former_last_names=[f"{start}Old", "O'Neil"],
        ),
    )
    await created(api, f"{P}/{a['id']}/licenses", factories.license("AZ", "md-1", verification_source=f"{start}board"))
    await created(
        api,
        f"{P}/{a['id']}/certifications",
        factories.certification(verified_on=date.today().isoformat(), verification_source=f"{start}abms"),
    )
    await created(
        api,
        P,
        factories.physician(2, first_name="'O'Neil", last_name=f"'{start}x", middle_name=f"''{start}", suffix="'"),
    )


def exported_cells(fmt: str, content: bytes) -> list[dict[str, str]]:
    """Every record of an exported CSV or XLSX, as the text a spreadsheet gets."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode(), newline="")))
    reader = fastexcel.read_excel(content)
    return [
        {k: v or "" for k, v in row.items()}
        for sheet in reader.sheet_names
        for row in reader.load_sheet(sheet, dtypes="string").to_polars().to_dicts()
    ]


@pytest.mark.parametrize("start", list(FORMULA_START), ids=["eq", "plus", "minus", "at", "tab", "cr"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_formulas_are_neutralised_and_the_export_still_imports_to_the_same_roster(
    api: Api, fmt: str, start: str
) -> None:
    await build_formula_roster(api, start)
    before = await snapshot(api)
    exported = (await export(api, fmt)).content

    rows = exported_cells(fmt, exported)
    assert [v for row in rows for v in row.values() if v and v[0] in FORMULA_START] == []
    first, second = (next(r for r in rows if r.get("middle_name") and r["npi"] == factories.npi(n)) for n in (1, 2))
    names = "Old;O'Neil" if start in "\t\r" else f"'{start}Old;O'Neil"  # the API strips names, not middle names
    if start not in "\t\r":
        assert (first["first_name"], first["last_name"]) == (f'\'{start}HYPERLINK("http://x","a")', f"'{start}SUM(1)")
    assert (first["middle_name"], first["suffix"], first["former_last_names"]) == (f"'{start}Q", f"'{start}1", names)
    # A value already starting with quotes and a formula character gets one more; any other quote is text.
    assert (second["first_name"], second["last_name"], second["middle_name"], second["suffix"]) == (
        "'O'Neil",
        f"''{start}x",
        f"'''{start}",
        "'",
    )
    sources = sorted(r["verification_source"] for r in rows if r.get("verification_source"))
    assert sources == [f"'{start}abms", f"'{start}board"]

    await wipe_roster()
    name = f"roster.{fmt}"
    response = await api.post("/api/v1/imports/roster", files={"file": (name, exported, MEDIA[fmt])})
    assert response.status_code == 200, response.text
    assert await snapshot(api) == before


async def test_csv_is_the_default_in_the_template_layout(api: Api) -> None:
    await build_roster(api)
    response = await export(api)
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="roster-\d{4}-\d{2}-\d{2}\.csv"', disposition), disposition
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["record"], r["npi"]) for r in rows][:5] == [
        ("physician", factories.npi(1)),
        ("license", factories.npi(1)),
        ("license", factories.npi(1)),
        ("certification", factories.npi(1)),
        ("certification", factories.npi(1)),
    ]
    first = rows[0]
    assert first["specialties"] == "medical_oncology;hematology"
    assert first["former_last_names"] == "Okafor;Lee-Smith" and first["max_open_cases"] == "7"
    restricted = next(r for r in rows if r["record"] == "license" and r["state"] == "CA")
    assert (restricted["restricted"], restricted["status"], restricted["verified_on"]) == ("true", "probation", "")
    assert restricted["board"] == "" and restricted["first_name"] == "", "cells of other record kinds stay empty"
    inactive = next(r for r in rows if r["record"] == "physician" and r["npi"] == factories.npi(2))
    assert inactive["status"] == "inactive" and inactive["lines_of_business"] == ""


async def test_xlsx_has_one_sheet_per_record_kind(api: Api) -> None:
    await build_roster(api)
    response = await export(api, "xlsx", role="auditor")
    assert response.headers["content-type"] == MEDIA["xlsx"]
    assert response.headers["content-disposition"].endswith('.xlsx"')
    reader = fastexcel.read_excel(response.content)
    assert reader.sheet_names == ["physicians", "licenses", "certifications"]
    for kind, sheet in SHEETS.items():
        frame = reader.load_sheet(sheet, dtypes="string").to_polars()
        assert tuple(frame.columns) == COLUMNS[kind]
    physicians = reader.load_sheet("physicians", dtypes="string").to_polars()
    assert physicians.get_column("npi").to_list() == [factories.npi(n) for n in (1, 2, 3)]


async def test_parquet_is_typed(api: Api) -> None:
    await build_roster(api)
    response = await export(api, "parquet", role="manager")
    assert response.headers["content-type"] == MEDIA["parquet"]
    frame = pl.read_parquet(io.BytesIO(response.content))
    assert tuple(frame.columns) == CSV_COLUMNS
    assert frame.schema["date_of_birth"] == pl.Date and frame.schema["restricted"] == pl.Boolean
    assert frame.schema["specialties"] == pl.List(pl.String) and frame.schema["max_open_cases"] == pl.Int64
    assert frame.filter(pl.col("record") == "license").height == 2
    first = frame.row(0, named=True)
    assert first["specialties"] == ["medical_oncology", "hematology"] and first["date_of_birth"] == date(1970, 5, 17)


async def test_an_empty_roster_exports_just_the_header(api: Api) -> None:
    response = await export(api)
    assert response.text.strip() == ",".join(CSV_COLUMNS)
    frame = pl.read_parquet(io.BytesIO((await export(api, "parquet")).content))
    assert frame.height == 0 and tuple(frame.columns) == CSV_COLUMNS


@pytest.mark.parametrize("params", [{"format": "pdf"}, {"format": ""}, {"format": "CSV"}, {"fmt": "csv"}])
async def test_unknown_format_is_422_naming_it(api: Api, params: dict[str, str]) -> None:
    response = await api.get(URL, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [next(iter(params))]


@pytest.mark.parametrize(("role", "status"), [("router", 403), ("credentialing", 200), ("auditor", 200)])
async def test_who_may_export(api: Api, role: str, status: int) -> None:
    response = await api.get(URL, role=role)
    assert response.status_code == status, response.text
