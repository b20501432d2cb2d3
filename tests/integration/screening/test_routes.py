"""Screening through the HTTP app: snapshots, runs, hits, decisions, and what compliance makes of them."""

from __future__ import annotations

import hashlib

import httpx
import polars as pl
import pytest

from roster.alerts.tables import Alert
from roster.config import Settings
from roster.screening.service import parquet_path
from roster.sources.records import record_hash
from tests import factories
from tests.conftest import Api

LEIE_HEADER = (
    "LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,GENERAL,SPECIALTY,UPIN,NPI,DOB,ADDRESS,CITY,STATE,ZIP,"
    "EXCLTYPE,EXCLDATE,REINDATE,WAIVERDATE,WVRSTATE"
)
SNAPSHOTS = "/api/v1/screening/oig_leie/snapshots"


def leie_row(
    last: str,
    first: str,
    *,
    npi: str = "0000000000",
    dob: str = "",
    state: str = "AZ",
    excluded: str = "20240115",
    reinstated: str = "00000000",
    business: str = "",
) -> str:
    values = [
        last,
        first,
        "",
        business,
        "IND- LIC HC SERV PRO",
        "PHYSICIAN (MD, DO)",
        "",
        npi,
        dob,
        "1 MAIN ST",
        "PHOENIX",
        state,
        "85001",
        "1128b4",
        excluded,
        reinstated,
        "00000000",
        "",
    ]
    return ",".join(f'"{v}"' for v in values)


def leie_file(*rows: str) -> bytes:
    return ("\n".join([LEIE_HEADER, *rows]) + "\n").encode()


FILLER = [leie_row(f"NOBODY{i}", "PAT", dob="19600101", state="NV") for i in range(5)]


async def upload(api: Api, content: bytes, name: str = "UPDATED.csv", source: str = "oig_leie", role: str = "admin"):
    return await api.post(
        f"/api/v1/screening/{source}/snapshots", role=role, files={"file": (name, content, "text/csv")}
    )


async def physician(api: Api, n: int, **overrides: object) -> dict:
    response = await api.post("/api/v1/physicians", json=factories.physician(n, **overrides))
    assert response.status_code == 201, response.text
    doc = response.json()
    await api.post(f"/api/v1/physicians/{doc['id']}/licenses", json=factories.license("AZ", f"AZ{n}"))
    return doc


async def checks(api: Api, physician_id: str) -> dict[str, dict]:
    report = (await api.get(f"/api/v1/physicians/{physician_id}/compliance")).json()
    return {c["check"]: c for c in report["checks"]}


async def test_upload_run_decide_and_compliance(api: Api) -> None:
    doc = await physician(api, 1, first_name="Robert", last_name="Quill", date_of_birth="1971-04-02")
    clean = await physician(api, 2, first_name="Ann", last_name="Clear")
    content = leie_file(*FILLER, leie_row("QUILL", "ROBERT", dob="19710402"))

    first = await upload(api, content)
    assert first.status_code == 201, first.text
    snap = first.json()
    assert snap["rows"] == 6 and snap["sha256"] == hashlib.sha256(content).hexdigest()
    again = await upload(api, content)
    assert again.status_code == 200 and again.json()["id"] == snap["id"], "same bytes -> the same snapshot"

    run = await api.post("/api/v1/screening/runs", json={})
    assert run.status_code == 201, run.text
    body = run.json()
    assert body["sources"] == ["oig_leie"] and body["screened"] == 2 and body["new_hits"] == 1
    assert body["snapshots"] == {"oig_leie": snap["id"]}

    hits = (await api.get("/api/v1/screening/hits", params={"status": "pending"})).json()["items"]
    assert len(hits) == 1
    hit = hits[0]
    assert hit["physician_id"] == doc["id"] and hit["match_kind"] == "name_dob"
    assert hit["record"]["LASTNAME"] == "QUILL" and hit["record"]["EXCLDATE"] == "20240115"

    assert (await checks(api, doc["id"]))["oig_exclusion"]["reason"] == "screening_pending"
    clean_checks = await checks(api, clean["id"])
    assert clean_checks["oig_exclusion"]["ok"] is True
    assert clean_checks["sam_exclusion"]["reason"] == "screening_stale", "a list never loaded is never clear"

    decided = await api.post(
        f"/api/v1/screening/hits/{hit['id']}/decision",
        role="credentialing",
        json={"decision": "dismissed", "note": "different middle name and address on file"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "dismissed" and decided.json()["decided_by"] == "test-credentialing"
    assert (await checks(api, doc["id"]))["oig_exclusion"]["ok"] is True

    rerun = (await api.post("/api/v1/screening/runs", json={"sources": ["oig_leie"]})).json()
    assert rerun["hits"] == 1 and rerun["new_hits"] == 0, "a dismissed row is not raised again"

    twice = await api.post(
        f"/api/v1/screening/hits/{hit['id']}/decision", json={"decision": "confirmed", "note": "second thoughts"}
    )
    assert twice.status_code == 409

    changed = leie_file(*FILLER, leie_row("QUILL", "ROBERT", dob="19710402", excluded="20260901"))
    assert (await upload(api, changed)).status_code == 201
    third = (await api.post("/api/v1/screening/runs", json={})).json()
    assert third["new_hits"] == 1, "a changed list row raises again"
    [new_hit] = (await api.get("/api/v1/screening/hits", params={"status": "pending"})).json()["items"]
    confirmed = await api.post(
        f"/api/v1/screening/hits/{new_hit['id']}/decision", json={"decision": "confirmed", "note": "same person"}
    )
    assert confirmed.status_code == 200
    oig = (await checks(api, doc["id"]))["oig_exclusion"]
    assert oig["ok"] is False and oig["reason"] == "excluded_oig"

    alerts = await Alert.select(Alert.kind, Alert.subject_id, Alert.threshold).order_by(Alert.created_at).run()
    assert [(a["kind"], a["threshold"]) for a in alerts] == [
        ("exclusion_hit", "pending"),
        ("exclusion_hit", "pending"),
        ("exclusion_hit", "confirmed"),
    ], "one alert per (hit, status), none for the re-run that found nothing new"
    assert alerts[2]["subject_id"] == new_hit["id"]


async def test_npi_hit_and_entity_rows(api: Api) -> None:
    doc = await physician(api, 3, last_name="Entwhistle")
    await upload(
        api,
        leie_file(
            leie_row("", "", npi=doc["npi"], business="SOME PHARMACY LLC"),
            leie_row("", "", business="ADA ENTWHISTLE"),
        ),
    )
    await api.post("/api/v1/screening/runs", json={})
    hits = (await api.get("/api/v1/screening/hits")).json()["items"]
    assert [(h["match_kind"], h["score"]) for h in hits] == [("npi", 1.0)], "entity rows never match by name"


async def test_supplement_reinstatement_removes_a_person(api: Api) -> None:
    await physician(api, 4, first_name="Rita", last_name="Stone", date_of_birth="1966-06-06")
    person = leie_row("STONE", "RITA", dob="19660606")
    base = (await upload(api, leie_file(*FILLER, person))).json()
    rein = leie_row("STONE", "RITA", dob="19660606", reinstated="20261101")
    after = await upload(api, leie_file(rein), name="2611REIN.csv")
    assert after.status_code == 201, after.text
    assert after.json()["rows"] == base["rows"] - 1
    run = (await api.post("/api/v1/screening/runs", json={})).json()
    assert run["hits"] == 0


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "0-byte file"),
        (leie_file(*FILLER).replace(b"WVRSTATE", b"WAIVERSTATE"), "WAIVERSTATE header"),
        (leie_file(*FILLER).replace(b",", b";"), "wrong delimiter"),
        (leie_file(*FILLER)[:-40], "truncated last line"),
        (leie_file(*FILLER).replace(b"NOBODY1", b"NOBOD\xff\xfe"), "non-UTF-8 bytes"),
        (b"NAME,DATE\nX,Y\n", "another file entirely"),
    ],
)
async def test_broken_files_are_rejected_and_nothing_is_stored(api: Api, content: bytes, why: str) -> None:
    response = await upload(api, content)
    assert response.status_code == 422, (why, response.text)
    assert response.json()["errors"][0]["field"] == "file"
    assert (await api.post("/api/v1/screening/runs", json={})).status_code == 422, "no snapshot was stored"
    audit = (await api.get("/api/v1/audit", params={"entity": "list_snapshot"})).json()["items"]
    assert audit == []


async def test_snapshots_parsed_before_struct_records_still_screen(api: Api, settings: Settings) -> None:
    """A LEIE snapshot stored with ``record`` as JSON and a ``record_hash`` column (as parsed before
    records were kept as structs) is still screened as it was; a supplement on top of it asks for the
    full file again (422, nothing stored) rather than failing."""
    await physician(api, 5, first_name="Robert", last_name="Quill", date_of_birth="1971-04-02")
    snap = (await upload(api, leie_file(*FILLER, leie_row("QUILL", "ROBERT", dob="19710402")))).json()
    path = parquet_path(settings.data_dir, "oig_leie", snap["sha256"])
    frame = pl.read_parquet(path)
    legacy = frame.with_columns(
        record_hash=record_hash(frame["record"]), record=pl.lit('{"LASTNAME":"QUILL","NOTE":"legacy"}')
    )
    legacy.write_parquet(path)
    run = (await api.post("/api/v1/screening/runs", json={})).json()
    assert run["new_hits"] == 1
    [hit] = (await api.get("/api/v1/screening/hits")).json()["items"]
    assert hit["record"] == {"LASTNAME": "QUILL", "NOTE": "legacy"}
    response = await upload(api, leie_file(*FILLER), name="2611EXCL.csv")
    assert response.status_code == 422 and "reload the full UPDATED.csv" in response.json()["detail"]
    rerun = (await api.post("/api/v1/screening/runs", json={})).json()
    assert rerun["snapshots"] == {"oig_leie": snap["id"]} and rerun["new_hits"] == 0, "nothing new was stored"


async def test_supplement_without_a_full_file_is_rejected(api: Api) -> None:
    response = await upload(api, leie_file(*FILLER), name="2611EXCL.csv")
    assert response.status_code == 422 and "UPDATED.csv" in response.json()["detail"]


async def test_bad_requests(api: Api) -> None:
    assert (await upload(api, leie_file(*FILLER), role="router")).status_code == 403
    assert (await upload(api, leie_file(*FILLER), source="nasa")).status_code in (404, 422)
    no_file = await api.post(SNAPSHOTS, files={"other": ("x.csv", b"abc", "text/csv")})
    assert no_file.status_code == 422 and no_file.json()["errors"][0]["field"] == "file"
    wrong_type = await api.post(SNAPSHOTS, content=b"abc", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415
    bad_url = await api.post(SNAPSHOTS, json={"url": "ftp://example.org/UPDATED.csv"})
    assert bad_url.status_code == 422 and bad_url.json()["errors"][0]["field"] == "url"
    unknown = await api.post("/api/v1/screening/runs", json={"sources": ["nasa"]})
    assert unknown.status_code == 422
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await api.get(f"/api/v1/screening/hits/{missing}")).status_code == 404
    decision = await api.post(f"/api/v1/screening/hits/{missing}/decision", json={"decision": "dismissed", "note": "x"})
    assert decision.status_code == 404
    no_note = await api.post(f"/api/v1/screening/hits/{missing}/decision", json={"decision": "dismissed"})
    assert no_note.status_code == 422 and no_note.json()["errors"][0]["field"] == "note"
    maybe = await api.post(f"/api/v1/screening/hits/{missing}/decision", json={"decision": "maybe", "note": "x"})
    assert maybe.status_code == 422


GOOD = leie_file(*FILLER)
CALLS: list[str] = []


def _publisher(request: httpx.Request) -> httpx.Response:
    CALLS.append(request.url.path)
    if request.url.path.endswith("/UPDATED.csv"):
        return httpx.Response(200, content=GOOD)
    if request.url.path.endswith("/slow.csv"):
        raise httpx.ReadTimeout("timed out", request=request)
    if request.url.path.endswith("/flaky.csv"):
        return httpx.Response(503)
    return httpx.Response(404)


@pytest.fixture
def http_transport() -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(_publisher)


async def test_load_from_url(api: Api) -> None:
    ok = await api.post(SNAPSHOTS, json={"url": "https://oig.hhs.gov/exclusions/UPDATED.csv"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["sha256"] == hashlib.sha256(GOOD).hexdigest()


@pytest.mark.parametrize(("path", "status"), [("/missing.csv", 422), ("/slow.csv", 502), ("/flaky.csv", 502)])
async def test_failed_downloads_store_nothing(api: Api, path: str, status: int) -> None:
    CALLS.clear()
    response = await api.post(SNAPSHOTS, json={"url": f"https://oig.hhs.gov{path}"})
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["field"] == "url"
    if path != "/missing.csv":
        assert len(CALLS) == 3, "timeouts and 5xx are retried"
    assert (await api.post("/api/v1/screening/runs", json={})).status_code == 422
