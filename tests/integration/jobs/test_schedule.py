"""Schedules (crontab semantics in UTC), catch-up decisions, and the leader locks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from roster.config import Settings
from roster.db import close_engine, open_engine
from roster.db.engine import postgres_config
from roster.scheduling import repository, service
from roster.scheduling.leader import FileLeaderLock, PostgresLeaderLock, leader_lock, lock_path
from roster.scheduling.schedule import (
    JOBS,
    ScheduleError,
    next_fire_time,
    parse_cron,
    previous_fire_time,
    triggers,
)
from tests.conftest import TempDatabase, clean_roster, postgres_or_skip

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("15 2 * * *", NOW, datetime(2026, 3, 21, 2, 15, tzinfo=UTC)),
        ("0 4 2 * *", NOW, datetime(2026, 4, 2, 4, 0, tzinfo=UTC)),
        ("30 3 * * 0", NOW, datetime(2026, 3, 22, 3, 30, tzinfo=UTC)),  # crontab 0 = Sunday
        ("30 3 * * 7", NOW, datetime(2026, 3, 22, 3, 30, tzinfo=UTC)),  # and so is 7
        ("0 9 * * 1-5", NOW, datetime(2026, 3, 23, 9, 0, tzinfo=UTC)),  # Monday
        ("0 9 * * mon", NOW, datetime(2026, 3, 23, 9, 0, tzinfo=UTC)),
        ("0 0 * * */2", NOW, datetime(2026, 3, 21, 0, 0, tzinfo=UTC)),  # Sun, Tue, Thu, Sat
        ("*/5 * * * *", NOW, datetime(2026, 3, 20, 12, 5, tzinfo=UTC)),
        ("*/10 * * * * *", NOW, datetime(2026, 3, 20, 12, 0, 10, tzinfo=UTC)),  # seconds first
    ],
)
def test_cron_expressions_follow_crontab(expression: str, after: datetime, expected: datetime) -> None:
    assert next_fire_time(parse_cron(expression), after) == expected


@pytest.mark.parametrize(
    "expression", ["", "daily", "* * * *", "* * * * * * *", "60 * * * *", "* 24 * * *", "* * * * 8", "* * * * 5-1"]
)
def test_bad_cron_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(ScheduleError):
        parse_cron(expression)


def test_previous_fire_time_looks_back_as_far_as_the_period() -> None:
    assert previous_fire_time(parse_cron("15 2 * * *"), NOW) == datetime(2026, 3, 20, 2, 15, tzinfo=UTC)
    assert previous_fire_time(parse_cron("0 4 2 * *"), NOW) == datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    assert previous_fire_time(parse_cron("* * * * * *"), NOW) == NOW
    assert previous_fire_time(parse_cron("0 0 29 2 *"), NOW) is None, "beyond 40 days back"


def test_job_schedules_come_from_settings_and_can_be_switched_off() -> None:
    scheduled = triggers(replace(Settings(), job_schedules={"list_refresh": "0 5 1 * *", "webhook_delivery": "OFF"}))
    assert set(scheduled) == set(JOBS)
    assert scheduled["webhook_delivery"] is None
    assert next_fire_time(scheduled["list_refresh"], NOW) == datetime(2026, 4, 1, 5, 0, tzinfo=UTC)  # type: ignore[arg-type]
    with pytest.raises(ScheduleError, match="unknown job"):
        triggers(replace(Settings(), job_schedules={"expiration_swep": "0 0 * * *"}))


def test_schedules_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROSTER_SCHEDULE_EXPIRATION_SWEEP", "0 1 * * *")
    monkeypatch.setenv("ROSTER_LEIE_URL", "https://mirror.example/UPDATED.csv")
    monkeypatch.setenv("ROSTER_WORKER_LOCK_PATH", "/run/roster/worker.lock")
    settings = Settings.from_env()
    assert settings.job_schedules["expiration_sweep"] == "0 1 * * *"
    assert settings.leie_url == "https://mirror.example/UPDATED.csv"
    assert lock_path(settings) == Path("/run/roster/worker.lock")
    monkeypatch.setenv("ROSTER_LEIE_URL", "")
    assert Settings.from_env().leie_url is None


# -- catch-up decisions ------------------------------------------------------------------------


@pytest.fixture
async def database(migrated: TempDatabase) -> AsyncIterator[Settings]:
    settings = migrated.settings()
    engine = await open_engine(settings)
    await clean_roster()
    try:
        yield settings
    finally:
        await close_engine(engine)


async def ran(job: str, at: datetime, outcome: str = "succeeded") -> None:
    await repository.insert_run(
        {
            "id": uuid.uuid4(),
            "job": job,
            "trigger": "schedule",
            "started_at": at,
            "finished_at": at + timedelta(minutes=1),
            "outcome": outcome,
            "counts": {},
            "error": None,
        }
    )


async def test_nothing_ever_ran_so_every_catch_up_job_is_missed(database: Settings) -> None:
    assert set(await service.missed_jobs(database, NOW)) == {name for name, spec in JOBS.items() if spec.catch_up}
    assert "webhook_delivery" not in await service.missed_jobs(database, NOW), "a 5-minute job just runs next"


async def test_a_daily_job_is_missed_only_when_its_last_scheduled_time_has_no_success(database: Settings) -> None:
    today_0215 = datetime(2026, 3, 20, 2, 15, tzinfo=UTC)
    await ran("expiration_sweep", today_0215 - timedelta(days=1))  # yesterday's run: today's is missing
    assert "expiration_sweep" in await service.missed_jobs(database, NOW)
    await ran("expiration_sweep", today_0215 + timedelta(seconds=2), outcome="failed")
    assert "expiration_sweep" in await service.missed_jobs(database, NOW), "a failed run is made up too"
    await ran("expiration_sweep", today_0215 + timedelta(minutes=5))
    assert "expiration_sweep" not in await service.missed_jobs(database, NOW)
    assert "expiration_sweep" in await service.missed_jobs(database, NOW + timedelta(days=1))


async def test_the_monthly_refresh_is_missed_when_its_last_success_is_older_than_the_month(database: Settings) -> None:
    await ran("list_refresh", datetime(2026, 3, 2, 4, 0, 3, tzinfo=UTC))
    assert "list_refresh" not in await service.missed_jobs(database, NOW)
    assert "list_refresh" not in await service.missed_jobs(database, datetime(2026, 4, 2, 3, 59, tzinfo=UTC))
    assert "list_refresh" in await service.missed_jobs(database, datetime(2026, 4, 2, 4, 1, tzinfo=UTC))


async def test_a_job_switched_off_is_never_caught_up(database: Settings) -> None:
    settings = replace(database, job_schedules={"expiration_sweep": "off"})
    assert "expiration_sweep" not in await service.missed_jobs(settings, NOW)


async def test_orphaned_scheduled_runs_are_closed_but_manual_ones_are_not(database: Settings) -> None:
    for trigger in ("schedule", "catch_up", "manual"):
        await service.start_run(f"job_{trigger}", trigger)  # type: ignore[arg-type]
    assert await service.abandon_orphaned_runs() == 2
    outcomes = {run.job: (run.outcome, run.error) for run in await service.job_runs()}
    assert outcomes["job_manual"] == ("running", None)
    assert outcomes["job_schedule"][0] == outcomes["job_catch_up"][0] == "failed"
    assert "abandoned" in (outcomes["job_schedule"][1] or "")


# -- leader locks ------------------------------------------------------------------------------


async def test_the_file_lock_admits_one_holder_and_passes_on_release(tmp_path: Path) -> None:
    first, second = FileLeaderLock(tmp_path / "worker.lock"), FileLeaderLock(tmp_path / "worker.lock")
    assert await first.acquire() and await first.held()
    assert await first.acquire(), "re-acquiring a held lock is a no-op"
    assert not await second.acquire() and not await second.held()
    await first.release()
    assert not await first.held()
    assert await second.acquire()
    await second.release()


def test_the_sqlite_lock_file_sits_beside_the_database(tmp_path: Path) -> None:
    settings = replace(Settings(), database_url=f"sqlite:///{tmp_path / 'roster.db'}")
    lock = leader_lock(settings)
    assert isinstance(lock, FileLeaderLock) and lock.path == tmp_path / "roster.db.worker.lock"


@pytest.fixture
def postgres_url(tmp_path: Path) -> Any:
    postgres_or_skip()
    db = TempDatabase("postgres", tmp_path)
    yield db.url
    db.drop()


async def test_the_advisory_lock_admits_one_holder_and_is_lost_with_its_connection(postgres_url: str) -> None:
    first, second = PostgresLeaderLock(postgres_url), PostgresLeaderLock(postgres_url)
    try:
        assert await first.acquire() and await first.held()
        assert not await second.acquire() and not await second.held()
        # The server ends the leader's session (as when its host dies): the lock goes with it.
        admin = await asyncpg.connect(**postgres_config(postgres_url))
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND ((classid::bigint << 32) | objid::bigint) = $1",
                repository.LEADER_LOCK_KEY,
            )
        finally:
            await admin.close()
        assert not await first.held()
        assert await second.acquire() and await second.held()
        assert not await first.acquire(), "the old leader reconnects as a standby"
    finally:
        await first.release()
        await second.release()


async def test_an_unreachable_database_is_not_leadership(tmp_path: Path) -> None:
    lock = PostgresLeaderLock("postgresql://postgres@127.0.0.1:1/nowhere")
    assert not await lock.acquire() and not await lock.held()
