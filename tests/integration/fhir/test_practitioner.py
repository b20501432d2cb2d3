"""GET /fhir/Practitioner and /fhir/Practitioner/{id}: FHIR R4 JSON, validated with ``fhir.resources``.

``fhir.resources`` ships R4B (4.3) models, not R4 (4.0.1); Practitioner, VerificationResult, Bundle and
OperationOutcome did not change between the two, so the R4B models validate R4 output. The R4
value sets the models do not enforce (statuses, code systems) are asserted here by hand.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.verificationresult import VerificationResult

from tests import factories
from tests.conftest import Api

P = "/api/v1/physicians"
FHIR = "/fhir/Practitioner"
NOW = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)
FHIR_JSON = "application/fhir+json"
R4_VERIFICATION_STATUSES = {"attested", "validated", "in-process", "req-revalid", "val-fail", "reval-fail"}


async def created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


async def build(api: Api, *, screen: bool = True) -> dict[str, Any]:
    ada = await created(
        await api.post(
            P,
            json=factories.physician(
                1,
                middle_name="Quinn",
                suffix="Jr",
                former_last_names=["Byron"],
                email="ada@example.org",
                credentialed_on="2024-03-01",
                irr_passed_on="2026-01-10",
            ),
        )
    )
    pid = ada["id"]
    ada["az"] = await created(
        await api.post(
            f"{P}/{pid}/licenses",
            json=factories.license(
                "AZ",
                "MD1",
                issued_on="2015-01-01",
                expires_on="2027-01-31",
                verified_on="2026-05-02",
                verification_source="Arizona Medical Board website",
            ),
        )
    )
    ada["tx"] = await created(
        await api.post(
            f"{P}/{pid}/licenses",
            json=factories.license(
                "TX", "TX2", issued_on="2015-01-01", expires_on="2026-05-31", verified_on="2025-06-01"
            ),
        )
    )
    ada["nv"] = await created(
        await api.post(
            f"{P}/{pid}/licenses",
            json=factories.license(
                "NV", "NV3", issued_on="2015-01-01", expires_on="2027-05-31", verified_on=None, verification_source=None
            ),
        )
    )
    ada["cert"] = await created(
        await api.post(
            f"{P}/{pid}/certifications",
            json=factories.certification(verified_on="2026-04-01", verification_source="ABMS Certification Matters"),
        )
    )
    ada["lapsed"] = await created(
        await api.post(
            f"{P}/{pid}/certifications",
            json=factories.certification(
                specialty="hematology_oncology",
                expires_on="2027-01-01",
                moc_status="not_meeting",
                verified_on="2026-04-01",
            ),
        )
    )
    bo = await created(await api.post(P, json=factories.physician(2, credentialed_on=None, irr_passed_on=None)))
    if not screen:
        return {"ada": ada, "bo": bo}
    # Bo is on the OIG list by NPI: the run leaves a pending hit for him, Ada screens clear.
    files = {"file": ("UPDATED.csv", factories.leie_file(bo["npi"]), "text/csv")}
    await created(await api.post("/api/v1/screening/oig_leie/snapshots", files=files))
    await created(await api.post("/api/v1/screening/runs", json={"sources": ["oig_leie"]}))
    return {"ada": ada, "bo": bo}


def by_type(bundle: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    matches = [e for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
    includes = [e for e in bundle.get("entry", []) if e["search"]["mode"] == "include"]
    return matches, includes


async def fhir_get(api: Api, url: str, role: str = "router", **kwargs: Any) -> dict[str, Any]:
    response = await api.get(url, role=role, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    return response.json()


async def test_read_practitioner_is_valid_r4(api: Api, frozen: Any) -> None:
    ids = await build(api, screen=False)
    ada = ids["ada"]
    resource = await fhir_get(api, f"{FHIR}/{ada['id']}")
    Practitioner.model_validate(resource)

    assert resource["resourceType"] == "Practitioner"
    assert resource["id"] == ada["id"]
    assert resource["identifier"] == [
        {"use": "official", "system": "http://hl7.org/fhir/sid/us-npi", "value": ada["npi"]}
    ]
    assert resource["active"] is True
    assert resource["birthDate"] == "1970-05-17"
    assert resource["name"] == [
        {
            "use": "official",
            "family": "Reviewer0001",
            "given": ["Ada", "Quinn"],
            "suffix": ["Jr"],
            "text": "Ada Quinn Reviewer0001 Jr",
        },
        {"use": "old", "family": "Byron", "given": ["Ada", "Quinn"]},
    ]
    assert resource["telecom"] == [{"system": "email", "value": "ada@example.org", "use": "work"}]
    qualifications = {q["id"]: q for q in resource["qualification"]}
    az = qualifications[ada["az"]["id"]]
    assert az["identifier"] == [{"value": "MD1"}]
    assert az["code"]["coding"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/v2-0360", "code": "MD", "display": "Doctor of Medicine"}
    ]
    assert az["period"] == {"start": "2015-01-01", "end": "2027-01-31"}
    assert az["issuer"]["display"] == "Arizona (AZ) medical licensing board"
    [ext] = az["extension"]
    assert {e["url"]: e for e in ext["extension"]}["whereValid"]["valueCodeableConcept"]["coding"][0]["code"] == "AZ"
    assert {e["url"]: e for e in ext["extension"]}["status"]["valueCode"] == "active"
    tx_status = {e["url"]: e for e in qualifications[ada["tx"]["id"]]["extension"][0]["extension"]}["status"]
    assert tx_status["valueCode"] == "inactive", "expired yesterday"
    cert = qualifications[ada["cert"]["id"]]
    assert cert["code"]["coding"] == [
        {"system": "http://nucc.org/provider-taxonomy", "code": "207RX0202X", "display": "Medical Oncology"}
    ]
    assert cert["period"] == {"start": "2008-09-01"}
    assert cert["issuer"] == {"display": "ABIM"}
    lapsed = {e["url"]: e for e in qualifications[ada["lapsed"]["id"]]["extension"][0]["extension"]}["status"]
    assert lapsed["valueCode"] == "inactive", "MOC not met"
    assert len(resource["qualification"]) == 5
    assert [c["coding"][0]["code"] for c in resource["communication"]] == ["en", "es"]


async def test_search_bundle_includes_verification_results(api: Api, frozen: Any) -> None:
    ids = await build(api)
    ada, bo = ids["ada"], ids["bo"]
    bundle = await fhir_get(api, FHIR, role="auditor", params={"_count": 10})
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 2
    assert [link["relation"] for link in bundle["link"]] == ["self"]
    matches, includes = by_type(bundle)
    assert sorted(e["resource"]["id"] for e in matches) == sorted([ada["id"], bo["id"]])
    for entry in matches:
        assert entry["fullUrl"] == f"http://testserver.local/fhir/Practitioner/{entry['resource']['id']}"
    results = [e["resource"] for e in includes]
    for entry, result in zip(includes, results, strict=True):
        VerificationResult.model_validate(result)
        assert entry["fullUrl"] == f"urn:uuid:{result['id']}"
        assert result["status"] in R4_VERIFICATION_STATUSES
    about = {}
    for result in results:
        about.setdefault(result["target"][0]["reference"], []).append(result)
    ada_results = {
        (r.get("targetLocation") or ["screening:" + r["primarySource"][0]["who"]["display"]])[0]: r
        for r in about[f"Practitioner/{ada['id']}"]
    }

    def located(item: dict[str, Any]) -> dict[str, Any]:
        return ada_results[f"Practitioner.qualification.where(id = '{item['id']}')"]

    az = located(ada["az"])
    assert az["status"] == "validated"
    assert az["lastPerformed"] == "2026-05-02"
    assert az["nextScheduled"] == "2027-01-31"
    source = az["primarySource"][0]
    assert source["who"] == {"display": "Arizona Medical Board website"}
    assert source["type"][0]["coding"][0]["code"] == "lic-board"
    assert source["validationStatus"]["coding"][0]["code"] == "successful"
    assert source["validationDate"] == "2026-05-02"
    assert located(ada["tx"])["status"] == "req-revalid"
    nv = located(ada["nv"])
    assert nv["status"] == "attested"
    assert "validationStatus" not in nv["primarySource"][0]
    cert = located(ada["cert"])
    assert cert["status"] == "validated"
    assert cert["nextScheduled"] == "2027-03-01", "no end date: next check at recredentialing (2024-03-01 + 36 months)"
    assert cert["primarySource"][0]["who"] == {"display": "ABMS Certification Matters"}
    lapsed = located(ada["lapsed"])
    assert lapsed["status"] == "val-fail"
    assert lapsed["primarySource"][0]["validationStatus"]["coding"][0]["code"] == "failed"

    [ada_leie] = [r for r in about[f"Practitioner/{ada['id']}"] if "targetLocation" not in r]
    assert ada_leie["status"] == "validated"
    assert ada_leie["primarySource"][0]["who"]["display"].startswith("HHS OIG")
    assert ada_leie["primarySource"][0]["type"][0]["coding"][0]["code"] == "reg-auth"
    assert ada_leie["primarySource"][0]["validationDate"] == "2026-06-01"
    assert ada_leie["nextScheduled"] == "2026-07-06", "the list loaded today is fresh for 35 days"
    assert ada_leie["lastPerformed"].startswith("2026-06-01T15:30:00")
    [bo_leie] = about[f"Practitioner/{bo['id']}"]
    assert bo_leie["status"] == "in-process", "an undecided hit"
    assert len(results) == 7, "five qualifications and a clear LEIE screening for Ada, a pending one for Bo"


async def test_npi_verification_is_exported(api: Api, frozen: Any) -> None:
    from roster.nppes.tables import NpiVerification

    ada = await created(
        await api.post(P, json=factories.physician(1, credentialed_on="2025-01-01", irr_passed_on="2026-01-01"))
    )
    base = {"physician": uuid.UUID(ada["id"]), "method": "file", "details": "{}"}
    await NpiVerification.insert(
        NpiVerification(
            id=uuid.uuid4(),
            npi=ada["npi"],
            outcome="verified",
            npi_status="active",
            checked_at=datetime(2026, 5, 1, tzinfo=UTC),
            **base,
        ),
        NpiVerification(
            id=uuid.uuid4(),
            npi=ada["npi"],
            outcome="error",
            npi_status=None,
            checked_at=datetime(2026, 5, 20, tzinfo=UTC),
            **base,
        ),
        NpiVerification(
            id=uuid.uuid4(),
            npi="1999999999",
            outcome="deactivated",
            npi_status="deactivated",
            checked_at=datetime(2026, 5, 25, tzinfo=UTC),
            **base,
        ),
    ).run()
    bundle = await fhir_get(api, FHIR, params={"_id": ada["id"]})
    _, includes = by_type(bundle)
    [npi] = [e["resource"] for e in includes]
    VerificationResult.model_validate(npi)
    assert npi["status"] == "validated", "the error check and the answer about an old NPI are ignored"
    assert npi["lastPerformed"].startswith("2026-05-01T00:00:00")
    assert npi["targetLocation"] == ["Practitioner.identifier.where(system = 'http://hl7.org/fhir/sid/us-npi')"]


async def test_paging_follows_next_links(api: Api) -> None:
    made = [await created(await api.post(P, json=factories.physician(n))) for n in range(1, 6)]
    seen: list[str] = []
    url: str | None = FHIR
    params: dict[str, Any] | None = {"_count": 2}
    pages = 0
    while url is not None:
        bundle = await fhir_get(api, url, params=params)
        Bundle.model_validate(bundle)
        assert bundle["total"] == 5
        seen += [e["resource"]["id"] for e in by_type(bundle)[0]]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        pages += 1
        if "next" in links:
            parts = urlsplit(links["next"])
            assert parts.path == FHIR
            assert parse_qs(parts.query)["_count"] == ["2"]
            url, params = parts.path + "?" + parts.query, None
        else:
            url = None
    assert pages == 3
    assert seen == sorted(p["id"] for p in made)


async def test_id_search_narrows_and_ignores_unknown_ids(api: Api) -> None:
    ada = await created(await api.post(P, json=factories.physician(1)))
    await created(await api.post(P, json=factories.physician(2)))
    bundle = await fhir_get(api, FHIR, params={"_id": f"{ada['id']},not-ours,{uuid.uuid4()}"})
    assert [e["resource"]["id"] for e in by_type(bundle)[0]] == [ada["id"]]
    assert bundle["total"] == 1
    empty = await fhir_get(api, FHIR, params={"_id": "nobody"})
    Bundle.model_validate(empty)
    assert empty["total"] == 0 and "entry" not in empty


async def test_inactive_physician_is_an_inactive_practitioner(api: Api) -> None:
    ada = await created(await api.post(P, json=factories.physician(1)))
    assert (await api.delete(f"{P}/{ada['id']}")).status_code == 200
    assert (await fhir_get(api, f"{FHIR}/{ada['id']}"))["active"] is False


def assert_outcome(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    OperationOutcome.model_validate(body)
    assert body["issue"][0]["code"] == code
    return body


@pytest.mark.parametrize("practitioner_id", [str(uuid.UUID(int=7)), "not-a-uuid", "1234567893"])
async def test_unknown_practitioner_is_404_operation_outcome(api: Api, practitioner_id: str) -> None:
    assert_outcome(await api.get(f"{FHIR}/{practitioner_id}"), 404, "not-found")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"_count": 0}, "_count"),
        ({"_count": 501}, "_count"),
        ({"_count": "many"}, "_count"),
        ({"_cursor": "garbage!"}, "_cursor"),
        ({"_format": "xml"}, "_format"),
        ({"family": "Reviewer0001"}, "family"),
    ],
)
async def test_bad_search_parameters_are_400_naming_them(api: Api, params: dict[str, Any], field: str) -> None:
    body = assert_outcome(await api.get(FHIR, params=params), 400, "invalid")
    assert [issue.get("expression") for issue in body["issue"]] == [[field]]


async def test_fhir_needs_an_api_key(api: Api) -> None:
    for url in (FHIR, f"{FHIR}/{uuid.UUID(int=7)}"):
        response = await api.client.get(url)
        assert_outcome(response, 401, "login")
        assert response.headers["www-authenticate"].lower().startswith("bearer")
        assert_outcome(await api.client.get(url, headers={"Authorization": "Bearer rst_never-issued"}), 401, "login")


@pytest.mark.parametrize("role", ["admin", "credentialing", "router", "manager", "auditor"])
async def test_every_role_may_read_fhir(api: Api, role: str) -> None:
    ada = await created(await api.post(P, json=factories.physician(1)))
    assert (await api.get(FHIR, role=role)).status_code == 200
    assert (await api.get(f"{FHIR}/{ada['id']}", role=role)).status_code == 200


async def test_a_server_fault_is_a_500_operation_outcome_without_internals(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from roster.fhir import repository

    async def broken(**_: Any) -> list[dict[str, Any]]:
        raise RuntimeError("connection to 10.0.0.7 lost")

    monkeypatch.setattr(repository, "physicians_page", broken)
    response = await api.get(FHIR)
    body = assert_outcome(response, 500, "exception")
    assert "10.0.0.7" not in response.text
    assert body["issue"][0]["severity"] == "fatal"


async def test_metadata_is_a_public_capability_statement(api: Api) -> None:
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    response = await api.client.get("/fhir/metadata")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    statement = response.json()
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    [practitioner] = statement["rest"][0]["resource"]
    assert practitioner["type"] == "Practitioner"
    assert {i["code"] for i in practitioner["interaction"]} == {"read", "search-type"}


async def test_other_resource_types_are_404_operation_outcomes(api: Api) -> None:
    assert_outcome(await api.get("/fhir/Patient"), 404, "not-found")
    assert_outcome(await api.delete("/fhir/VerificationResult/1"), 404, "not-found")
    assert_outcome(await api.client.get("/fhir/Patient"), 401, "login")


async def test_identifier_search_finds_by_npi(api: Api) -> None:
    ada = await created(await api.post(P, json=factories.physician(1)))
    bo = await created(await api.post(P, json=factories.physician(2)))
    await created(await api.post(P, json=factories.physician(3)))

    async def found(**params: Any) -> list[str]:
        bundle = await fhir_get(api, FHIR, params=params)
        Bundle.model_validate(bundle)
        assert bundle["total"] == len(by_type(bundle)[0])
        return sorted(e["resource"]["id"] for e in by_type(bundle)[0])

    npi_system = "http://hl7.org/fhir/sid/us-npi"
    assert await found(identifier=f"{npi_system}|{ada['npi']}") == [ada["id"]]
    assert await found(identifier=f"{ada['npi']},{npi_system}|{bo['npi']}") == sorted([ada["id"], bo["id"]])
    assert await found(identifier=f"urn:oid:2.16.840.1.113883.4.6|{ada['npi']}") == [], "another system"
    assert await found(identifier=f"|{ada['npi']}") == [], "explicitly no system: ours always has one"
    assert await found(identifier=ada["npi"], _id=bo["id"]) == [], "both parameters apply"
    assert await found(identifier=ada["npi"], _revinclude="VerificationResult:target") == [ada["id"]]
