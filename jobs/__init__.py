"""Scheduling wiring for ``roster worker``: APScheduler setup and the leader loop (bodies live in ``roster``)."""

from jobs.worker import main, run_worker

__all__ = ["main", "run_worker"]
