"""The suite's clock: noon UTC on the day the run starts, ticking at the wall clock's speed.

A run that crosses midnight would otherwise see two "todays": dates a test module computed at
import against the service's own after midnight (a CI run once failed exactly so). Processes the
suite starts (workers, concurrent sweepers) run on the same clock, through ``command`` or
``follow``, so times they write compare with the test's own.
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import time_machine

#: Seconds added to the wall clock; set by the first process and inherited by its children.
SHIFT = "ROSTER_TEST_CLOCK_SHIFT"
ROOT = Path(__file__).resolve().parents[1]


def _wall() -> datetime:
    if time_machine.escape_hatch.is_travelling():
        return time_machine.escape_hatch.datetime.datetime.now(UTC)
    return datetime.now(UTC)


def follow() -> None:
    """Put this process on the suite's clock (idempotent: the shift is chosen once per run)."""
    if time_machine.escape_hatch.is_travelling():
        return
    now = _wall()
    if SHIFT not in os.environ:
        os.environ[SHIFT] = str((datetime.combine(now.date(), time(12), UTC) - now).total_seconds())
    time_machine.travel(now + timedelta(seconds=float(os.environ[SHIFT])), tick=True).start()


def command(module: str, *args: str) -> list[str]:
    """``python -m module args`` on the suite's clock."""
    return [sys.executable, "-m", "tests.suite_clock", module, *args]


def environ(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ours (with the shift), the project root importable, and overrides."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **(overrides or {})}


if __name__ == "__main__":
    follow()
    runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
