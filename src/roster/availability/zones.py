"""IANA time zone names: which are accepted, and the zone of a name. Pure, no clock.

A zone is accepted when the tz database this process reads (the system's, or the ``tzdata``
package) has it, except the aliases that name no place (``localtime``, ``posixrules``, ``Factory``):
the service must mean the same instant whatever machine it runs on.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from msgspec import Meta

#: Names in some tz databases that stand for the machine's own setting or for nothing.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory", "posix/Factory", "right/Factory"})

TimeZoneName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$",
        description="IANA time zone name",
        examples=["America/Chicago"],
    ),
]


@cache
def known_zones() -> frozenset[str]:
    return frozenset(name for name in available_timezones() if name not in _NOT_PLACES)


def zone_problem(name: str) -> str | None:
    """Why ``name`` is not an accepted IANA zone, or None."""
    if name in known_zones():
        return None
    return f"{name!r} is not an IANA time zone name (e.g. America/New_York)"


@cache
def zone(name: str) -> ZoneInfo:
    """The zone of an accepted name (``ValueError`` otherwise)."""
    problem = zone_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return ZoneInfo(name)
