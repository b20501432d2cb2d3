from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

Outcome = Literal["running", "succeeded", "failed", "cancelled"]
RunTrigger = Literal["schedule", "catch_up", "manual"]


class JobRunRead(msgspec.Struct):
    id: UUID
    job: str
    trigger: RunTrigger
    started_at: datetime
    finished_at: datetime | None
    outcome: Outcome
    #: What the job did, e.g. ``{"due": 12, "raised": 3}`` for the expiration sweep.
    counts: dict[str, int]
    error: str | None


class JobRead(msgspec.Struct):
    name: str
    description: str
    #: Cron expression, UTC (5 fields, or 6 with seconds first).
    schedule: str
    #: Whether a run missed while no worker was up is made up when a worker starts.
    catch_up: bool
    last_run: JobRunRead | None
    #: Outcome of ``last_run`` (null when the job never ran).
    outcome: Outcome | None
    next_run: datetime | None
