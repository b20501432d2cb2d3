"""Weekly NPPES re-verification through the NPI Registry API (``reverify_all``), on both backends.

The registry is an ``httpx.MockTransport`` answering with the recorded responses in
``fixtures/nppes/api``; physicians are created and read back through the HTTP API, and the
compliance report is asked for through HTTP as well, now and as recorded on a past date.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine

from roster.alerts.tables import Alert
from roster.audit.tables import AuditEvent
from roster.config import Settings
from roster.nppes import service
from roster.nppes.tables import NpiVerification
from tests import factories
from tests.conftest import Api

API_FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "nppes" / "api"
URL = "https://npiregistry.example/api/"
JAN_10 = datetime(2025, 1, 10, 12, tzinfo=UTC)
JUN_01 = datetime(2025, 6, 1, 12, tzinfo=UTC)
JUN_08 = datetime(2025, 6, 8, 12, tzinfo=UTC)

Answer = Callable[[httpx.Request], httpx.Response]


def recorded(name: str, npi: str) -> httpx.Response:
    """A recorded answer, re-addressed to ``npi``."""
    body = json.loads((API_FIXTURES / name).read_text())
    for result in body.get("results") or []:
        result["number"] = npi
    return httpx.Response(200, json=body)


def active(request: httpx.Request) -> httpx.Response:
    return recorded("active_individual.json", request.url.params["number"])


def deactivated(request: httpx.Request) -> httpx.Response:
    return recorded("deactivated.json", request.url.params["number"])


def unknown(request: httpx.Request) -> httpx.Response:
    return recorded("not_found.json", request.url.params["number"])


def errors_body(request: httpx.Request) -> httpx.Response:
    return recorded("errors.json", request.url.params["number"])


def throttled(request: httpx.Request) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": "30"})


def unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, text="<html>Service Unavailable</html>")


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def malformed(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text='{"result_count":1,"results":[{"number":', headers={"Content-Type": "text/html"})


class Registry:
    """Answers per NPI, in order (the last one repeats); counts the calls."""

    def __init__(self, answers: dict[str, list[Answer]], default: Answer = active) -> None:
        self.answers, self.default = answers, default
        self.calls: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        npi = request.url.params["number"]
        self.calls[npi] = self.calls.get(npi, 0) + 1
        plan = self.answers.get(npi, [self.default])
        return plan[min(self.calls[npi], len(plan)) - 1](request)


async def reverify(settings: Settings, registry: Registry, **overrides: Any) -> dict[str, int]:
    tuned = replace(settings, nppes_api_url=URL, nppes_rate_per_second=1000.0, **overrides)
    async with httpx.AsyncClient(transport=httpx.MockTransport(registry)) as http:
        return await service.reverify_all(tuned, http)


async def physician(api: Api, n: int) -> dict[str, Any]:
    body = factories.physician(n, credentialed_on="2024-06-01", irr_passed_on="2024-12-01")
    response = await api.post("/api/v1/physicians", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def current(api: Api, physician_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/physicians/{physician_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def npi_check(api: Api, physician_id: str, as_of: str | None = None) -> dict[str, Any]:
    params = {"as_of": as_of} if as_of else {}
    response = await api.get(f"/api/v1/physicians/{physician_id}/compliance", params=params)
    assert response.status_code == 200, response.text
    return next(c for c in response.json()["checks"] if c["check"] == "npi_active")


async def alerts(physician_id: str) -> list[dict[str, Any]]:
    return await Alert.select().where(Alert.physician == physician_id).output(load_json=True).run()


async def verifications(physician_id: str) -> list[dict[str, Any]]:
    return (
        await NpiVerification.select()
        .where(NpiVerification.physician == physician_id)
        .order_by(NpiVerification.checked_at)
        .output(load_json=True)
        .run()
    )


async def audit_actions(physician_id: str) -> list[tuple[str, str]]:
    rows = await AuditEvent.select(AuditEvent.actor, AuditEvent.action).where(
        (AuditEvent.entity == "physician") & (AuditEvent.entity_id == physician_id)
    )
    return [(row["actor"], row["action"]) for row in rows]


async def test_answers_set_status_raise_alerts_and_keep_history(api: Api, settings: Settings) -> None:
    with time_machine.travel(JAN_10, tick=False):
        ok, gone, unknown_npi = [await physician(api, n) for n in (1, 2, 3)]
    registry = Registry({gone["npi"]: [deactivated], unknown_npi["npi"]: [unknown]})
    with time_machine.travel(JUN_01, tick=False):
        counts = await reverify(settings, registry)
    assert counts == {
        "physicians": 3,
        "checked": 3,
        "verified": 1,
        "deactivated": 1,
        "not_found": 1,
        "error": 0,
        "changed": 3,
        "skipped": 0,
    }
    for p, status in ((ok, "active"), (gone, "deactivated"), (unknown_npi, "deactivated")):
        row = await current(api, p["id"])
        assert (row["npi_status"], row["npi_checked_on"]) == (status, "2025-06-01")
        assert sorted(await audit_actions(p["id"])) == [("nppes", "npi_verify"), ("test-admin", "create")]
    [checked] = await verifications(ok["id"])
    assert (checked["method"], checked["outcome"], checked["npi_status"], checked["npi"]) == (
        "api",
        "verified",
        "active",
        ok["npi"],
    )
    assert checked["details"]["name"]["last"] == "ENKESHAFI"
    assert {t["license"] for t in checked["details"]["taxonomies"]} == {"D0000290", "MD600003480"}
    assert [v["outcome"] for v in await verifications(unknown_npi["id"])] == ["not_found"]

    assert await alerts(ok["id"]) == []
    for p, outcome in ((gone, "deactivated"), (unknown_npi, "not_found")):
        [alert] = await alerts(p["id"])
        assert (alert["kind"], alert["subject_type"], alert["subject_id"], alert["threshold"]) == (
            "npi_deactivated",
            "physician",
            p["id"],
            "once",
        )
        assert alert["detail"] == {"npi": p["npi"], "outcome": outcome, "method": "api"}

    # compliance now, and replayed at a date before the check
    assert (await npi_check(api, ok["id"]))["ok"] is True
    now = await npi_check(api, gone["id"])
    assert now["ok"] is False and now["reason"] == "npi_deactivated"
    assert (await npi_check(api, gone["id"], "2025-03-01"))["ok"] is True, "replay sees the status as it was"


async def test_a_second_run_the_same_day_writes_no_new_versions(api: Api, settings: Settings) -> None:
    ok, gone = [await physician(api, n) for n in (1, 2)]
    registry = Registry({gone["npi"]: [deactivated]})
    await reverify(settings, registry)
    before = {p["id"]: await audit_actions(p["id"]) for p in (ok, gone)}
    again = await reverify(settings, registry)
    assert again["changed"] == 0 and again["verified"] == 1 and again["deactivated"] == 1
    assert {p["id"]: await audit_actions(p["id"]) for p in (ok, gone)} == before
    assert len(await alerts(gone["id"])) == 1, "npi_deactivated is raised once"
    assert len(await verifications(ok["id"])) == 2, "every check is recorded"


@pytest.mark.parametrize(
    "failure",
    [errors_body, throttled, unavailable, timeout, refused, malformed],
    ids=["200-with-Errors", "429-forever", "503-forever", "timeouts", "refused", "malformed-body"],
)
async def test_failures_change_no_status(api: Api, settings: Settings, failure: Answer) -> None:
    ok, gone = [await physician(api, n) for n in (1, 2)]
    with time_machine.travel(JUN_01, tick=False):
        await reverify(settings, Registry({gone["npi"]: [deactivated]}))
    registry = Registry({}, default=failure)
    with time_machine.travel(JUN_08, tick=False):
        counts = await reverify(settings, registry)
    assert (counts["error"], counts["changed"], counts["checked"]) == (2, 0, 2)
    for p, status in ((ok, "active"), (gone, "deactivated")):
        row = await current(api, p["id"])
        assert (row["npi_status"], row["npi_checked_on"]) == (status, "2025-06-01"), "nothing flipped"
        last = (await verifications(p["id"]))[-1]
        assert (last["outcome"], last["npi_status"]) == ("error", None) and last["error"]
    assert await alerts(ok["id"]) == []
    retried = failure in (throttled, unavailable, timeout, refused)
    assert set(registry.calls.values()) == {3 if retried else 1}


async def test_transient_failures_then_answers(api: Api, settings: Settings) -> None:
    a, b, c = [await physician(api, n) for n in (1, 2, 3)]
    registry = Registry({a["npi"]: [unavailable, active], b["npi"]: [throttled, deactivated], c["npi"]: [timeout]})
    registry.answers[c["npi"]] = [timeout, timeout, active]
    counts = await reverify(settings, registry)
    assert (counts["verified"], counts["deactivated"], counts["error"]) == (2, 1, 0)
    assert registry.calls == {a["npi"]: 2, b["npi"]: 2, c["npi"]: 3}
    assert (await current(api, b["id"]))["npi_status"] == "deactivated"


async def test_an_outage_stops_the_run(api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_CONSECUTIVE_ERRORS", 3)
    people = [await physician(api, n) for n in range(1, 9)]
    registry = Registry({}, default=unavailable)
    counts = await reverify(settings, registry, nppes_concurrency=1)
    assert (counts["error"], counts["skipped"], counts["checked"], counts["changed"]) == (3, 5, 3, 0)
    assert len(registry.calls) == 3
    assert {(await current(api, p["id"]))["npi_status"] for p in people} == {"unknown"}


async def test_requests_in_flight_stay_within_the_concurrency(api: Api, settings: Settings) -> None:
    for n in range(1, 11):
        await physician(api, n)
    in_flight, peak = 0, 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return active(request)

    tuned = replace(settings, nppes_api_url=URL, nppes_rate_per_second=1000.0, nppes_concurrency=3)
    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
        counts = await service.reverify_all(tuned, http)
    assert counts["verified"] == 10
    assert 1 <= peak <= 3


async def test_an_empty_roster_asks_nothing(api: Api, settings: Settings) -> None:
    registry = Registry({})
    counts = await reverify(settings, registry)
    assert counts["physicians"] == 0 and counts["checked"] == 0 and registry.calls == {}


async def test_an_npi_edited_during_the_run_is_not_judged_by_the_old_answer(api: Api, settings: Settings) -> None:
    p = await physician(api, 1)
    new_npi = factories.npi(77)

    async def edited_meanwhile(request: httpx.Request) -> httpx.Response:
        response = await api.patch(f"/api/v1/physicians/{p['id']}", json={"npi": new_npi})
        assert response.status_code == 200, response.text
        return deactivated(request)

    tuned = replace(settings, nppes_api_url=URL, nppes_rate_per_second=1000.0)
    async with httpx.AsyncClient(transport=httpx.MockTransport(edited_meanwhile)) as http:
        counts = await service.reverify_all(tuned, http)
    assert (counts["deactivated"], counts["changed"]) == (1, 0)
    row = await current(api, p["id"])
    assert (row["npi"], row["npi_status"]) == (new_npi, "unknown")
    [checked] = await verifications(p["id"])
    assert (checked["npi"], checked["outcome"]) == (p["npi"], "deactivated"), "the check is kept, as asked"
    assert await alerts(p["id"]) == []
