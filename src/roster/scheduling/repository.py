"""Queries for job runs, and the advisory-lock statements of the worker's leader lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from roster.scheduling.tables import JobRun

#: The advisory-lock key of the scheduler leader (any fixed bigint; "roster-w" in ASCII).
LEADER_LOCK_KEY = 0x726F737465722D77


async def insert_run(row: dict[str, Any]) -> None:
    await JobRun.insert(JobRun(**row)).run()


async def finish_run(run_id: UUID, values: dict[str, Any]) -> None:
    await JobRun.update(values).where(JobRun.id == run_id).run()


async def get_run(run_id: UUID) -> dict[str, Any] | None:
    return await JobRun.select().where(JobRun.id == run_id).output(load_json=True).first().run()


async def latest_run(job: str) -> dict[str, Any] | None:
    return await (
        JobRun.select()
        .where(JobRun.job == job)
        .order_by(JobRun.started_at, ascending=False)
        .limit(1)
        .output(load_json=True)
        .first()
        .run()
    )


async def latest_success(job: str) -> dict[str, Any] | None:
    return await (
        JobRun.select()
        .where((JobRun.job == job) & (JobRun.outcome == "succeeded"))
        .order_by(JobRun.started_at, ascending=False)
        .limit(1)
        .output(load_json=True)
        .first()
        .run()
    )


async def running(job: str) -> list[dict[str, Any]]:
    """Runs of ``job`` still marked running, with their last sign of life."""
    return await (
        JobRun.select(JobRun.id, JobRun.started_at, JobRun.trigger, JobRun.alive_at)
        .where((JobRun.job == job) & (JobRun.outcome == "running"))
        .run()
    )


async def beat(run_id: UUID, at: datetime) -> None:
    await JobRun.update({JobRun.alive_at: at}).where((JobRun.id == run_id) & (JobRun.outcome == "running")).run()


async def abandon_running(values: dict[str, Any], *, triggers: tuple[str, ...] = (), silent_since: datetime) -> int:
    """Close the running runs started by ``triggers``, and any other whose last sign of life is older than
    ``silent_since``."""
    dead = JobRun.alive_at.is_null() | (JobRun.alive_at < silent_since)
    if triggers:
        dead = dead | JobRun.trigger.is_in(list(triggers))
    closed = await JobRun.update(values).where((JobRun.outcome == "running") & dead).returning(JobRun.id).run()
    return len(closed)


async def runs(job: str | None = None) -> list[dict[str, Any]]:
    query = JobRun.select().output(load_json=True).order_by(JobRun.started_at)
    if job is not None:
        query = query.where(JobRun.job == job)
    return await query.run()


async def serialize_job(job: str) -> None:
    """Postgres: hold a transaction-scoped lock per job name, so two processes cannot both pass the
    "is it running?" check before either records its run (SQLite's IMMEDIATE transaction already
    serializes writers)."""
    await JobRun.raw("SELECT pg_advisory_xact_lock(hashtext({}))", f"job_run:{job}").run()


# -- the leader lock, on the worker's own connection (not Piccolo's pool) ---------------------


async def try_leader_lock(connection: asyncpg.Connection) -> bool:
    """Session-level: held until this connection closes, which the server notices when the worker dies."""
    return bool(await connection.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY))


async def holds_leader_lock(connection: asyncpg.Connection) -> bool:
    """Whether this connection still holds the lock (False, not an error, when the connection is gone)."""
    try:
        return bool(
            await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = $1)",
                LEADER_LOCK_KEY,
                timeout=10,
            )
        )
    except Exception:  # a killed session surfaces as any of several driver errors: not confirmed = not held
        return False
