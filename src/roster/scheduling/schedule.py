"""The scheduled jobs and their cron schedules, shared by the worker and the jobs API.

Each job's body lives in its domain module and is imported lazily (:func:`load_body`), so a job
whose module is missing or broken fails on its own run, recorded in ``job_run``, and never stops
the worker or the other jobs. All schedules are in UTC.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.triggers.cron import CronTrigger

from roster.config import Settings

#: ``async def body(settings, http) -> counts``: every job body has this signature.
JobBody = Callable[[Settings, httpx.AsyncClient], Awaitable[dict[str, int]]]


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    #: ``module:function`` of the body, imported when the job runs.
    target: str
    #: Cron expression used unless ``Settings.job_schedules`` overrides it.
    default_schedule: str
    #: Whether a run missed while no worker was up is made up once when a worker starts.
    catch_up: bool
    description: str


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "expiration_sweep",
            "roster.alerts.sweep:run_sweep",
            "15 2 * * *",
            True,
            "Raise license, certification, recredentialing and IRR alerts that are due",
        ),
        JobSpec(
            "list_refresh",
            "roster.screening.refresh:refresh_lists",
            "0 4 2 * *",
            True,
            "Download the exclusion/preclusion lists and screen the roster",
        ),
        JobSpec(
            "nppes_reverify",
            "roster.nppes.service:reverify_all",
            "30 3 * * 0",
            True,
            "Re-check every roster NPI with NPPES",
        ),
        JobSpec(
            "alert_digest",
            "roster.alerts.delivery:send_digest",
            "0 7 * * *",
            True,
            "Email managers the day's open alerts",
        ),
        JobSpec(
            "webhook_delivery",
            "roster.alerts.delivery:deliver_webhooks",
            "*/5 * * * *",
            False,
            "Deliver new alerts to webhook endpoints, retrying failures",
        ),
        JobSpec(
            "assignment_clock",
            "roster.alerts.clock_sweep:run_assignment_clock",
            "*/15 * * * *",
            False,
            "Raise assignment due-soon, overdue and at-risk alerts and on-call gaps of the next 7 days",
        ),
        JobSpec(
            "education_sweep",
            "roster.alerts.clock_sweep:run_education_sweep",
            "45 2 * * *",
            True,
            "Raise policy attestation due and CME short alerts",
        ),
    )
}
#: How far back :func:`previous_fire_time` looks, widening; the last is longer than the longest period (a month).
_WINDOWS = (timedelta(minutes=1), timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=40))


class JobFailed(Exception):
    """Raised by a job body that did part of its work: the run is recorded as failed *with* its counts."""

    def __init__(self, message: str, counts: dict[str, int]) -> None:
        super().__init__(message)
        self.counts = counts


class ScheduleError(ValueError):
    """A configured schedule is not a valid cron expression, or names no job."""


#: A schedule of ``off`` switches a job off: never scheduled, never caught up; it can still be run by hand.
OFF = "off"


def schedule_of(spec: JobSpec, settings: Settings) -> str:
    return settings.job_schedules.get(spec.name, spec.default_schedule)


def parse_cron(expression: str) -> CronTrigger:
    """5 fields (crontab: minute hour day month weekday) or 6 with seconds first, in UTC.

    Weekdays follow crontab (0 or 7 = Sunday), not APScheduler's native numbering (0 = Monday).
    """
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise ScheduleError(f"{expression!r}: expected 5 cron fields (or 6 with seconds first)")
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_crontab_weekdays(weekday),
            timezone=UTC,
        )
    except ValueError as exc:
        raise ScheduleError(f"{expression!r}: {exc}") from None


_WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_weekdays(field: str) -> str:
    """Crontab weekday numbers (0 or 7 = Sunday) as names: APScheduler 3's ``from_crontab`` keeps the
    numbers but reads them with 0 = Monday, which would move every weekly job one day."""
    if field == "*" or not any(ch.isdigit() for ch in field):
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            low, _, high = span.partition("-")
            first, last = _weekday_number(low), _weekday_number(high)
        else:
            first = last = _weekday_number(span)
            if step_text:
                last = 6
        if last < first:
            raise ScheduleError(f"weekday range {span!r} runs backwards")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_WEEKDAY_NAMES[day] for day in sorted(days))


def _weekday_number(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token.lower() in _WEEKDAY_NAMES:
        return _WEEKDAY_NAMES.index(token.lower())
    raise ScheduleError(f"{token!r} is not a weekday (0-7 or sun-sat)")


def triggers(settings: Settings) -> dict[str, CronTrigger | None]:
    """Every job's trigger (None when switched off); fails on a bad or unknown configured schedule."""
    unknown = sorted(set(settings.job_schedules) - set(JOBS))
    if unknown:
        raise ScheduleError(f"schedule configured for unknown job(s) {', '.join(unknown)}; jobs are {', '.join(JOBS)}")
    return {
        name: None if schedule_of(spec, settings).lower() == OFF else parse_cron(schedule_of(spec, settings))
        for name, spec in JOBS.items()
    }


def next_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The first scheduled time strictly after ``now``."""
    return trigger.get_next_fire_time(None, now + timedelta(microseconds=1))


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The last scheduled time at or before ``now`` (within the last 40 days).

    Widening windows keep this cheap for any period: a per-second test schedule is found within
    the last minute, a monthly one within 40 days.
    """
    for window in _WINDOWS:
        latest = None
        fire = trigger.get_next_fire_time(None, now - window)
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
        if latest is not None:
            return latest
    return None


def load_body(spec: JobSpec) -> JobBody:
    """Import the job's body; raises if its module or function is missing (that run then fails)."""
    module_name, _, function = spec.target.partition(":")
    return getattr(importlib.import_module(module_name), function)
