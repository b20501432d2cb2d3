"""``roster worker``: APScheduler 3.11 in its own process, scheduling only while it holds the leader lock.

Life of a worker: open the database and one HTTP client for every job; try the leader lock, and as
a standby retry every ``worker_standby_seconds``; as leader, start an AsyncIOScheduler (in-memory
job store, stable job ids, cron triggers from settings, ``coalesce``, ``max_instances=1``), make up
missed runs once, then check every few seconds that the lock is still ours. Losing it (database
connection gone) or a stop signal shuts the scheduler down and cancels running jobs, which record
themselves as cancelled; bodies are idempotent, so the next leader simply runs them again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from roster.config import Settings
from roster.db import close_engine, open_engine
from roster.errors import Conflict
from roster.scheduling import service
from roster.scheduling.leader import LeaderLock, leader_lock
from roster.scheduling.schedule import JOBS, triggers
from roster.sources import egress

log = logging.getLogger("jobs.worker")

#: Seconds a late run may still start (the event loop was busy, or the clock jumped): a daily job
#: an hour late is still worth running; a five-minute job is not, its next run is close.
MISFIRE_GRACE_DAILY = 3600
MISFIRE_GRACE_FREQUENT = 60
#: How often the leader checks that its lock is still held.
LEASE_CHECK_SECONDS = 2.0


class Leader:
    """One term as leader: the scheduler and the job runs it started."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, schedule: dict[str, CronTrigger | None]) -> None:
        self.settings = settings
        self.http = http
        self.schedule = schedule
        self.runs: set[asyncio.Task[None]] = set()
        self.scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1}, logger=logging.getLogger("apscheduler")
        )

    async def run_once(self, name: str) -> None:
        """One scheduled run; nothing escapes, so the scheduler never sees an error."""
        task = asyncio.current_task()
        assert task is not None
        self.runs.add(task)
        try:
            run = await service.run_job(name, self.settings, self.http, trigger="schedule")
            log.info("job %s %s %s", name, run.outcome, run.counts)
        except Conflict:
            log.info("job %s skipped: a run is already in progress", name)
        except Exception:
            log.exception("job %s could not be run (is the database reachable?)", name)
        finally:
            self.runs.discard(task)

    async def catch_up(self) -> None:
        try:
            made = await service.catch_up(self.settings, self.http)
            for run in made:
                log.info("caught up %s: %s %s", run.job, run.outcome, run.counts)
            log.info("catch-up done: %d missed run(s) made up", len(made))
        except Exception:
            log.exception("catch-up failed; the jobs still run on schedule")

    def start(self) -> None:
        for name, trigger in self.schedule.items():
            if trigger is None:
                continue  # switched off
            self.scheduler.add_job(
                self.run_once,
                trigger,
                args=[name],
                id=name,
                name=name,
                misfire_grace_time=MISFIRE_GRACE_DAILY if JOBS[name].catch_up else MISFIRE_GRACE_FREQUENT,
                replace_existing=True,
            )
        self.scheduler.start()

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)  # cancels the runs the scheduler started
        for task in list(self.runs):
            task.cancel()
        if self.runs:
            await asyncio.wait(self.runs, timeout=30)


async def lead(settings: Settings, http: httpx.AsyncClient, lock: LeaderLock, stop: asyncio.Event) -> None:
    """Schedule jobs until ``stop`` is set or the lock is lost."""
    leader = Leader(settings, http, triggers(settings))
    try:
        # Before the scheduler starts, so only runs of the dead leader are closed, never our own.
        if abandoned := await service.abandon_orphaned_runs():
            log.warning("closed %d run(s) left running by a previous leader", abandoned)
    except Exception:
        log.exception("could not close the previous leader's runs; they block their jobs until stale")
    leader.start()
    catching_up = asyncio.create_task(leader.catch_up())
    leader.runs.add(catching_up)
    catching_up.add_done_callback(leader.runs.discard)
    try:
        while not stop.is_set():
            if not await lock.held():
                log.error("leader lock lost; stopping the scheduler and waiting as a standby")
                return
            await _wait(stop, LEASE_CHECK_SECONDS)
    finally:
        await leader.stop()


async def run_worker(
    settings: Settings, stop: asyncio.Event, *, http_transport: httpx.AsyncBaseTransport | None = None
) -> None:
    triggers(settings)  # a bad schedule fails now, not when this worker becomes leader
    engine = await open_engine(settings)
    lock = leader_lock(settings)
    try:
        async with egress.http_client(settings, http_transport) as http:
            standby_logged = False
            while not stop.is_set():
                if await lock.acquire():
                    log.info("leader: scheduling %s", ", ".join(n for n, t in triggers(settings).items() if t))
                    standby_logged = False
                    await lead(settings, http, lock, stop)
                    await lock.release()
                    continue
                if not standby_logged:
                    log.info("standby: another worker holds the leader lock")
                    standby_logged = True
                await _wait(stop, settings.worker_standby_seconds)
    finally:
        await lock.release()
        await close_engine(engine)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


def main(settings: Settings) -> None:
    """Run a worker in the foreground until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # each run is logged once, below

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop)

    asyncio.run(serve())
