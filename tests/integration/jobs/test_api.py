"""GET /api/v1/jobs and POST /api/v1/jobs/{name}/run: runs recorded, failures contained, one run at a time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from roster.app import create_app
from roster.config import Settings
from roster.keys import service as keys_service
from roster.scheduling import repository, schedule, service
from roster.scheduling.schedule import JOBS, ScheduleError
from tests import factories
from tests.conftest import Api, serving

JOBS_URL = "/api/v1/jobs"
#: Answer with the finished run instead of the started one.
WAIT = {"wait": "true"}


@pytest.fixture
def settings(migrated: Any) -> Settings:
    """No list URL: the list refresh here never reaches for the network."""
    return migrated.settings(leie_url=None)


@pytest.fixture
def http_transport() -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(lambda request: httpx.Response(404))


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


async def test_every_job_is_listed_with_its_schedule_and_next_run(api: Api) -> None:
    with time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=UTC), tick=False):
        response = await api.get(JOBS_URL, role="manager")
    assert response.status_code == 200, response.text
    jobs = {job["name"]: job for job in response.json()}
    assert set(jobs) == set(JOBS)
    sweep = jobs["expiration_sweep"]
    assert sweep["schedule"] == "15 2 * * *" and sweep["catch_up"] is True
    assert sweep["next_run"] == "2026-03-05T02:15:00Z"
    assert sweep["last_run"] is None and sweep["outcome"] is None
    assert jobs["list_refresh"]["next_run"] == "2026-04-02T04:00:00Z"
    assert jobs["nppes_reverify"]["next_run"] == "2026-03-08T03:30:00Z", "crontab weekday 0 is Sunday"
    assert jobs["webhook_delivery"]["next_run"] == "2026-03-04T10:05:00Z" and not jobs["webhook_delivery"]["catch_up"]


async def test_running_the_sweep_now_records_the_run(api: Api) -> None:
    doc = (await api.post("/api/v1/physicians", json=factories.physician(3))).json()
    expiring = (factories.TODAY + timedelta(days=20)).isoformat()
    assert (
        await api.post(f"/api/v1/physicians/{doc['id']}/licenses", json=factories.license(expires_on=expiring))
    ).status_code == 201
    response = await api.post(f"{JOBS_URL}/expiration_sweep/run", role="manager", params=WAIT)
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["job"] == "expiration_sweep" and run["trigger"] == "manual" and run["outcome"] == "succeeded"
    assert run["counts"]["raised"] == 1 and run["error"] is None and run["finished_at"] >= run["started_at"]
    alerts = (await api.get("/api/v1/alerts", params={"kind": "license_expiring"})).json()["items"]
    assert [a["threshold"].split("@")[0] for a in alerts] == ["30d"]

    again = (await api.post(f"{JOBS_URL}/expiration_sweep/run", params=WAIT)).json()
    assert again["counts"]["raised"] == 0 and again["counts"]["due"] == 1
    [listed] = [job for job in (await api.get(JOBS_URL)).json() if job["name"] == "expiration_sweep"]
    assert listed["last_run"]["id"] == again["id"] and listed["outcome"] == "succeeded"
    events = (await api.get("/api/v1/audit", params={"entity": "job_run", "entity_id": run["id"]})).json()["items"]
    assert [(e["action"], e["actor"]) for e in events] == [("run", "test-manager")]


@pytest.mark.parametrize("name", ["no_such_job", "EXPIRATION_SWEEP", "expiration_sweep ", "%00", "ü" * 300])
async def test_an_unknown_job_is_404_and_runs_nothing(api: Api, name: str) -> None:
    body = problem(await api.post(f"{JOBS_URL}/{name}/run", params=WAIT), 404)
    assert "expiration_sweep" in body["detail"], "the problem lists the jobs there are"
    assert await service.job_runs() == []


async def test_unknown_query_parameters_are_rejected(api: Api) -> None:
    assert problem(await api.get(JOBS_URL, params={"status": "running"}), 422)["errors"][0]["field"] == "status"
    refused = problem(await api.post(f"{JOBS_URL}/expiration_sweep/run", params={"force": "1", **WAIT}), 422)
    assert refused["errors"][0]["field"] == "force"
    assert await service.job_runs() == []


async def test_a_job_already_running_is_409(api: Api) -> None:
    running = await service.start_run("expiration_sweep", "schedule")
    body = problem(await api.post(f"{JOBS_URL}/expiration_sweep/run", params=WAIT), 409)
    assert str(running["id"]) in body["detail"] and body["errors"][0]["field"] == "name"
    assert [run.outcome for run in await service.job_runs("expiration_sweep")] == ["running"]
    # Another job is not blocked by it.
    assert (await api.post(f"{JOBS_URL}/list_refresh/run", params=WAIT)).status_code == 201


@pytest.mark.parametrize("trigger", ["manual", "schedule"])
async def test_a_run_left_running_by_a_dead_process_stops_blocking_once_silent(api: Api, trigger: str) -> None:
    """A server killed mid-run leaves its run ``running`` and never beats again: after SILENT_AFTER the
    next start closes it as abandoned instead of answering 409 for hours."""
    with time_machine.travel(datetime.now(UTC) - service.SILENT_AFTER - timedelta(seconds=5), tick=False):
        dead = await service.start_run("expiration_sweep", trigger)  # type: ignore[arg-type]
    response = await api.post(f"{JOBS_URL}/expiration_sweep/run", params=WAIT)
    assert response.status_code == 201 and response.json()["outcome"] == "succeeded", response.text
    [closed] = [run for run in await service.job_runs("expiration_sweep") if run.id == dead["id"]]
    assert closed.outcome == "failed" and closed.finished_at is not None
    assert closed.error is not None and closed.error.startswith("abandoned: the process running it stopped")


async def test_a_run_that_beat_recently_still_blocks(api: Api) -> None:
    with time_machine.travel(datetime.now(UTC) - service.SILENT_AFTER + timedelta(seconds=30), tick=False):
        alive = await service.start_run("expiration_sweep", "manual")
    problem(await api.post(f"{JOBS_URL}/expiration_sweep/run", params=WAIT), 409)
    assert [run.outcome for run in await service.job_runs("expiration_sweep")] == ["running"]
    assert alive["alive_at"] == alive["started_at"]


async def test_a_running_job_records_its_heartbeat(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "HEARTBEAT", timedelta(seconds=0.05))
    release = asyncio.Event()

    def slow(spec: schedule.JobSpec) -> Any:
        async def body(settings: Settings, http: httpx.AsyncClient) -> Any:
            await release.wait()
            return {}

        return body

    monkeypatch.setattr(service, "load_body", slow)
    started = (await api.post(f"{JOBS_URL}/expiration_sweep/run")).json()
    first = await repository.running("expiration_sweep")
    for _ in range(100):
        await asyncio.sleep(0.05)
        beats = await repository.running("expiration_sweep")
        if beats[0]["alive_at"] > first[0]["alive_at"]:
            break
    else:
        pytest.fail("the running job never recorded a heartbeat")
    release.set()
    for _ in range(100):
        if not await repository.running("expiration_sweep"):
            break
        await asyncio.sleep(0.05)
    [run] = [r for r in await service.job_runs("expiration_sweep") if str(r.id) == started["id"]]
    assert run.outcome == "succeeded"


async def test_a_beat_in_flight_when_the_job_ends_is_finished_not_cancelled(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelling the heartbeat mid-transaction could leave its PostgreSQL connection checked out, and
    the pool's close then hung (the suite stuck in teardown). The run waits for the beat instead."""
    monkeypatch.setattr(service, "HEARTBEAT", timedelta(seconds=0.01))
    beating, beats_done = asyncio.Event(), []
    beat = repository.beat

    async def slow_beat(run_id: Any, at: datetime) -> None:
        beating.set()
        await asyncio.sleep(0.2)
        await beat(run_id, at)
        beats_done.append(at)

    def ends_mid_beat(spec: schedule.JobSpec) -> Any:
        async def body(settings: Settings, http: httpx.AsyncClient) -> Any:
            await beating.wait()
            return {}

        return body

    monkeypatch.setattr(repository, "beat", slow_beat)
    monkeypatch.setattr(service, "load_body", ends_mid_beat)
    response = await api.post(f"{JOBS_URL}/expiration_sweep/run", params=WAIT)
    assert response.status_code == 201 and response.json()["outcome"] == "succeeded", response.text
    assert len(beats_done) == 1, "the beat under way when the body ended was cut off"
    [run] = await service.job_runs("expiration_sweep")
    assert run.outcome == "succeeded"


async def test_a_new_leader_closes_scheduled_runs_and_silent_manual_ones(api: Api) -> None:
    scheduled = await service.start_run("expiration_sweep", "schedule")
    live_manual = await service.start_run("list_refresh", "manual")
    with time_machine.travel(datetime.now(UTC) - service.SILENT_AFTER - timedelta(seconds=5), tick=False):
        dead_manual = await service.start_run("nppes_reverify", "manual")
    assert await service.abandon_orphaned_runs() == 2
    outcomes = {run.id: run.outcome for run in await service.job_runs()}
    assert outcomes == {scheduled["id"]: "failed", live_manual["id"]: "running", dead_manual["id"]: "failed"}


async def test_a_run_started_without_wait_finishes_in_the_background(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # The body waits for the second request: an empty roster's sweep could otherwise end before it.
    release = asyncio.Event()
    body = service.load_body

    def held(spec: schedule.JobSpec) -> Any:
        async def run(settings: Settings, http: httpx.AsyncClient) -> Any:
            await release.wait()
            return await body(spec)(settings, http)

        return run

    monkeypatch.setattr(service, "load_body", held)
    response = await api.post(f"{JOBS_URL}/expiration_sweep/run", role="manager")
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["outcome"] == "running" and started["finished_at"] is None and started["trigger"] == "manual"
    assert problem(await api.post(f"{JOBS_URL}/expiration_sweep/run"), 409)["errors"][0]["field"] == "name"
    release.set()
    for _ in range(200):
        [listed] = [job for job in (await api.get(JOBS_URL)).json() if job["name"] == "expiration_sweep"]
        if listed["outcome"] != "running":
            break
        await asyncio.sleep(0.05)
    assert listed["last_run"]["id"] == started["id"] and listed["outcome"] == "succeeded", listed


async def test_shutting_down_cancels_a_background_run_and_records_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = asyncio.Event()

    def slow(spec: schedule.JobSpec) -> Any:
        async def body(settings: Settings, http: httpx.AsyncClient) -> Any:
            started.set()
            await asyncio.sleep(60)

        return body

    monkeypatch.setattr(service, "load_body", slow)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with serving(app), httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        key = await keys_service.create_key(name="shutdown-test", role="admin", actor="test")
        headers = {"Authorization": f"Bearer {key.key}"}
        response = await client.post(f"{JOBS_URL}/expiration_sweep/run", headers=headers)
        assert response.status_code == 202, response.text
        await asyncio.wait_for(started.wait(), 5)
    [run] = [r for r in await service.job_runs("expiration_sweep") if str(r.id) == response.json()["id"]]
    assert run.outcome == "cancelled" and run.finished_at is not None


def broken_body(exc: BaseException | None = None, result: object = None) -> Any:
    def load(spec: schedule.JobSpec) -> Any:
        async def body(settings: Settings, http: httpx.AsyncClient) -> Any:
            if exc is not None:
                raise exc
            return result

        return body

    return load


@pytest.mark.parametrize(
    ("loader", "message"),
    [
        (broken_body(RuntimeError("smtp relay refused")), "RuntimeError: smtp relay refused"),
        (broken_body(result={"sent": "three"}), "TypeError: a job body must return dict[str, int] counts"),
        (broken_body(result=None), "TypeError: a job body must return dict[str, int] counts"),
    ],
)
async def test_a_failing_body_is_recorded_not_raised(
    api: Api, monkeypatch: pytest.MonkeyPatch, loader: Any, message: str
) -> None:
    monkeypatch.setattr(service, "load_body", loader)
    response = await api.post(f"{JOBS_URL}/alert_digest/run", params=WAIT)
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["outcome"] == "failed" and run["error"].startswith(message) and run["counts"] == {}
    [stored] = await service.job_runs("alert_digest")
    assert stored.outcome == "failed" and stored.finished_at is not None
    [listed] = [job for job in (await api.get(JOBS_URL)).json() if job["name"] == "alert_digest"]
    assert listed["outcome"] == "failed"


async def test_a_job_whose_module_is_missing_fails_alone(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(JOBS, "alert_digest", replace(JOBS["alert_digest"], target="roster.no_such_module:send"))
    run = (await api.post(f"{JOBS_URL}/alert_digest/run", params=WAIT)).json()
    assert run["outcome"] == "failed" and "No module named 'roster.no_such_module'" in run["error"]
    assert (await api.post(f"{JOBS_URL}/expiration_sweep/run", params=WAIT)).json()["outcome"] == "succeeded"


@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        ("router", "GET", JOBS_URL, 403),
        ("credentialing", "GET", JOBS_URL, 403),
        ("auditor", "GET", JOBS_URL, 200),
        ("auditor", "POST", f"{JOBS_URL}/expiration_sweep/run", 403),
        ("credentialing", "POST", f"{JOBS_URL}/expiration_sweep/run", 403),
        ("router", "POST", f"{JOBS_URL}/no_such_job/run", 403),
    ],
)
async def test_who_may_see_and_run_jobs(api: Api, role: str, method: str, path: str, status: int) -> None:
    response = await api.request(method, path, role=role)
    assert response.status_code == status, response.text
    assert await service.job_runs() == []


async def test_no_key_is_401(api: Api) -> None:
    assert (await api.client.get(JOBS_URL)).status_code == 401
    assert (await api.client.post(f"{JOBS_URL}/expiration_sweep/run")).status_code == 401


@pytest.mark.parametrize(
    "schedules",
    [
        {"expiration_sweep": "every day"},
        {"expiration_sweep": "61 * * * *"},
        {"expiration_sweep": "0 0 * * 8"},
        {"nightly_cleanup": "0 0 * * *"},
    ],
)
def test_a_bad_schedule_stops_the_app_at_start_up(schedules: dict[str, str]) -> None:
    with pytest.raises(ScheduleError):
        create_app(replace(Settings(), job_schedules=schedules))


async def test_a_job_switched_off_has_no_next_run_but_can_run_by_hand(migrated: Any) -> None:
    settings = migrated.settings(job_schedules={"webhook_delivery": "off"})
    [webhooks] = [job for job in await _jobs(settings) if job.name == "webhook_delivery"]
    assert webhooks.schedule == "off" and webhooks.next_run is None


async def _jobs(settings: Settings) -> list[Any]:
    from roster.db import close_engine, open_engine

    engine = await open_engine(settings)
    try:
        return await service.list_jobs(settings)
    finally:
        await close_engine(engine)
