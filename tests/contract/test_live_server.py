"""Schemathesis against the running server: ``roster serve`` in its own process, every role, stateful links.

``test_openapi.py`` drives the app in-process; this module starts the real thing (uvicorn, the CLI's
migrations, the app factory reading ``ROSTER_*``) on a free loopback port, on SQLite and on a throwaway
PostgreSQL database, seeds it with ``roster demo`` (220 physicians, licenses, certifications, screening
hits, alerts, and one API key per role), loads the OpenAPI schema from the live server and checks:

* stateless: every operation with each role's key (a role without access gets the documented 403);
* stateful: the links schemathesis infers from the schema (create/list -> get/patch/delete, ids in
  query parameters), plus physician -> license/certification creation, with the admin key;
* the server's own log: no traceback, no 5xx, for the whole life of the process.

Outbound HTTP from the server never leaves the machine: no list is configured for refresh, the NPPES API
is a loopback stub answering 404, the list-URL allow-list (``ROSTER_LIST_URL_HOSTS``) names only a host
that cannot resolve, and the server's HTTP proxy is that same stub, for whatever it does fetch.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Flaky
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.engine.errors import is_inconsistent_replay
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.pytest.lazy import get_all_tests, run_subtest
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from tests import suite_clock
from tests.conftest import BACKENDS, TempDatabase

ROLES = ("admin", "credentialing", "router", "manager", "auditor")
#: Generated cases per operation (fuzzing phase; the coverage phase adds its own deterministic cases).
ADMIN_EXAMPLES = 10
ROLE_EXAMPLES = 3
#: Stateful scenarios and the most calls in one.
STATEFUL_SCENARIOS = 25
STATEFUL_STEPS = 10
START_TIMEOUT = 60.0


class _Answer404(BaseHTTPRequestHandler):
    """The server's whole outside world: every request (as a proxy or directly) is a 404."""

    protocol_version = "HTTP/1.1"

    def _not_found(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_CONNECT = _not_found

    def log_message(self, format: str, *args: Any) -> None:
        pass


class OutboundStub:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Answer404)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="outbound-stub", daemon=True)

    def __enter__(self) -> OutboundStub:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: What a healthy server never writes: a traceback, an unhandled-error record, a 5xx in the access log.
_SERVER_ERROR = re.compile(
    r"Traceback \(most recent call last\)|unhandled error on|Exception in ASGI application"
    r'|"[A-Z]+ [^"]*HTTP/[\d.]+" 5\d\d'
)


@dataclass
class LiveServer:
    backend: str
    base_url: str
    keys: dict[str, str]
    log_path: Path
    session: requests.Session
    #: Bytes of the log already checked for errors.
    checked: int = 0
    #: Operations whose auth enforcement ``ignored_auth`` has confirmed (it needs one 2xx per operation).
    auth_probed: set[str] = field(default_factory=set)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def new_errors(self) -> list[str]:
        """Lines of the server log written since the last call that show a server error."""
        with self.log_path.open("rb") as log:
            log.seek(self.checked)
            text = log.read().decode("utf-8", "replace")
        # Only whole lines: the rest is read next time.
        end = text.rfind("\n") + 1
        self.checked += len(text[:end].encode("utf-8", "replace"))
        return _error_excerpts(text[:end])


def _error_excerpts(text: str, *, context: int = 30, most: int = 5) -> list[str]:
    """Up to ``most`` stretches of the log from each line showing an error, ``context`` lines each."""
    lines, excerpts, i = text.splitlines(), [], 0
    while i < len(lines) and len(excerpts) < most:
        if _SERVER_ERROR.search(lines[i]):
            excerpts.append("\n".join(lines[i : i + context]))
            i += context
        else:
            i += 1
    return excerpts


def _child_env(db: TempDatabase, data_dir: Path, outbound: str) -> dict[str, str]:
    overrides = {
        "ROSTER_DATABASE_URL": db.url,
        "ROSTER_DATA_DIR": str(data_dir),
        # No list is refreshed from the internet; the NPPES API is the stub (quickly: it only says 404).
        "ROSTER_LEIE_URL": "",
        "ROSTER_NPPES_API_URL": f"{outbound}/nppes/",
        "ROSTER_NPPES_RATE_PER_SECOND": "1000",
        "ROSTER_NPPES_CONCURRENCY": "8",
        # List URLs a request may name (the SSRF guard): none that resolves.
        "ROSTER_LIST_URL_HOSTS": "lists.invalid",
        # Belt and braces: whatever URL the server does fetch goes to the stub, which answers 404.
        "HTTP_PROXY": outbound,
        "HTTPS_PROXY": outbound,
        "ALL_PROXY": outbound,
        "PYTHONUNBUFFERED": "1",
    }
    env = suite_clock.environ(overrides)
    # The operator's own ROSTER_* settings (SMTP, webhooks, list URLs) and proxy exceptions stay out.
    return {name: value for name, value in env.items() if name in overrides or _inherited(name)}


def _inherited(name: str) -> bool:
    if name.startswith("ROSTER_"):
        return name.startswith("ROSTER_TEST_")
    return name.upper() not in {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}


_KEY_LINE = re.compile(r"^\s+(admin|credentialing|router|manager|auditor)\s+(rst_\S+)\s*$", re.MULTILINE)


@pytest.fixture(scope="module", params=BACKENDS)
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp(f"live-{request.param}")
    db = TempDatabase(request.param, tmp)
    try:
        with OutboundStub() as outbound:
            env = _child_env(db, tmp / "data", outbound.url)
            demo = subprocess.run(
                suite_clock.command("roster", "demo"), env=env, cwd=tmp, capture_output=True, text=True, timeout=300
            )
            assert demo.returncode == 0, f"roster demo failed:\n{demo.stdout}\n{demo.stderr}"
            keys = dict(_KEY_LINE.findall(demo.stdout))
            assert sorted(keys) == sorted(ROLES), demo.stdout

            port = _free_port()
            log_path = tmp / "server.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    suite_clock.command("roster", "serve", "--host", "127.0.0.1", "--port", str(port)),
                    env=env,
                    cwd=tmp,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            with requests.Session() as session:
                session.trust_env = False  # loopback only, whatever the environment's proxies
                server = LiveServer(request.param, f"http://127.0.0.1:{port}", keys, log_path, session)
                try:
                    _wait_healthy(process, server.base_url, log_path)
                    yield server
                finally:
                    process.terminate()
                    try:
                        process.wait(30)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(10)
            # What the tests' own checks have not seen: errors at shutdown (a background job cancelled badly).
            errors = server.new_errors()
            assert not errors, f"the {request.param} server logged errors:\n\n" + "\n\n".join(errors)
    finally:
        db.drop()


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"roster serve exited with {process.returncode}:\n{log_path.read_text('utf-8', 'replace')}")
            try:
                if client.get(f"{base_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    pytest.fail(f"roster serve not healthy after {START_TIMEOUT:.0f}s:\n{log_path.read_text('utf-8', 'replace')}")


#: Links schemathesis does not infer (the path parameter is named after the parent): a new physician
#: (or one from the list) gets licenses and certifications.
_PARENT = "#/paths/~1api~1v1~1physicians~1{physician_id}"
_EXTRA_LINKS = {
    ("/api/v1/physicians", "post", "201", "$response.body#/id"),
    ("/api/v1/physicians/{physician_id}", "get", "200", "$response.body#/id"),
    ("/api/v1/physicians", "get", "200", "$response.body#/items/0/id"),
}


def _add_parent_links(raw: dict[str, Any]) -> None:
    for path, method, status, expression in _EXTRA_LINKS:
        links = raw["paths"][path][method]["responses"][status].setdefault("links", {})
        for child in ("licenses", "certifications"):
            links[f"Create{child.title()}Of{method.title()}Physician"] = {
                "operationRef": f"{_PARENT}~1{child}/post",
                "parameters": {"path.physician_id": expression},
            }


def _load_schema(server: LiveServer, config: SchemathesisConfig | None = None) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{server.base_url}/schema/openapi.json", config=config, timeout=10)
    _add_parent_links(schema.raw_schema)
    return schema


@pytest.fixture(scope="module")
def live_schema(live_server: LiveServer) -> schemathesis.BaseSchema:
    """The schema as the live server serves it, every phase on: examples, coverage (boundary and
    invalid values of every parameter), fuzzing."""
    return _load_schema(live_server)


@pytest.fixture(scope="module")
def role_schema(live_server: LiveServer) -> schemathesis.BaseSchema:
    """The same, fuzzing only: the other roles add their own answers (403, or their own reads and
    writes), not more of the parameter space the admin run has covered."""
    return _load_schema(live_server, SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}))


@pytest.fixture
def log_is_clean(live_server: LiveServer) -> Iterator[None]:
    """Fails the test if the server logged an error while it ran (a 5xx the checks missed, a traceback
    in a background job); the module fixture checks what the server writes after the last test, at shutdown."""
    live_server.new_errors()
    yield
    time.sleep(0.2)  # uvicorn logs a request after answering it
    errors = live_server.new_errors()
    if errors:
        pytest.fail(f"the {live_server.backend} server logged errors:\n\n" + "\n\n".join(errors), pytrace=False)


_HTTPS = re.compile(r"^\s*https", re.IGNORECASE)


def _plain_http_urls(case: schemathesis.Case) -> None:
    """A fuzzed list URL that gets past the allow-list is fetched over plain HTTP, through the stub,
    which answers 404 (-> 422). Over HTTPS the proxy would be asked to CONNECT, fail, and the route
    would answer its documented 502 (upstream unreachable): true, but not a server error.
    """
    if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
        case.body["url"] = _HTTPS.sub("http", case.body["url"], count=1)


@pytest.fixture(params=[role for role in ROLES if role != "admin"])
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _exercise(case: schemathesis.Case, server: LiveServer, role: str) -> None:
    # A case whose headers were generated invalid on purpose (e.g. no Authorization) is sent as
    # generated, so the API's 401 is what gets checked.
    negative_headers = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    _plain_http_urls(case)
    # As in test_openapi.py: business rules (NPI check digit, known specialties, date order) reject
    # some schema-valid bodies with a documented 422, which is the contract.
    excluded = [positive_data_acceptance]
    # ``ignored_auth`` re-sends a 2xx case without a key and with a wrong one: once per operation is
    # enough (schemathesis' own runner does the same), and as admin only.
    probe_auth = role == "admin" and case.operation.label not in server.auth_probed
    if not probe_auth:
        excluded.append(ignored_auth)
    response = case.call_and_validate(
        headers={} if negative_headers else server.auth(role),
        session=server.session,
        timeout=30,
        excluded_checks=excluded,
    )
    if probe_auth and 200 <= response.status_code < 300:
        server.auth_probed.add(case.operation.label)


def _every_operation(schema: schemathesis.BaseSchema, subtests: pytest.Subtests, examples: int, check: Any) -> None:
    """Run ``check(case)`` over every operation of the live schema, one subtest per operation.

    What ``schemathesis.pytest.from_fixture(...).parametrize()`` does, minus its reporting: schemathesis
    4.32.5 renames the pytest node through ``Function._nodeid``, which pytest 9.2 no longer has.
    """
    load_all_checks()
    settings = hypothesis_settings(max_examples=examples)
    for result in get_all_tests(schema=schema, test_func=check, settings=settings, given_kwargs=None):
        if isinstance(result, Ok):
            operation, test = result.ok()
            run_subtest(operation, {}, test, subtests)
        else:
            error = result.err()
            with subtests.test(msg=f"{error.method} {error.path}"):
                pytest.fail(str(error), pytrace=False)


@pytest.mark.usefixtures("log_is_clean")
def test_every_operation_as_admin(
    live_schema: schemathesis.BaseSchema, live_server: LiveServer, subtests: pytest.Subtests
) -> None:
    def check(case: schemathesis.Case) -> None:
        _exercise(case, live_server, "admin")

    _every_operation(live_schema, subtests, ADMIN_EXAMPLES, check)


@pytest.mark.usefixtures("log_is_clean")
def test_every_operation_per_role(
    role_schema: schemathesis.BaseSchema, live_server: LiveServer, subtests: pytest.Subtests, role: str
) -> None:
    def check(case: schemathesis.Case) -> None:
        _exercise(case, live_server, role)

    _every_operation(role_schema, subtests, ROLE_EXAMPLES, check)


@pytest.mark.usefixtures("log_is_clean")
def test_stateful_links_as_admin(live_schema: schemathesis.BaseSchema, live_server: LiveServer) -> None:
    machine = live_schema.as_state_machine()
    assert live_schema.statistic.transitions.total > 0, "no links: the stateful phase would test nothing"

    linked: dict[str, int] = {}  # link -> steps that followed it with a value from the previous answer, 2xx
    failures: list[FailureGroup] = []  # as they happen: a replay against changed data may not repeat them

    class AdminWorkflow(machine):  # type: ignore[misc, valid-type]
        def step(self, input: StepInput) -> StepOutput:
            output = super().step(input)
            if input.transition is not None and input.is_applied and 200 <= output.response.status_code < 300:
                linked[input.transition.id] = linked.get(input.transition.id, 0) + 1
            return output

        def before_call(self, case: schemathesis.Case) -> None:
            _plain_http_urls(case)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": live_server.auth("admin"), "session": live_server.session, "timeout": 30}

        def validate_response(
            self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                case.validate_response(
                    response,
                    additional_checks=additional_checks,
                    excluded_checks=[positive_data_acceptance],
                    transport_kwargs=kwargs,
                )
            except FailureGroup as exc:
                failures.append(exc)
                raise

    settings = hypothesis_settings(
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=STATEFUL_STEPS,
        # As schemathesis' own stateful phase: generate only. Replaying or shrinking a scenario against
        # a server whose data the scenarios themselves changed is not a replay.
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    for _ in range(3):
        try:
            AdminWorkflow.run(settings=settings)
            break
        except Exception as exc:
            # Hypothesis saw a choice lead elsewhere than it did before (the bundles hold what the server
            # answered, and the server's data moved): as in schemathesis' own runner, that is no failure;
            # what a step found is, and is raised as it was found.
            if failures:
                raise failures[0] from None
            if not (isinstance(exc, Flaky) or is_inconsistent_replay(exc)):
                raise
    # The scenarios did chain: ids taken from one answer reached the next call and were found.
    assert len(linked) >= 2, f"too few links followed to a 2xx: {linked}"
