"""Who may call what: every /api/v1 endpoint x every role, plus the 401 rules (api.md, Conventions).

The matrix is checked against the app's OpenAPI schema, so an endpoint added without a row here
fails ``test_matrix_covers_every_endpoint``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from roster.app import API_PREFIX, create_app
from roster.config import Settings
from roster.keys.schemas import Role
from tests import factories
from tests.conftest import Api
from tests.integration.imports import roster_files

ROLES = [role.value for role in Role]
EVERYONE = frozenset(ROLES)
WRITE_ROSTER = frozenset({"admin", "credentialing"})
READ_AUDIT = frozenset({"admin", "manager", "auditor"})
ADMIN_ONLY = frozenset({"admin"})
RUN_JOBS = frozenset({"admin", "manager"})
READ_SCREENING = frozenset({"admin", "credentialing", "manager", "auditor"})
ROUTE_CASES = frozenset({"admin", "router"})
READ_COVERAGE = frozenset({"admin", "manager", "auditor"})
MATCH_CASE = {
    "state": "AZ",
    "line_of_business": "commercial",
    "specialty": "medical_oncology",
    "review_type": "initial",
}


HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

Ids = dict[str, str]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # exactly as in the OpenAPI schema, with {placeholders}
    allowed: frozenset[str]
    #: Status an allowed role gets for the request below (against the entities of ``roster``).
    success: int
    body: Callable[[Ids], Any] | None = field(default=None)
    writes: bool = False
    #: Multipart files instead of a JSON body.
    files: Callable[[Ids], Any] | None = field(default=None)
    params: dict[str, str] | None = None

    def url(self, ids: Ids) -> str:
        return self.path.format(**ids)

    def kwargs(self, ids: Ids) -> dict[str, Any]:
        query = {} if self.params is None else {"params": self.params}
        if self.files is not None:
            return {"files": self.files(ids), **query}
        return query if self.body is None else {"json": self.body(ids), **query}

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


P = f"{API_PREFIX}/physicians"
R = f"{API_PREFIX}/rotations"
#: A physician's credentialing file is read by the roles that oversee the roster, not by case routers (api.md).
CREDENTIALING_FILE = (
    "/verifications",
    "/credentialing-decisions",
    "/irr-sessions",
    "/attestations",
    "/cme",
    "/cme/standing",
)
#: Schedule records that do not exist: an allowed role gets past the role check to a 404.
SCHEDULE_IDS = {
    "hours_id": "00000000-0000-4000-8000-000000000010",
    "time_off_id": "00000000-0000-4000-8000-000000000011",
    "rotation_id": "00000000-0000-4000-8000-000000000012",
    "override_id": "00000000-0000-4000-8000-000000000013",
    "evidence_id": "00000000-0000-4000-8000-000000000014",
    "policy_update_id": "00000000-0000-4000-8000-000000000015",
}
SPAN = {"starts_at": "2027-01-04T14:00:00Z", "ends_at": "2027-01-04T18:00:00Z"}
MATRIX: list[Endpoint] = [
    # Physicians: every role reads, credentialing writes.
    Endpoint("GET", P, EVERYONE, 200),
    Endpoint("POST", P, WRITE_ROSTER, 201, lambda ids: factories.physician(90), writes=True),
    Endpoint("GET", P + "/{physician_id}", EVERYONE, 200),
    Endpoint("PATCH", P + "/{physician_id}", WRITE_ROSTER, 200, lambda ids: {"max_open_cases": 9}, writes=True),
    Endpoint("DELETE", P + "/{physician_id}", WRITE_ROSTER, 200, writes=True),
    Endpoint("GET", P + "/npi/{npi}", EVERYONE, 200),
    Endpoint("GET", P + "/{physician_id}/compliance", EVERYONE, 200),
    Endpoint(
        "POST",
        P + "/{physician_id}/licenses",
        WRITE_ROSTER,
        201,
        lambda ids: factories.license("TX", "TX777"),
        writes=True,
    ),
    Endpoint(
        "POST",
        P + "/{physician_id}/certifications",
        WRITE_ROSTER,
        201,
        lambda ids: factories.certification(specialty="hematology_oncology"),
        writes=True,
    ),
    # Licenses.
    Endpoint("GET", f"{API_PREFIX}/licenses", EVERYONE, 200),
    Endpoint("GET", f"{API_PREFIX}/licenses/{{license_id}}", EVERYONE, 200),
    Endpoint(
        "PATCH",
        f"{API_PREFIX}/licenses/{{license_id}}",
        WRITE_ROSTER,
        200,
        lambda ids: {"verification_source": "matrix"},
        writes=True,
    ),
    Endpoint("DELETE", f"{API_PREFIX}/licenses/{{license_id}}", WRITE_ROSTER, 204, writes=True),
    # Certifications.
    Endpoint("GET", f"{API_PREFIX}/certifications", EVERYONE, 200),
    Endpoint("GET", f"{API_PREFIX}/certifications/{{certification_id}}", EVERYONE, 200),
    Endpoint(
        "PATCH",
        f"{API_PREFIX}/certifications/{{certification_id}}",
        WRITE_ROSTER,
        200,
        lambda ids: {"verification_source": "matrix"},
        writes=True,
    ),
    Endpoint("DELETE", f"{API_PREFIX}/certifications/{{certification_id}}", WRITE_ROSTER, 204, writes=True),
    # Audit log and keys.
    Endpoint("GET", f"{API_PREFIX}/audit", READ_AUDIT, 200),
    Endpoint(
        "POST",
        f"{API_PREFIX}/keys",
        ADMIN_ONLY,
        201,
        lambda ids: {"name": "matrix", "role": "router"},
        writes=True,
    ),
    Endpoint("GET", f"{API_PREFIX}/keys", ADMIN_ONLY, 200),
    Endpoint("DELETE", f"{API_PREFIX}/keys/{{key_id}}", ADMIN_ONLY, 204, writes=True),
    # Screening: credentialing loads lists, runs and decides; managers and auditors read hits.
    Endpoint(
        "POST",
        f"{API_PREFIX}/screening/{{source}}/snapshots",
        WRITE_ROSTER,
        201,
        writes=True,
        files=lambda ids: {"file": ("UPDATED.csv", factories.leie_file("1234567893", "OTHER"), "text/csv")},
    ),
    Endpoint("POST", f"{API_PREFIX}/screening/runs", WRITE_ROSTER, 201, lambda ids: {}, writes=True),
    Endpoint("GET", f"{API_PREFIX}/screening/runs/{{run_id}}", READ_SCREENING, 200),
    Endpoint("GET", f"{API_PREFIX}/screening/runs/{{run_id}}/suppressed", READ_SCREENING, 200),
    Endpoint("GET", f"{API_PREFIX}/screening/hits", READ_SCREENING, 200),
    Endpoint("GET", f"{API_PREFIX}/screening/hits/{{hit_id}}", READ_SCREENING, 200),
    Endpoint(
        "POST",
        f"{API_PREFIX}/screening/hits/{{hit_id}}/decision",
        WRITE_ROSTER,
        200,
        lambda ids: {"decision": "dismissed", "note": "matrix"},
        writes=True,
    ),
    # Alerts: managers watch and acknowledge, credentialing fixes the lapses behind them, auditors look.
    Endpoint("GET", f"{API_PREFIX}/alerts", frozenset({"admin", "manager", "credentialing", "auditor"}), 200),
    Endpoint(
        "POST",
        f"{API_PREFIX}/alerts/{{alert_id}}/acknowledge",
        frozenset({"admin", "manager", "credentialing"}),
        200,
        writes=True,
    ),
    # Jobs: managers and auditors watch the scheduled jobs; managers may run one now.
    Endpoint("GET", f"{API_PREFIX}/jobs", READ_AUDIT, 200),
    Endpoint("POST", f"{API_PREFIX}/jobs/{{name}}/run", RUN_JOBS, 201, writes=True, params={"wait": "true"}),
    # Reports: credentialing acts on expirations, managers and auditors watch them; routers do not.
    Endpoint("GET", f"{API_PREFIX}/reports/expirations", READ_SCREENING, 200),
    # Matching: case routers match and assign. The matrix physician has an open OIG hit, so an allowed
    # assignment is refused on eligibility (409), and closing an unknown assignment is 404.
    Endpoint("POST", f"{API_PREFIX}/match", ROUTE_CASES, 200, lambda ids: MATCH_CASE),
    Endpoint(
        "POST",
        f"{API_PREFIX}/assignments",
        ROUTE_CASES,
        409,
        lambda ids: {**MATCH_CASE, "case_id": "M-1", "physician_id": ids["physician_id"]},
    ),
    Endpoint(
        "PATCH", f"{API_PREFIX}/assignments/{{assignment_id}}", ROUTE_CASES, 404, lambda ids: {"status": "completed"}
    ),
    # Coverage: managers plan with it, auditors read it. Without the required line_of_business an
    # allowed role gets past the guard to a 422; everyone else is refused first.
    Endpoint("GET", f"{API_PREFIX}/reports/coverage", READ_COVERAGE, 200, params={"line_of_business": "commercial"}),
    # Bulk import writes the roster (here: one license for the matrix physician, one audit event);
    # the export (dates of birth, contacts) is for the roles that manage or oversee the roster.
    Endpoint(
        "POST",
        f"{API_PREFIX}/imports/roster",
        WRITE_ROSTER,
        200,
        writes=True,
        files=lambda ids: {"file": ("roster.csv", roster_files.csv_bytes([roster_files.license(1, "NM")]), "text/csv")},
    ),
    Endpoint("GET", f"{API_PREFIX}/exports/roster", READ_SCREENING, 200),
    # Ongoing-monitoring proof: the reports' readers.
    Endpoint("GET", f"{API_PREFIX}/reports/monitoring", READ_SCREENING, 200),
    Endpoint("GET", f"{API_PREFIX}/reports/oncall-gaps", READ_SCREENING, 200),
    Endpoint("GET", f"{API_PREFIX}/reports/turnaround", READ_SCREENING, 200),
    # The UM decision audit: the reports' readers.
    Endpoint("GET", f"{API_PREFIX}/reports/um-decisions", READ_SCREENING, 200),
    # The audit pack: the audit log's readers; every pull is itself recorded (one audit event).
    Endpoint(
        "GET",
        f"{API_PREFIX}/audits/files",
        READ_AUDIT,
        200,
        writes=True,
        params={"period_start": "2026-01-01", "period_end": "2026-12-31"},
    ),
    # Schedules: credentialing and admin write, every role reads.
    Endpoint(
        "POST",
        P + "/{physician_id}/working-hours",
        WRITE_ROSTER,
        201,
        lambda ids: {"weekdays": ["mon"], "start": "09:00", "end": "17:00"},
        writes=True,
    ),
    Endpoint("GET", P + "/{physician_id}/working-hours", EVERYONE, 200),
    Endpoint("DELETE", f"{API_PREFIX}/working-hours/{{hours_id}}", WRITE_ROSTER, 404),
    Endpoint("POST", P + "/{physician_id}/time-off", WRITE_ROSTER, 201, lambda ids: SPAN, writes=True),
    Endpoint("GET", P + "/{physician_id}/time-off", EVERYONE, 200),
    Endpoint("DELETE", f"{API_PREFIX}/time-off/{{time_off_id}}", WRITE_ROSTER, 404),
    Endpoint("GET", P + "/{physician_id}/calendar.ics", EVERYONE, 200),
    Endpoint(
        "POST",
        f"{API_PREFIX}/holidays",
        WRITE_ROSTER,
        201,
        lambda ids: {"date": "2031-08-04", "name": "Matrix Day"},
        writes=True,
    ),
    Endpoint("GET", f"{API_PREFIX}/holidays", EVERYONE, 200),
    Endpoint(
        "POST",
        R,
        WRITE_ROSTER,
        201,
        lambda ids: {
            "name": "Matrix",
            "time_zone": "America/Phoenix",
            "layers": [
                {
                    "name": "primary",
                    "members": [ids["physician_id"]],
                    "handoff_time": "08:00",
                    "shift_hours": 24,
                    "starts_on": "2027-01-01",
                }
            ],
        },
        writes=True,
    ),
    Endpoint("GET", R, EVERYONE, 200),
    Endpoint("GET", R + "/{rotation_id}", EVERYONE, 404),
    Endpoint("PATCH", R + "/{rotation_id}", WRITE_ROSTER, 404, lambda ids: {"name": "Renamed"}),
    Endpoint("DELETE", R + "/{rotation_id}", WRITE_ROSTER, 404),
    Endpoint(
        "POST",
        R + "/{rotation_id}/overrides",
        WRITE_ROSTER,
        404,
        lambda ids: {"physician_id": ids["physician_id"], **SPAN},
    ),
    Endpoint("GET", R + "/{rotation_id}/overrides", EVERYONE, 404),
    Endpoint("GET", R + "/{rotation_id}/calendar.ics", EVERYONE, 404),
    Endpoint("DELETE", f"{API_PREFIX}/overrides/{{override_id}}", WRITE_ROSTER, 404),
    Endpoint("GET", f"{API_PREFIX}/oncall", EVERYONE, 404, params={"rotation": SCHEDULE_IDS["rotation_id"]}),
    Endpoint("GET", f"{API_PREFIX}/turnaround-clocks", EVERYONE, 200),
    # The credentialing file: credentialing (and admin) write, the roles that oversee the roster read.
    Endpoint(
        "POST",
        f"{API_PREFIX}/evidence",
        WRITE_ROSTER,
        201,
        writes=True,
        files=lambda ids: {
            "file": ("scan.pdf", b"%PDF-1.7\nmatrix " + ids["physician_id"].encode() + b"\n", "application/pdf")
        },
    ),
    Endpoint("GET", f"{API_PREFIX}/evidence/{{evidence_id}}", READ_SCREENING, 404),
    Endpoint(
        "POST",
        P + "/{physician_id}/verifications",
        WRITE_ROSTER,
        201,
        lambda ids: {
            "element": "license",
            "source": "AZ board",
            "method": "primary_source",
            "verified_on": "2026-01-05",
            "outcome": "verified",
        },
        writes=True,
    ),
    Endpoint("GET", P + "/{physician_id}/verifications", READ_SCREENING, 200),
    Endpoint(
        "POST",
        P + "/{physician_id}/credentialing-decisions",
        WRITE_ROSTER,
        201,
        lambda ids: {"kind": "initial", "decided_on": "2026-01-06", "decision": "deferred"},
        writes=True,
    ),
    Endpoint("GET", P + "/{physician_id}/credentialing-decisions", READ_SCREENING, 200),
    Endpoint(
        "POST",
        P + "/{physician_id}/irr-sessions",
        WRITE_ROSTER,
        201,
        lambda ids: {"taken_on": "2026-01-05", "case_set": "InterQual Acute Adult", "score": 80, "pass_mark": 90},
        writes=True,
    ),
    Endpoint("GET", P + "/{physician_id}/irr-sessions", READ_SCREENING, 200),
    # Policy updates: managers (and admin) publish, credentialing and managers record attestations.
    Endpoint(
        "POST",
        f"{API_PREFIX}/policy-updates",
        frozenset({"admin", "manager"}),
        201,
        lambda ids: {"title": "Oncology policy, 2027 Q1", "effective_on": "2026-01-05", "attest_by": "2026-02-05"},
        writes=True,
    ),
    Endpoint("GET", f"{API_PREFIX}/policy-updates", READ_SCREENING, 200),
    Endpoint("GET", f"{API_PREFIX}/policy-updates/{{policy_update_id}}", READ_SCREENING, 404),
    Endpoint(
        "POST",
        f"{API_PREFIX}/policy-updates/{{policy_update_id}}/attestations",
        frozenset({"admin", "credentialing", "manager"}),
        404,
        lambda ids: {"physician_id": ids["physician_id"], "attested_on": "2026-01-06"},
    ),
    Endpoint("GET", f"{API_PREFIX}/policy-updates/{{policy_update_id}}/attestations", READ_SCREENING, 404),
    Endpoint("GET", P + "/{physician_id}/attestations", READ_SCREENING, 200),
    # CME: credentialing (and admin) record credits, the roles that oversee the roster read them.
    Endpoint(
        "POST",
        P + "/{physician_id}/cme",
        WRITE_ROSTER,
        201,
        lambda ids: {"completed_on": "2026-01-05", "activity": "ASCO 2026", "hours": 12.5, "category": "ama_pra_1"},
        writes=True,
    ),
    Endpoint("GET", P + "/{physician_id}/cme", READ_SCREENING, 200),
    Endpoint("GET", P + "/{physician_id}/cme/standing", READ_SCREENING, 200),
]

CASES = [
    pytest.param(endpoint, role, id=f"{endpoint.method} {endpoint.path} as {role}")
    for endpoint in MATRIX
    for role in ROLES
]


def schema_operations() -> set[tuple[str, str]]:
    schema = create_app(Settings()).openapi_schema  # building the schema touches no database
    assert schema.paths is not None
    return {
        (method.upper(), path)
        for path, item in schema.paths.items()
        if path == API_PREFIX or path.startswith(API_PREFIX + "/")
        for method in HTTP_METHODS
        if getattr(item, method, None) is not None
    }


def test_matrix_covers_every_endpoint() -> None:
    in_schema = schema_operations()
    in_matrix = {(e.method, e.path) for e in MATRIX}
    assert len(in_matrix) == len(MATRIX), "one row per endpoint"
    assert in_schema - in_matrix == set(), "endpoints without a row in the auth matrix"
    assert in_matrix - in_schema == set(), "matrix rows for endpoints the app does not have"


def test_matrix_rows_are_sane() -> None:
    for endpoint in MATRIX:
        assert "admin" in endpoint.allowed, f"{endpoint}: admin may do everything"
        assert endpoint.allowed <= EVERYONE
        if endpoint.method == "GET" and endpoint.path.startswith(P) and not endpoint.path.endswith(CREDENTIALING_FILE):
            assert endpoint.allowed == EVERYONE, f"{endpoint}: every role may read physicians"


@pytest.fixture
async def roster(api: Api) -> Ids:
    """One physician with a license and a certification, created by the admin key."""
    body = factories.physician(1)
    physician = await api.post(P, json=body)
    assert physician.status_code == 201, physician.text
    physician_id = physician.json()["id"]
    lic = await api.post(f"{P}/{physician_id}/licenses", json=factories.license())
    assert lic.status_code == 201, lic.text
    cert = await api.post(f"{P}/{physician_id}/certifications", json=factories.certification())
    assert cert.status_code == 201, cert.text
    files = {"file": ("UPDATED.csv", factories.leie_file(body["npi"]), "text/csv")}
    assert (await api.post(f"{API_PREFIX}/screening/oig_leie/snapshots", files=files)).status_code == 201
    run = await api.post(f"{API_PREFIX}/screening/runs", json={})
    assert run.status_code == 201, run.text
    [hit] = (await api.get(f"{API_PREFIX}/screening/hits")).json()["items"]
    alert = (await api.get(f"{API_PREFIX}/alerts", params={"kind": "exclusion_hit"})).json()["items"][0]
    key = await api.post(f"{API_PREFIX}/keys", json={"name": "matrix-client", "role": "router"})
    assert key.status_code == 201, key.text
    return {
        "source": "oig_leie",
        "run_id": run.json()["id"],
        "hit_id": hit["id"],
        "alert_id": alert["id"],
        "physician_id": physician_id,
        "npi": body["npi"],
        "license_id": lic.json()["id"],
        "certification_id": cert.json()["id"],
        "name": "expiration_sweep",
        "assignment_id": str(uuid.uuid4()),
        "key_id": key.json()["id"],
        **SCHEDULE_IDS,
    }


async def audit_count(api: Api) -> int:
    response = await api.get(f"{API_PREFIX}/audit", params={"limit": 500})
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    return problem


@pytest.mark.parametrize(("endpoint", "role"), CASES)
async def test_role_matrix(api: Api, roster: Ids, endpoint: Endpoint, role: str) -> None:
    before = await audit_count(api)
    response = await api.request(endpoint.method, endpoint.url(roster), role=role, **endpoint.kwargs(roster))
    if role in endpoint.allowed:
        assert response.status_code == endpoint.success, f"{endpoint} as {role}: {response.text}"
        if endpoint.writes:
            assert await audit_count(api) == before + 1, "an allowed write is audited once"
    else:
        problem = assert_problem(response, 403)
        assert problem["title"] == "Forbidden"
        assert role in problem["detail"]
        assert await audit_count(api) == before, "a refused write leaves no trace"


@pytest.mark.parametrize("role", ROLES)
async def test_forbidden_comes_before_input_validation(api: Api, role: str) -> None:
    """A role that may not write gets 403 even for a body that would be 422: no probing the schema."""
    response = await api.post(P, role=role, json={"npi": "nonsense"})
    if role in WRITE_ROSTER:
        assert_problem(response, 422)
    else:
        assert_problem(response, 403)


# --- 401: missing, unknown, malformed, revoked keys ----------------------------------------------


def assert_unauthorized(response: Any) -> None:
    problem = assert_problem(response, 401)
    assert problem["title"] == "Unauthorized"
    assert response.headers["www-authenticate"].lower().startswith("bearer")


@pytest.mark.parametrize("endpoint", MATRIX, ids=str)
async def test_every_endpoint_without_a_key_is_401(api: Api, endpoint: Endpoint) -> None:
    ids = {
        "physician_id": "00000000-0000-4000-8000-000000000000",
        "license_id": "00000000-0000-4000-8000-000000000001",
        "certification_id": "00000000-0000-4000-8000-000000000002",
        "run_id": "00000000-0000-4000-8000-000000000007",
        "hit_id": "00000000-0000-4000-8000-000000000003",
        "alert_id": "00000000-0000-4000-8000-000000000004",
        "assignment_id": "00000000-0000-4000-8000-000000000005",
        "key_id": "00000000-0000-4000-8000-000000000006",
        "source": "oig_leie",
        "npi": factories.npi(1),
        "name": "expiration_sweep",
        **SCHEDULE_IDS,
    }
    response = await api.client.request(endpoint.method, endpoint.url(ids), **endpoint.kwargs(ids))
    assert_unauthorized(response)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer rst_this-key-was-never-issued", id="unknown key"),
        pytest.param("Bearer ", id="empty bearer"),
        pytest.param("Bearer", id="bare scheme"),
        pytest.param("", id="empty header"),
        pytest.param("Basic YWRtaW46YWRtaW4=", id="basic scheme"),
        pytest.param("Token {admin}", id="wrong scheme with a real key"),
        pytest.param("{admin}", id="real key without scheme"),
    ],
)
async def test_bad_credentials_are_401(api: Api, authorization: str) -> None:
    header = authorization.format(admin=api.keys["admin"])
    response = await api.client.get(P, headers={"Authorization": header})
    assert_unauthorized(response)


async def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    response = await api.client.get(P, headers={"Authorization": f"bearer {api.keys['auditor']}"})
    assert response.status_code == 200, response.text


async def test_unauthorized_writes_nothing(api: Api) -> None:
    response = await api.client.post(P, json=factories.physician(2))
    assert_unauthorized(response)
    assert (await api.get(P)).json()["items"] == []


async def test_revoked_key_is_401(api: Api) -> None:
    from roster.keys.tables import ApiKey

    created = await api.post(f"{API_PREFIX}/keys", json={"name": "soon-revoked", "role": "manager"})
    assert created.status_code == 201, created.text
    key = created.json()
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert (await api.client.get(P, headers=headers)).status_code == 200

    await ApiKey.update({ApiKey.revoked_at: datetime.now(UTC)}).where(ApiKey.id == uuid.UUID(key["id"])).run()

    assert_unauthorized(await api.client.get(P, headers=headers))
    assert (await api.get(P, role="manager")).status_code == 200, "other keys of the same role still work"


async def test_health_needs_no_key(api: Api) -> None:
    assert (await api.client.get("/health")).status_code == 200
    garbage = await api.client.get("/health", headers={"Authorization": "Bearer rst_unknown"})
    assert garbage.status_code == 200


# --- POST /api/v1/keys ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_created_key_works_with_its_role(api: Api, role: str) -> None:
    response = await api.post(f"{API_PREFIX}/keys", json={"name": f"new {role}", "role": role})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == f"new {role}" and created["role"] == role
    plaintext = created["key"]
    assert plaintext.startswith("rst_") and len(plaintext) > 20
    assert plaintext not in api.keys.values()

    headers = {"Authorization": f"Bearer {plaintext}"}
    assert (await api.client.get(P, headers=headers)).status_code == 200, "every role reads physicians"
    audit = await api.client.get(f"{API_PREFIX}/audit", headers=headers)
    assert audit.status_code == (200 if role in READ_AUDIT else 403)
    write = await api.client.post(P, headers=headers, json=factories.physician(3))
    assert write.status_code == (201 if role in WRITE_ROSTER else 403), write.text
    if write.status_code == 201:
        events = (await api.get(f"{API_PREFIX}/audit", params={"entity": "physician"})).json()["items"]
        assert [e["actor"] for e in events] == [f"new {role}"], "the key's name is the audited actor"


async def test_key_plaintext_is_shown_once(api: Api) -> None:
    from roster.keys.tables import ApiKey

    created = (await api.post(f"{API_PREFIX}/keys", json={"name": "once", "role": "router"})).json()
    plaintext = created["key"]
    stored = await ApiKey.select().where(ApiKey.id == uuid.UUID(created["id"])).first().run()
    assert stored is not None
    assert plaintext not in {str(v) for v in stored.values()}, "only the hash is stored"
    audit = (await api.get(f"{API_PREFIX}/audit", params={"entity": "api_key"})).text
    assert plaintext not in audit, "the audit log never holds the plaintext"
    second = (await api.post(f"{API_PREFIX}/keys", json={"name": "once", "role": "router"})).json()
    assert second["key"] != plaintext and second["id"] != created["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "role": "superuser"}, "role"),
        ({"name": "x", "role": "ADMIN"}, "role"),
        ({"name": "x", "role": None}, "role"),
        ({"name": "x"}, "role"),
        ({"name": "", "role": "router"}, "name"),
        ({"name": "   ", "role": "router"}, "name"),
        ({"name": "n" * 101, "role": "router"}, "name"),
        ({"name": "x", "role": "router", "scopes": ["all"]}, "scopes"),
    ],
)
async def test_bad_key_request_is_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    before = await audit_count(api)
    problem = assert_problem(await api.post(f"{API_PREFIX}/keys", json=body), 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert await audit_count(api) == before, "nothing is written"


async def test_a_route_that_names_no_roles_admits_nobody(api: Api) -> None:
    """Roles come from each route's ``opt`` (``roster.api.auth.allow``); a route that forgot them is
    closed to every key, admin included, rather than open to all."""
    from litestar import Router, get
    from litestar.middleware import DefineMiddleware

    from roster.api.auth import ApiKeyMiddleware, allow
    from roster.keys.schemas import Role

    @get("/closed", sync_to_thread=False)
    def closed() -> str:
        return "in"

    @get("/managers", opt=allow(Role.manager), sync_to_thread=False)
    def managers() -> str:
        return "in"

    transport = api.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    transport.app.register(
        Router(path="/probe", route_handlers=[closed, managers], middleware=[DefineMiddleware(ApiKeyMiddleware)])
    )
    for role in ROLES:
        response = await api.get("/probe/closed", role)
        assert response.status_code == 403, (role, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (await api.get("/probe/managers", role)).status_code == (200 if role in {"admin", "manager"} else 403)
    assert (await api.client.get("/probe/closed")).status_code == 401
