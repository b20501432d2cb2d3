"""``roster worker`` as real processes: one leader at a time, failover on ``kill -9``, catch-up on start."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from roster import clock
from roster.config import Settings
from roster.db import close_engine, open_engine
from roster.scheduling import repository, service
from roster.scheduling.schemas import JobRunRead
from tests import suite_clock
from tests.conftest import TempDatabase, clean_roster

ALL_OFF = {
    "ROSTER_SCHEDULE_EXPIRATION_SWEEP": "off",
    "ROSTER_SCHEDULE_LIST_REFRESH": "off",
    "ROSTER_SCHEDULE_NPPES_REVERIFY": "off",
    "ROSTER_SCHEDULE_ALERT_DIGEST": "off",
    "ROSTER_SCHEDULE_WEBHOOK_DELIVERY": "off",
    "ROSTER_SCHEDULE_ASSIGNMENT_CLOCK": "off",
    "ROSTER_SCHEDULE_EDUCATION_SWEEP": "off",
}


@pytest.fixture
async def database(migrated: TempDatabase) -> AsyncIterator[Settings]:
    settings = migrated.settings()
    engine = await open_engine(settings)
    await clean_roster()
    try:
        yield settings
    finally:
        await close_engine(engine)


class Worker:
    def __init__(self, settings: Settings, log: Path, **schedules: str) -> None:
        env = suite_clock.environ(
            {
                **ALL_OFF,
                **schedules,
                "ROSTER_DATABASE_URL": settings.database_url,
                "ROSTER_DATA_DIR": str(settings.data_dir),
                "ROSTER_LEIE_URL": "",
                "ROSTER_WORKER_STANDBY_SECONDS": "0.3",
            }
        )
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            suite_clock.command("roster", "worker"), env=env, stdout=self.handle, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.handle.close()

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no clean-up, no lock release by the worker itself
        self.process.wait(timeout=10)
        self.handle.close()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


async def until(condition: Callable[[], Any], what: str, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def sweeps() -> list[JobRunRead]:
    return await service.job_runs("expiration_sweep")


async def test_the_standby_takes_over_when_the_leader_is_killed(
    database: Settings, tmp_path: Path, workers: list[Worker]
) -> None:
    every_second = {"ROSTER_SCHEDULE_EXPIRATION_SWEEP": "* * * * * *"}
    first = Worker(database, tmp_path / "first.log", **every_second)
    workers.append(first)
    await until(lambda: "leader:" in first.output(), "the first worker to lead")
    second = Worker(database, tmp_path / "second.log", **every_second)
    workers.append(second)
    await until(lambda: "standby" in second.output(), "the second worker to stand by")
    await until(lambda: _count(sweeps(), 3), "the leader to run the sweep")
    await asyncio.sleep(1.0)
    assert "leader:" not in second.output(), "two leaders at once"

    first.kill()
    killed_at = clock.now()
    await until(lambda: "leader:" in second.output(), "the standby to take the lock", within=20)
    await until(
        lambda: _count(sweeps(), 2, lambda run: run.started_at > killed_at and run.outcome == "succeeded"),
        "the new leader to run the sweep",
    )
    assert second.stop() == 0, second.output()
    runs = await sweeps()
    assert all(run.outcome in {"succeeded", "failed", "cancelled"} for run in runs), runs
    assert all(run.outcome == "succeeded" for run in runs if run.error is None or "abandoned" not in run.error)
    # One at a time: no two runs of the sweep overlap.
    ordered = sorted(runs, key=lambda run: run.started_at)
    for earlier, later in itertools.pairwise(ordered):
        if earlier.error is None:
            assert earlier.finished_at is not None and earlier.finished_at <= later.started_at


async def _count(runs: Any, at_least: int, keep: Callable[[JobRunRead], bool] = lambda run: True) -> bool:
    return len([run for run in await runs if keep(run)]) >= at_least


async def test_a_missed_daily_run_is_made_up_once_on_start(
    database: Settings, tmp_path: Path, workers: list[Worker]
) -> None:
    now = clock.now()
    # The digest already ran after its last scheduled time; a dead leader left a sweep "running".
    await repository.insert_run(_run("alert_digest", "schedule", "succeeded", now))
    await repository.insert_run(_run("expiration_sweep", "schedule", "running", now - timedelta(minutes=5)))
    daily = {"ROSTER_SCHEDULE_EXPIRATION_SWEEP": "15 2 * * *", "ROSTER_SCHEDULE_ALERT_DIGEST": "0 7 * * *"}

    worker = Worker(database, tmp_path / "first.log", **daily)
    workers.append(worker)
    await until(lambda: "catch-up done" in worker.output(), "catch-up")
    assert worker.stop() == 0, worker.output()
    orphan, made_up = await sweeps()
    assert orphan.outcome == "failed" and "abandoned" in (orphan.error or "")
    assert made_up.trigger == "catch_up" and made_up.outcome == "succeeded", made_up
    assert [run.trigger for run in await service.job_runs("alert_digest")] == ["schedule"]
    assert await service.job_runs("list_refresh") == [], "a job switched off is not caught up"

    again = Worker(database, tmp_path / "second.log", **daily)
    workers.append(again)
    await until(lambda: "catch-up done: 0" in again.output(), "the second start's catch-up")
    assert again.stop() == 0, again.output()
    assert len(await sweeps()) == 2, "made up once, not on every start"


def _run(job: str, trigger: str, outcome: str, started: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "job": job,
        "trigger": trigger,
        "started_at": started,
        "finished_at": None if outcome == "running" else started,
        "outcome": outcome,
        "counts": {},
        "error": None,
    }


def test_a_bad_schedule_stops_the_worker_before_it_starts(tmp_path: Path) -> None:
    env = suite_clock.environ(
        {"ROSTER_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}", "ROSTER_SCHEDULE_EXPIRATION_SWEEP": "every night"}
    )
    command = suite_clock.command("roster", "worker")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "ROSTER_SCHEDULE_*: 'every night': expected 5 cron fields" in result.stderr
    assert not (tmp_path / "never.db").exists(), "nothing was opened"
