"""The worker's leader lock: only one worker schedules jobs; the others wait as standbys.

Two APScheduler instances sharing a database run every job twice (stack-notes §3), so exactly one
worker may hold the lock. Both implementations are released by the operating system or the
database server when the holder dies (``kill -9`` included), which is what lets a standby take
over without anyone cleaning up:

- Postgres: a session-level ``pg_try_advisory_lock`` on a connection of the worker's own, outside
  Piccolo's pool; it is released when that connection closes.
- SQLite: an exclusive ``fcntl.flock`` on a file beside the database; released when the process exits.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

import asyncpg

from roster.config import Settings
from roster.db.engine import postgres_config, sqlite_path
from roster.scheduling import repository

log = logging.getLogger(__name__)


class LeaderLock(Protocol):
    async def acquire(self) -> bool:
        """Try once, without waiting; True when this worker is (still) the leader."""

    async def held(self) -> bool:
        """Whether the lock is still ours (a lost database connection loses it)."""

    async def release(self) -> None: ...


class PostgresLeaderLock:
    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: asyncpg.Connection | None = None

    async def acquire(self) -> bool:
        try:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(**postgres_config(self.url), timeout=10)
            return await repository.try_leader_lock(self._connection)
        except (
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
            TimeoutError,
        ) as exc:
            log.warning("leader lock: database unreachable (%r); retrying", exc)
            await self.release()
            return False

    async def held(self) -> bool:
        return self._connection is not None and await repository.holds_leader_lock(self._connection)

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await connection.close(timeout=5)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, TimeoutError):
                connection.terminate()


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        # For an operator wondering which process leads; the lock, not the content, is what counts.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    async def held(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def lock_path(settings: Settings) -> Path:
    if settings.worker_lock_path is not None:
        return settings.worker_lock_path
    return Path(sqlite_path(settings.database_url) + ".worker.lock")


def leader_lock(settings: Settings) -> LeaderLock:
    if settings.is_sqlite:
        return FileLeaderLock(lock_path(settings))
    return PostgresLeaderLock(settings.database_url)
