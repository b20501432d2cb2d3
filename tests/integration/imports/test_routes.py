"""POST /api/v1/imports/roster: templates, upserts, broken files (exact errors, nothing written), faults."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from roster.audit.tables import AuditEvent
from roster.certifications.tables import Certification
from roster.config import PROJECT_ROOT
from roster.history.tables import RecordVersion
from roster.licenses.tables import License
from roster.physicians.tables import Physician
from tests import factories
from tests.conftest import Api
from tests.integration.imports import roster_files as files

URL = "/api/v1/imports/roster"
TEMPLATES = PROJECT_ROOT / "fixtures" / "templates"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def upload(
    api: Api, data: bytes, name: str = "roster.csv", *, dry_run: bool | None = None, role: str = "credentialing"
) -> Any:
    params = {} if dry_run is None else {"dry_run": str(dry_run).lower()}
    mime = XLSX if name.endswith(".xlsx") else "text/csv"
    return await api.post(URL, role=role, files={"file": (name, data, mime)}, params=params)


async def stored() -> dict[str, int]:
    return {
        "physicians": await Physician.count().run(),
        "licenses": await License.count().run(),
        "certifications": await Certification.count().run(),
        "audit": await AuditEvent.count().where(AuditEvent.entity != "api_key").run(),  # keys are the fixture's
        "versions": await RecordVersion.count().run(),
    }


async def assert_nothing_written(api: Api) -> None:
    counts = await stored()
    assert counts == {"physicians": 0, "licenses": 0, "certifications": 0, "audit": 0, "versions": 0}


def rejected(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] == "Invalid roster file"
    assert "nothing was imported" in problem["detail"]
    return problem["errors"]


def where(errors: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    return [(e["sheet"], e["row"], e["column"]) for e in errors]


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["roster_template.csv", "roster_template.xlsx"])
async def test_each_template_imports_whole_and_audited(api: Api, name: str) -> None:
    response = await upload(api, (TEMPLATES / name).read_bytes(), name)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["physicians"], body["licenses"], body["certifications"], body["errors"]) == (3, 4, 3, [])
    assert body["changes"]["physicians"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert body["changes"]["licenses"]["created"] == 4 and body["changes"]["certifications"]["created"] == 3
    assert await stored() == {"physicians": 3, "licenses": 4, "certifications": 3, "audit": 10, "versions": 10}

    maria = (await api.get("/api/v1/physicians/npi/1548930274")).json()
    assert maria["specialties"] == ["medical_oncology", "hematology_oncology"]
    assert maria["languages"] == ["en", "es"] and maria["former_last_names"] == ["Ortega"]
    assert maria["date_of_birth"] == "1971-04-12" and maria["max_open_cases"] == 20
    james = (await api.get("/api/v1/physicians/npi/1123456786")).json()
    assert james["specialties"] == ["orthopaedic_surgery"], "a NUCC code resolves to its slug, as in the API"
    assert james["middle_name"] is None and james["suffix"] == "Jr" and james["last_name"] == "O'Neill"
    licenses = (await api.get("/api/v1/licenses", params={"physician_id": maria["id"]})).json()["items"]
    assert sorted(lic["state"] for lic in licenses) == ["AZ", "CA"]

    events = (await api.get("/api/v1/audit", params={"entity": "physician", "limit": 500})).json()["items"]
    assert len(events) == 3
    assert {e["actor"] for e in events} == {"test-credentialing"} and {e["action"] for e in events} == {"create"}
    compliance = await api.get(f"/api/v1/physicians/{maria['id']}/compliance")
    assert compliance.status_code == 200, "imported records are read by the compliance rules"


async def test_reimport_is_idempotent(api: Api) -> None:
    data = (TEMPLATES / "roster_template.csv").read_bytes()
    assert (await upload(api, data)).status_code == 200
    before = await stored()
    again = await upload(api, data)
    assert again.status_code == 200, again.text
    assert again.json()["changes"] == {
        "physicians": {"created": 0, "updated": 0, "unchanged": 3},
        "licenses": {"created": 0, "updated": 0, "unchanged": 4},
        "certifications": {"created": 0, "updated": 0, "unchanged": 3},
    }
    assert await stored() == before, "an unchanged record is neither written nor audited"
    xlsx = await upload(api, (TEMPLATES / "roster_template.xlsx").read_bytes(), "roster_template.xlsx")
    assert xlsx.json()["changes"]["licenses"]["unchanged"] == 4, "the two templates hold the same roster"
    assert await stored() == before


async def test_changed_fields_are_updated_with_before_and_after(api: Api) -> None:
    rows = files.roster_rows(2)
    assert (await upload(api, files.csv_bytes(rows))).status_code == 200
    rows[0]["max_open_cases"] = "25"
    rows[1]["number"] = "md00001"  # same license key once normalized: not a new license
    rows[1]["expires_on"] = "2031-01-31"
    response = await upload(api, files.csv_bytes(rows))
    assert response.status_code == 200, response.text
    changes = response.json()["changes"]
    assert changes["physicians"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert changes["licenses"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert changes["certifications"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert (await stored())["licenses"] == 2

    physician = (await api.get(f"/api/v1/physicians/npi/{factories.npi(1)}")).json()
    assert physician["max_open_cases"] == 25
    [event] = [
        e
        for e in (await api.get("/api/v1/audit", params={"entity_id": physician["id"]})).json()["items"]
        if e["action"] == "update"
    ]
    assert event["before"]["max_open_cases"] == 20 and event["after"]["max_open_cases"] == 25
    assert event["before"]["last_name"] == event["after"]["last_name"]
    versions = (
        await RecordVersion.select(RecordVersion.recorded_to, RecordVersion.data)
        .where(RecordVersion.entity_id == physician["id"])
        .output(load_json=True)
        .run()
    )
    assert len(versions) == 2, "the update closed the created version and opened a new one"
    [current] = [v for v in versions if v["recorded_to"] is None]
    assert current["data"]["max_open_cases"] == 25
    [lic] = (await api.get("/api/v1/licenses", params={"physician_id": physician["id"]})).json()["items"]
    assert lic["expires_on"] == "2031-01-31" and lic["number"] == "MD00001"


async def test_a_status_column_deactivates_but_an_empty_one_leaves_status_alone(api: Api) -> None:
    rows = [files.physician(1), files.physician(2)]
    assert (await upload(api, files.csv_bytes(rows))).status_code == 200
    rows[0]["status"], rows[1]["status"] = "inactive", ""
    response = await upload(api, files.csv_bytes(rows))
    assert response.json()["changes"]["physicians"] == {"created": 0, "updated": 1, "unchanged": 1}
    statuses = [(await api.get(f"/api/v1/physicians/npi/{factories.npi(n)}")).json()["status"] for n in (1, 2)]
    assert statuses == ["inactive", "active"]


async def test_rows_absent_from_the_file_are_left_alone(api: Api) -> None:
    assert (await upload(api, files.csv_bytes(files.roster_rows(3)))).status_code == 200
    response = await upload(api, files.csv_bytes(files.roster_rows(1)))
    assert response.status_code == 200
    assert (await stored())["physicians"] == 3
    listed = (await api.get("/api/v1/physicians", params={"status": "active"})).json()["items"]
    assert len(listed) == 3


async def test_credentials_may_refer_to_physicians_already_on_the_roster(api: Api) -> None:
    created = await api.post("/api/v1/physicians", json=factories.physician(7))
    assert created.status_code == 201
    response = await upload(api, files.csv_bytes([files.license(7, "TX"), files.certification(7)]))
    assert response.status_code == 200, response.text
    assert response.json()["changes"]["physicians"] == {"created": 0, "updated": 0, "unchanged": 0}
    assert (await stored())["licenses"] == 1


async def test_npis_are_looked_up_as_data_whatever_they_hold(api: Api) -> None:
    """The roster lookup binds the file's NPIs as one JSON/array parameter: quotes, brackets and
    SQL in a cell are just an NPI that is not on the roster."""
    await api.post("/api/v1/physicians", json=factories.physician(7))
    odd = ['1"]', "x' OR '1'='1", "[]", "\\u0000", "é" * 40]
    rows = [files.license(n, npi=npi) for n, npi in enumerate(odd, start=20)] + [files.license(7, "TX")]
    errors = rejected(await upload(api, files.csv_bytes(rows)))
    assert [(e["row"], e["column"]) for e in errors if e["column"] == "npi"] == [(r, "npi") for r in range(2, 7)]
    assert all("no physician with NPI" in e["message"] for e in errors if e["column"] == "npi")
    assert (await stored())["licenses"] == 0


async def test_dry_run_validates_and_counts_but_writes_nothing(api: Api) -> None:
    response = await upload(api, files.csv_bytes(files.roster_rows(4)), dry_run=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is True and body["changes"]["physicians"]["created"] == 4
    await assert_nothing_written(api)
    bad = files.roster_rows(2)
    bad[0]["degree"] = "MBBS"
    errors = rejected(await upload(api, files.csv_bytes(bad), dry_run=True))
    assert where(errors) == [(None, 2, "degree")]


async def test_dates_in_three_formats(api: Api) -> None:
    rows = [
        files.physician(
            1,
            date_of_birth="05/17/1970",
            clinical_practice_start="20010701",
            credentialed_on="3/4/2025",
            irr_passed_on="2026-01-05",
        ),
        files.license(1, issued_on="1/2/2010", expires_on="20300115"),
    ]
    response = await upload(api, files.csv_bytes(rows))
    assert response.status_code == 200, response.text
    doc = (await api.get(f"/api/v1/physicians/npi/{factories.npi(1)}")).json()
    assert (doc["date_of_birth"], doc["clinical_practice_start"], doc["credentialed_on"]) == (
        "1970-05-17",
        "2001-07-01",
        "2025-03-04",
    )
    [lic] = (await api.get("/api/v1/licenses")).json()["items"]
    assert (lic["issued_on"], lic["expires_on"]) == ("2010-01-02", "2030-01-15")


async def test_unparseable_dates_are_named_by_row_and_column(api: Api) -> None:
    rows = [
        files.physician(1, date_of_birth="17/05/1970"),
        files.license(1, expires_on="2030-02-30"),
        files.certification(1, certified_on="Sept 2008"),
    ]
    errors = rejected(await upload(api, files.csv_bytes(rows)))
    assert where(errors) == [(None, 2, "date_of_birth"), (None, 3, "expires_on"), (None, 4, "certified_on")]
    assert errors[0]["message"].startswith("'17/05/1970' is not a date; use YYYY-MM-DD, MM/DD/YYYY")
    assert errors[0]["field"] == "row 2: date_of_birth"
    await assert_nothing_written(api)


async def test_csv_with_a_byte_order_mark(api: Api) -> None:
    response = await upload(api, files.csv_bytes(files.roster_rows(2), bom=True))
    assert response.status_code == 200, response.text
    assert (await stored())["physicians"] == 2


# --- broken files: exact errors, nothing written ---------------------------------------------------


async def test_missing_column_is_one_error(api: Api) -> None:
    columns = [c for c in files.CSV_COLUMNS if c != "date_of_birth"]
    errors = rejected(await upload(api, files.csv_bytes(files.roster_rows(3), columns)))
    assert errors == [
        {
            "row": 1,
            "column": "date_of_birth",
            "message": "missing column",
            "sheet": None,
            "field": "row 1: date_of_birth",
        }
    ]
    await assert_nothing_written(api)


async def test_unknown_column_is_named(api: Api) -> None:
    columns = [*files.CSV_COLUMNS, "speciality"]
    errors = rejected(await upload(api, files.csv_bytes(files.roster_rows(1), columns)))
    assert where(errors) == [(None, 1, "speciality")]
    assert errors[0]["message"].startswith("unknown column")


async def test_wrong_delimiter_is_one_error(api: Api) -> None:
    errors = rejected(await upload(api, files.csv_bytes(files.roster_rows(3), delimiter=";")))
    assert errors == [
        {
            "row": 1,
            "column": None,
            "message": "the file is not comma-separated (the header is split by ';')",
            "sheet": None,
            "field": "row 1",
        }
    ]
    await assert_nothing_written(api)


async def test_bad_npi_on_row_37(api: Api) -> None:
    rows = [files.physician(n) for n in range(1, 37)]  # spreadsheet rows 2..37
    good = factories.npi(36)
    rows[-1]["npi"] = good[:-1] + str((int(good[-1]) + 1) % 10)
    rows.append(files.license(3))
    errors = rejected(await upload(api, files.csv_bytes(rows)))
    assert errors == [
        {
            "row": 37,
            "column": "npi",
            "message": "check digit is invalid (Luhn over 80840 + NPI)",
            "sheet": None,
            "field": "row 37: npi",
        }
    ]
    await assert_nothing_written(api)


async def test_duplicate_npi_inside_the_file(api: Api) -> None:
    rows = [files.physician(1), files.physician(2), files.license(2), files.physician(1, first_name="Other")]
    errors = rejected(await upload(api, files.csv_bytes(rows)))
    assert where(errors) == [(None, 5, "npi")]
    assert errors[0]["message"] == f"duplicate: NPI {factories.npi(1)} is already on row 2"
    await assert_nothing_written(api)


async def test_duplicate_credentials_inside_the_file(api: Api) -> None:
    rows = [
        files.physician(1),
        files.license(1, "AZ", "MD1"),
        files.license(1, "AZ", " md1 "),
        files.certification(1),
        files.certification(1, specialty="207RX0202X"),  # medical_oncology by its NUCC code
    ]
    errors = rejected(await upload(api, files.csv_bytes(rows)))
    assert where(errors) == [(None, 4, "number"), (None, 6, "specialty")]
    assert errors[0]["message"] == "duplicate: AZ license MD1 is already on row 3"


async def test_one_bad_record_means_nothing_is_written(api: Api) -> None:
    rows = files.roster_rows(10)
    rows[16]["expires_on"] = "2009-12-31"  # license of physician 6 expires before it was issued
    errors = rejected(await upload(api, files.csv_bytes(rows)))
    assert errors == [
        {
            "row": 18,
            "column": "expires_on",
            "message": "must be after issued_on",
            "sheet": None,
            "field": "row 18: expires_on",
        }
    ]
    await assert_nothing_written(api)


async def test_every_error_of_every_row_is_reported_in_order(api: Api) -> None:
    rows = [
        files.physician(1, degree="MBBS", email="not-an-email", lines_of_business="medicare;commercial"),
        files.physician(2, specialties="medical_oncology;clinical_pharmacy", max_open_cases="many"),
        files.license(2, state="ZZ", restricted="maybe"),
        files.license(2, "CA", status="lapsed"),
        files.certification(2, board="ABR", time_unlimited="true", moc_status="meeting"),
        files.license(99),
    ]
    errors = rejected(await upload(api, files.csv_bytes(rows)))
    assert where(errors) == [
        (None, 2, "degree"),
        (None, 2, "email"),
        (None, 2, "lines_of_business"),
        (None, 3, "specialties"),
        (None, 3, "max_open_cases"),
        (None, 4, "state"),
        (None, 4, "restricted"),
        (None, 5, "status"),
        (None, 6, "board"),
        (None, 6, "moc_status"),
        (None, 7, "npi"),
    ]
    messages = {(e["row"], e["column"]): e["message"] for e in errors}
    assert messages[(3, "specialties")] == "'clinical_pharmacy' is not a physician specialty"
    assert messages[(3, "max_open_cases")] == "'many' is not a whole number"
    assert messages[(4, "state")] == "'ZZ' is not a USPS code of a state, DC or territory"
    assert messages[(6, "board")].startswith("ABR does not certify medical_oncology")
    assert messages[(7, "npi")] == f"no physician with NPI {factories.npi(99)} in the file or on the roster"
    await assert_nothing_written(api)


async def test_cells_outside_the_record_and_unknown_record_kinds(api: Api) -> None:
    rows = [files.physician(1), files.license(1, board="ABIM"), {**files.certification(1), "record": "diploma"}]
    errors = rejected(await upload(api, files.csv_bytes(rows)))
    assert where(errors) == [(None, 3, "board"), (None, 4, "record")]
    assert errors[0]["message"] == "is not a license column; leave it empty on license rows"
    await assert_nothing_written(api)


async def test_required_cells_left_empty(api: Api) -> None:
    rows = [files.physician(1, last_name="", clinical_practice_start=""), files.license(1, npi="")]
    errors = rejected(await upload(api, files.csv_bytes(rows)))
    assert [(e["row"], e["column"], e["message"]) for e in errors] == [
        (2, "last_name", "is required"),
        (2, "clinical_practice_start", "is required"),
        (3, "npi", "is required"),
    ]


async def test_xlsx_with_an_extra_sheet(api: Api) -> None:
    data = files.xlsx_bytes(files.roster_rows(2), extra_sheets=["Notes"])
    errors = rejected(await upload(api, data, "roster.xlsx"))
    assert errors == [
        {
            "row": None,
            "column": None,
            "message": "unexpected sheet; a roster workbook has only: physicians, licenses, certifications",
            "sheet": "Notes",
            "field": "Notes",
        }
    ]
    await assert_nothing_written(api)


async def test_xlsx_errors_name_the_sheet(api: Api) -> None:
    rows = files.roster_rows(3)
    rows[4]["expires_on"] = "someday"  # the second license: licenses sheet, row 3
    missing = files.xlsx_bytes(rows, drop_sheets=["certifications"])
    assert where(rejected(await upload(api, missing, "r.xlsx"))) == [("certifications", None, None)]
    errors = rejected(await upload(api, files.xlsx_bytes(rows), "roster.xlsx"))
    assert errors[0]["field"] == "licenses row 3: expires_on"
    assert where(errors) == [("licenses", 3, "expires_on")]
    await assert_nothing_written(api)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param("record,npi\n".encode("utf-16"), "the file is UTF-16; save it as CSV UTF-8", id="utf-16"),
        pytest.param(b"PK\x03\x04not really a zip", "not a readable XLSX workbook", id="broken-xlsx"),
    ],
)
async def test_unreadable_files(api: Api, data: bytes, message: str) -> None:
    errors = rejected(await upload(api, data))
    assert len(errors) == 1 and errors[0]["message"].startswith(message)


async def test_not_utf8_names_the_row(api: Api) -> None:
    data = files.csv_bytes(files.roster_rows(2)).replace(b"Ada", b"Ad\xe9", 1)
    errors = rejected(await upload(api, data))
    assert [(e["row"], e["message"][:12]) for e in errors] == [(2, "not UTF-8 te")]


async def test_a_ragged_record_is_named(api: Api) -> None:
    data = files.csv_bytes(files.roster_rows(2)) + b"physician,1,2" + b",x" * 40 + b"\r\n"
    errors = rejected(await upload(api, data))
    assert [(e["row"], e["column"]) for e in errors] == [(8, None)]
    assert "fields, the header has 32" in errors[0]["message"]


async def test_upload_without_a_file_field_is_422(api: Api) -> None:
    response = await api.post(URL, role="credentialing", files={"other": ("x.csv", b"a", "text/csv")})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_20_mb_file_with_errors_is_rejected_whole(api: Api, tmp_path: Path) -> None:
    rows = files.roster_rows(32000)
    for row in rows:  # full-width text cells, as real rosters have, to reach 20 MB
        if row["record"] == "physician":
            row["middle_name"] = "M" * 100
        else:
            row["verification_source"] = "primary source verification " + "v" * 72
    rows[40000]["expires_on"] = "31/12/2030"
    rows[-3]["npi"] = factories.npi(5)  # the last physician row repeats physician 5's NPI
    data = files.csv_bytes(rows)
    assert len(data) >= 20 * 1024 * 1024, len(data)
    errors = rejected(await upload(api, data))
    assert [(e["row"], e["column"]) for e in errors] == [
        (40002, "expires_on"),
        (len(rows) - 1, "npi"),
        (len(rows), "npi"),
        (len(rows) + 1, "npi"),
    ]
    assert errors[1]["message"] == f"duplicate: NPI {factories.npi(5)} is already on row 14"
    assert errors[2]["message"] == errors[3]["message"]  # its credentials name an NPI nobody has
    await assert_nothing_written(api)


# --- faults ------------------------------------------------------------------------------------


async def test_a_failure_while_writing_rolls_everything_back(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from roster.history import service as history

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(history, "record_changes", broken)
    response = await upload(api, files.csv_bytes(files.roster_rows(5)))
    assert response.status_code == 500
    assert "disk full" not in response.text, "no internals leak"
    await assert_nothing_written(api)


async def test_routers_and_auditors_may_not_import(api: Api) -> None:
    data = files.csv_bytes(files.roster_rows(1))
    for role in ("router", "auditor", "manager"):
        assert (await upload(api, data, role=role)).status_code == 403
    await assert_nothing_written(api)


def test_template_csv_is_the_layout() -> None:
    header = next(csv.reader(io.StringIO((TEMPLATES / "roster_template.csv").read_text())))
    assert tuple(header) == files.CSV_COLUMNS


async def test_a_large_import_refreshes_planner_statistics(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the post-load ANALYZE (Postgres; a no-op on SQLite) on a small file: it works inside the import's
    transaction, and lookups after it use the new statistics."""
    from roster.imports import service

    monkeypatch.setattr(service, "ANALYZE_AFTER", 1)
    assert (await upload(api, files.csv_bytes(files.roster_rows(3)))).status_code == 200
    again = await upload(api, files.csv_bytes(files.roster_rows(3)))
    assert again.json()["changes"]["physicians"] == {"created": 0, "updated": 0, "unchanged": 3}


async def test_the_garbage_collector_is_paused_only_while_importing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The import pauses the cyclic collector for its object churn and restores it whatever the outcome."""
    import gc

    from roster.history import service as history

    seen: list[bool] = []
    record_changes = history.record_changes

    async def spying(*args: Any, **kwargs: Any) -> None:
        seen.append(gc.isenabled())
        await record_changes(*args, **kwargs)

    monkeypatch.setattr(history, "record_changes", spying)
    assert (await upload(api, files.csv_bytes(files.roster_rows(2)))).status_code == 200
    assert seen == [False] and gc.isenabled()

    bad = files.roster_rows(1)
    bad[0]["npi"] = "123"
    rejected(await upload(api, files.csv_bytes(bad)))
    assert gc.isenabled()

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(history, "record_changes", broken)
    assert (await upload(api, files.csv_bytes(files.roster_rows(3)))).status_code == 500
    assert gc.isenabled()


async def test_an_import_leaves_a_disabled_garbage_collector_disabled(api: Api) -> None:
    import gc

    gc.disable()
    try:
        assert (await upload(api, files.csv_bytes(files.roster_rows(1)))).status_code == 200
        assert not gc.isenabled()
    finally:
        gc.enable()
