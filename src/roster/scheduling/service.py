"""Running jobs: every run is recorded in ``job_run``, and no job's failure escapes its run.

The worker (``jobs/``) decides *when*; this module decides *how*: one run of a job at a time
across every process (409 for a second), the body's exception recorded as the run's error, and
catch-up of runs missed while no worker was up.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
from piccolo.engine.postgres import PostgresEngine

from roster import clock
from roster.audit import service as audit
from roster.config import Settings
from roster.db import current_engine, write_tx
from roster.errors import Conflict, FieldError, NotFound
from roster.scheduling import repository
from roster.scheduling.schedule import (
    JOBS,
    JobFailed,
    JobSpec,
    load_body,
    next_fire_time,
    previous_fire_time,
    schedule_of,
    triggers,
)
from roster.scheduling.schemas import JobRead, JobRunRead, RunTrigger

log = logging.getLogger(__name__)

#: How often a running job's process records that it is alive (``job_run.alive_at``).
HEARTBEAT = timedelta(seconds=15)
#: A run marked ``running`` whose process has been silent this long is presumed dead (killed with its
#: API server or worker): it no longer blocks its job and is closed as abandoned by the next start.
SILENT_AFTER = 4 * HEARTBEAT
_MAX_ERROR = 4000


def spec_of(name: str) -> JobSpec:
    spec = JOBS.get(name)
    if spec is None:
        raise NotFound(f"no job named {name!r}; jobs are {', '.join(JOBS)}", errors=[FieldError("name", "unknown job")])
    return spec


def run_read(row: dict[str, Any]) -> JobRunRead:
    return msgspec.convert(row, JobRunRead, strict=False)


async def start_run(name: str, trigger: RunTrigger, *, actor: str | None = None) -> dict[str, Any]:
    """Record a run as started; :class:`Conflict` when the job is already running anywhere.

    A run someone asked for (``actor``) is audited with the run it started.
    """
    now = clock.now()
    async with write_tx(roster_change=False):
        if isinstance(current_engine(), PostgresEngine):
            await repository.serialize_job(name)
        for run in await repository.running(name):
            last_sign = run["alive_at"] or run["started_at"]
            if last_sign >= now - SILENT_AFTER:
                raise Conflict(
                    f"job {name!r} is already running (run {run['id']}, started {run['started_at'].isoformat()})",
                    errors=[FieldError("name", "already running")],
                )
            log.warning("job %s: run %s abandoned (no sign of life since %s)", name, run["id"], last_sign.isoformat())
            await repository.finish_run(run["id"], _abandoned(now, since=last_sign))
        row = {
            "id": uuid.uuid4(),
            "job": name,
            "trigger": trigger,
            "started_at": now,
            "finished_at": None,
            "outcome": "running",
            "counts": {},
            "error": None,
            "alive_at": now,
        }
        await repository.insert_run(row)
        if actor is not None:
            await audit.record(
                actor=actor,
                action="run",
                entity="job_run",
                entity_id=row["id"],
                after={"job": name, "trigger": trigger},
            )
    return row


def _counts(result: object) -> dict[str, int]:
    if not isinstance(result, dict) or not all(isinstance(v, int) for v in result.values()):
        raise TypeError(f"a job body must return dict[str, int] counts, not {result!r:.200}")
    return {str(k): int(v) for k, v in result.items()}


async def run_job(
    name: str, settings: Settings, http: httpx.AsyncClient, *, trigger: RunTrigger, actor: str | None = None
) -> JobRunRead:
    """Run one job now and record it. The body's exceptions become the run's error, never the caller's.

    Raises only :class:`NotFound` (unknown job) and :class:`Conflict` (already running), both
    before anything runs. A cancelled run (worker shutting down) is recorded as ``cancelled``.
    """
    spec = spec_of(name)
    row = await start_run(name, trigger, actor=actor)
    return await _execute(spec, row, settings, http)


async def start_job(
    name: str,
    settings: Settings,
    http: httpx.AsyncClient,
    tasks: set[asyncio.Task[JobRunRead]],
    *,
    actor: str | None = None,
) -> JobRunRead:
    """Record a manual run and carry it out in the background; the caller gets the run as started.

    A re-verification of 50k NPIs at the registry's rate takes hours: no HTTP request should hold
    on that long. ``tasks`` keeps a reference to each run so the app can cancel it on shutdown
    (recorded as ``cancelled``).
    """
    spec = spec_of(name)
    row = await start_run(name, "manual", actor=actor)
    task = asyncio.create_task(_execute(spec, row, settings, http), name=f"job:{name}:{row['id']}")
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return run_read(row)


def _abandoned(now: datetime, *, since: datetime | None = None) -> dict[str, Any]:
    silent = f" (no sign of life since {since.isoformat()})" if since is not None else ""
    return {"outcome": "failed", "finished_at": now, "error": f"abandoned: the process running it stopped{silent}"}


async def _heartbeat(run_id: uuid.UUID, stop: asyncio.Event) -> None:
    """Record every :data:`HEARTBEAT` that this process still runs the job; a missed beat is retried at the next.

    It stops when told, between beats, and is never cancelled: a PostgreSQL transaction cancelled
    mid-statement can keep its pooled connection checked out for good, and the pool's close on
    shutdown then waits on it forever.
    """
    while True:
        try:
            await asyncio.wait_for(stop.wait(), HEARTBEAT.total_seconds())
            return
        except TimeoutError:
            pass
        try:
            async with write_tx(roster_change=False):
                await repository.beat(run_id, clock.now())
        except Exception:
            log.warning("job run %s: could not record its heartbeat", run_id, exc_info=True)


async def _execute(spec: JobSpec, row: dict[str, Any], settings: Settings, http: httpx.AsyncClient) -> JobRunRead:
    name = spec.name
    outcome, counts, error = "failed", {}, None
    stop = asyncio.Event()
    heartbeat = asyncio.create_task(_heartbeat(row["id"], stop), name=f"heartbeat:{name}:{row['id']}")
    try:
        try:
            counts = _counts(await load_body(spec)(settings, http))
            outcome = "succeeded"
        finally:
            stop.set()
            # Shielded: a second cancellation leaves the heartbeat to end on its own, a beat at most later.
            await asyncio.shield(heartbeat)
    except JobFailed as exc:
        log.warning("job %s failed: %s", name, exc)
        counts, error = _counts(exc.counts), str(exc)[:_MAX_ERROR]
    except Exception as exc:
        log.exception("job %s failed", name)
        error = "".join(traceback.format_exception_only(exc)).strip()[:_MAX_ERROR]
    except BaseException:
        outcome, error = "cancelled", "cancelled before it finished (worker stopped)"
        await _finish(row, outcome, counts, error)
        raise
    return await _finish(row, outcome, counts, error)


async def _finish(row: dict[str, Any], outcome: str, counts: dict[str, int], error: str | None) -> JobRunRead:
    values = {"finished_at": clock.now(), "outcome": outcome, "counts": counts, "error": error}
    async with write_tx(roster_change=False):
        await repository.finish_run(row["id"], values)
    return run_read({**row, **values})


async def abandon_orphaned_runs() -> int:
    """Close the runs a dead process left ``running``, so they stop blocking their jobs.

    Called by a worker that has just taken the leader lock: the previous holder is gone, so its
    scheduled runs will never finish. A manual run belongs to an API process, which may be alive: it
    is closed only once silent for :data:`SILENT_AFTER` (its API server was killed).
    """
    now = clock.now()
    async with write_tx(roster_change=False):
        return await repository.abandon_running(
            _abandoned(now), triggers=("schedule", "catch_up"), silent_since=now - SILENT_AFTER
        )


async def missed_jobs(settings: Settings, now: datetime) -> list[str]:
    """Catch-up jobs whose latest scheduled time has no successful run since: missed while no worker
    was up, or failed. A job that never ran at all counts as missed."""
    missed = []
    for name, trigger in triggers(settings).items():
        if trigger is None or not JOBS[name].catch_up:
            continue
        scheduled = previous_fire_time(trigger, now)
        if scheduled is None:
            continue
        last = await repository.latest_success(name)
        if last is None or last["started_at"] < scheduled:
            missed.append(name)
    return missed


async def catch_up(settings: Settings, http: httpx.AsyncClient) -> list[JobRunRead]:
    """Run each missed job once (called by the worker when it becomes leader)."""
    made = []
    for name in await missed_jobs(settings, clock.now()):
        try:
            made.append(await run_job(name, settings, http, trigger="catch_up"))
        except Conflict:
            log.info("catch-up of %s skipped: it is already running", name)
    return made


async def list_jobs(settings: Settings) -> list[JobRead]:
    now = clock.now()
    jobs = []
    for name, trigger in triggers(settings).items():
        spec = JOBS[name]
        last = await repository.latest_run(name)
        last_run = run_read(last) if last is not None else None
        jobs.append(
            JobRead(
                name=name,
                description=spec.description,
                schedule=schedule_of(spec, settings),
                catch_up=spec.catch_up,
                last_run=last_run,
                outcome=last_run.outcome if last_run else None,
                next_run=next_fire_time(trigger, now) if trigger is not None else None,
            )
        )
    return jobs


async def job_runs(name: str | None = None) -> list[JobRunRead]:
    """Every recorded run, oldest first (operators' and tests' view of the log)."""
    return [run_read(row) for row in await repository.runs(name)]
