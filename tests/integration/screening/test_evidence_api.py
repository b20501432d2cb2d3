"""Screening evidence through the HTTP app (issue 17): each hit says how its fields compared, and the
pairs the matcher holds back (``npi_conflict``: same name and DOB, another valid NPI) are counted on
the run and listed per run, without ever becoming a hit, an alert or a compliance problem."""

from __future__ import annotations

import uuid
from typing import Any, get_args

import pytest
from fhir.resources.R4B.verificationresult import VerificationResult

from roster.alerts.tables import Alert
from roster.fhir.resources import SCREENING_EVIDENCE_EXT
from roster.screening.evidence import VETOES
from roster.screening.schemas import SuppressReason
from tests import factories
from tests.conftest import Api
from tests.integration.screening.test_routes import FILLER, checks, leie_file, leie_row, physician, upload

RUNS = "/api/v1/screening/runs"
HITS = "/api/v1/screening/hits"
MISSING = "00000000-0000-4000-8000-00000000abcd"


def assert_problem(response: Any, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def problem_fields(response: Any) -> list[str]:
    return [error["field"] for error in assert_problem(response, (400, 422)).get("errors", [])]


async def run(api: Api) -> dict[str, Any]:
    response = await api.post(RUNS, json={"sources": ["oig_leie"]})
    assert response.status_code == 201, response.text
    return response.json()


async def namesakes(api: Api) -> dict[str, dict[str, Any]]:
    """Maria Lopez shares her name and DOB with an LEIE row that carries another valid NPI (someone else);
    Robert Quill is on the list by name and DOB, no NPI (a real lead)."""
    lopez = await physician(api, 1, first_name="Maria", last_name="Lopez", date_of_birth="1968-03-09")
    quill = await physician(api, 2, first_name="Robert", last_name="Quill", date_of_birth="1971-04-02")
    other_npi = factories.npi(77)
    assert other_npi != lopez["npi"]
    content = leie_file(
        *FILLER,
        leie_row("LOPEZ", "MARIA", npi=other_npi, dob="19680309"),
        leie_row("QUILL", "ROBERT", dob="19710402"),
    )
    assert (await upload(api, content)).status_code == 201
    return {"lopez": lopez, "quill": quill, "other_npi": {"npi": other_npi}}


async def test_an_npi_conflict_is_listed_and_counted_but_is_no_hit(api: Api) -> None:
    people = await namesakes(api)
    lopez, quill = people["lopez"], people["quill"]

    body = await run(api)
    assert body["hits"] == 1 and body["new_hits"] == 1, "only Quill is a hit"
    assert body["suppressed"] == {"npi_conflict": 1}

    fetched = await api.get(f"{RUNS}/{body['id']}", role="auditor")
    assert fetched.status_code == 200, fetched.text
    stored = fetched.json()
    assert stored["suppressed"] == {"npi_conflict": 1}
    for field in ("id", "sources", "snapshots", "screened", "hits", "new_hits"):
        assert stored[field] == body[field], field

    listed = await api.get(f"{RUNS}/{body['id']}/suppressed", role="manager")
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["next_cursor"] is None
    [held] = page["items"]
    assert held["physician_id"] == lopez["id"] and held["physician_name"] == "Maria Lopez"
    assert held["run_id"] == body["id"] and held["source"] == "oig_leie"
    assert held["reason"] == "npi_conflict" and held["match_kind"] == "name_dob" and held["score"] > 0.9
    assert held["evidence"]["npi"] == "conflict" and held["evidence"]["dob"] == "equal"
    assert held["evidence"]["last_name"] == "exact" and held["evidence"]["first_name"] == "exact"
    assert held["record"]["LASTNAME"] == "LOPEZ" and held["record"]["NPI"] == people["other_npi"]["npi"]
    assert held["record_key"] and held["snapshot_id"] == body["snapshots"]["oig_leie"]

    hits = (await api.get(HITS)).json()["items"]
    assert [h["physician_id"] for h in hits] == [quill["id"]], "no hit, pending or otherwise, for Lopez"
    alerts = await Alert.select(Alert.physician, Alert.kind).run()
    assert [str(a["physician"]) for a in alerts] == [quill["id"]], "no alert for a suppressed pair"
    oig = (await checks(api, lopez["id"]))["oig_exclusion"]
    assert oig["ok"] is True, oig
    assert (await checks(api, quill["id"]))["oig_exclusion"]["reason"] == "screening_pending"

    [audited] = (await api.get("/api/v1/audit", params={"entity": "screening_run"})).json()["items"]
    assert audited["after"]["suppressed"] == {"npi_conflict": 1} and audited["after"]["hits"] == 1

    # Every run records its own: the second lists Lopez again, the first keeps its row.
    again = await run(api)
    assert again["suppressed"] == {"npi_conflict": 1} and again["hits"] == 1 and again["new_hits"] == 0
    second = (await api.get(f"{RUNS}/{again['id']}/suppressed")).json()["items"]
    assert [(s["physician_id"], s["run_id"]) for s in second] == [(lopez["id"], again["id"])]
    assert len((await api.get(f"{RUNS}/{body['id']}/suppressed")).json()["items"]) == 1
    assert (await api.get(f"{RUNS}/{body['id']}")).json()["new_hits"] == 1, "the hits the run raised first"
    assert (await api.get(f"{RUNS}/{again['id']}")).json()["new_hits"] == 0


async def test_suppressed_rows_filter_and_page(api: Api) -> None:
    people = await namesakes(api)
    lopez = people["lopez"]
    mora = await physician(api, 3, first_name="Luis", last_name="Mora", date_of_birth="1959-12-01")
    content = leie_file(
        *FILLER,
        leie_row("LOPEZ", "MARIA", npi=factories.npi(77), dob="19680309"),
        leie_row("MORA", "LUIS", npi=factories.npi(78), dob="19591201"),
    )
    assert (await upload(api, content)).status_code == 201
    body = await run(api)
    assert body["suppressed"] == {"npi_conflict": 2} and body["hits"] == 0
    url = f"{RUNS}/{body['id']}/suppressed"

    first = (await api.get(url, params={"limit": 1})).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = (await api.get(url, params={"limit": 1, "cursor": first["next_cursor"]})).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    seen = {first["items"][0]["physician_id"], rest["items"][0]["physician_id"]}
    assert seen == {lopez["id"], mora["id"]}

    only = (await api.get(url, params={"physician_id": mora["id"]})).json()["items"]
    assert [s["physician_name"] for s in only] == ["Luis Mora"]
    assert len((await api.get(url, params={"reason": "npi_conflict"})).json()["items"]) == 2
    nobody = await api.get(url, params={"physician_id": people["quill"]["id"]})
    assert nobody.status_code == 200 and nobody.json()["items"] == []


async def test_a_hit_carries_its_evidence_in_the_api_and_in_fhir(api: Api) -> None:
    people = await namesakes(api)
    lopez, quill = people["lopez"], people["quill"]
    await run(api)
    [hit] = (await api.get(HITS, params={"status": "pending"})).json()["items"]
    assert hit["physician_id"] == quill["id"] and hit["match_kind"] == "name_dob"
    evidence = hit["evidence"]
    assert evidence["npi"] == "absent" and evidence["dob"] == "equal"
    assert evidence["last_name"] == "exact" and evidence["first_name"] == "exact"
    assert (await api.get(f"{HITS}/{hit['id']}")).json()["evidence"] == evidence

    bundle = (await api.get("/fhir/Practitioner", params={"_id": f"{quill['id']},{lopez['id']}"})).json()
    screenings: dict[str, dict[str, Any]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "VerificationResult" and "targetLocation" not in resource:
            VerificationResult.model_validate(resource)
            screenings[resource["target"][0]["reference"]] = resource
    pending = screenings[f"Practitioner/{quill['id']}"]
    assert pending["status"] == "in-process"
    [ext] = pending["extension"]
    assert ext["url"] == SCREENING_EVIDENCE_EXT
    parts = {part["url"]: part for part in ext["extension"]}
    assert parts["hit"]["valueId"] == hit["id"] and parts["status"]["valueCode"] == "pending"
    assert parts["matchKind"]["valueCode"] == "name_dob"
    assert {field: parts[field]["valueCode"] for field in evidence} == evidence
    clear = screenings[f"Practitioner/{lopez['id']}"]
    assert clear["status"] == "validated" and "extension" not in clear, "a suppressed pair weighs nothing"

    dismissed = await api.post(
        f"{HITS}/{hit['id']}/decision", json={"decision": "dismissed", "note": "another Robert Quill"}
    )
    assert dismissed.status_code == 200
    bundle = (await api.get("/fhir/Practitioner", params={"_id": quill["id"]})).json()
    [cleared] = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "VerificationResult" and "targetLocation" not in e["resource"]
    ]
    assert cleared["status"] == "validated" and "extension" not in cleared, "a dismissed hit is no evidence"


async def test_unknown_runs_are_404_problems(api: Api) -> None:
    for url in (f"{RUNS}/{MISSING}", f"{RUNS}/{MISSING}/suppressed", f"{RUNS}/{uuid.uuid4()}/suppressed"):
        problem = assert_problem(await api.get(url), 404)
        assert problem["status"] == 404
    assert (await api.get(f"{RUNS}/not-a-uuid")).status_code in (404, 422)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"reason": "bogus"}, "reason"),
        ({"physician_id": "not-a-uuid"}, "physician_id"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
        ({"speciality": "x"}, "speciality"),
    ],
)
async def test_bad_query_parameters_name_the_field(api: Api, params: dict[str, str], field: str) -> None:
    await namesakes(api)
    body = await run(api)
    assert field in problem_fields(await api.get(f"{RUNS}/{body['id']}/suppressed", params=params))


async def test_unknown_query_parameters_on_a_run_are_rejected(api: Api) -> None:
    assert "status" in problem_fields(await api.get(f"{RUNS}/{MISSING}", params={"status": "x"}))


async def test_who_may_read_runs(api: Api) -> None:
    await namesakes(api)
    body = await run(api)
    for url in (f"{RUNS}/{body['id']}", f"{RUNS}/{body['id']}/suppressed"):
        for role in ("admin", "credentialing", "manager", "auditor"):
            assert (await api.get(url, role=role)).status_code == 200, (url, role)
        assert_problem(await api.get(url, role="router"), 403)
        assert_problem(await api.client.get(url), 401)


def test_the_reason_filter_knows_every_reason_the_matcher_gives() -> None:
    assert set(get_args(SuppressReason)) == set(VETOES)
