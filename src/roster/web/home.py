"""The workspace's home: how the roster stands, and what waits for the signed-in user's role.

Every number comes from the service the API (or the page it links to) uses: compliance counted over the
matcher's cached roster index (``compliance.service.roster_compliance``, one vectorised pass however big
the roster), hits and open alerts counted by their repositories, coverage gaps from the coverage
report. A panel is shown only to the roles the API admits to its data, and every number links to the
list it counts, filtered.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import get
from litestar.response import Template

from roster import clock
from roster.alerts import service as alerts
from roster.alerts.routes import READ_ALERTS
from roster.api.auth import READ_ROSTER, READ_SCREENING, ROLES
from roster.compliance import service as compliance
from roster.coverage import service as coverage
from roster.coverage.routes import READ_COVERAGE
from roster.keys.schemas import Role
from roster.matching.facts import reason_words
from roster.matching.index import RosterIndex
from roster.matching.service import roster_cache
from roster.reports.routes import READ_REPORTS
from roster.screening import service as screening
from roster.vocabulary import LineOfBusiness
from roster.web.page import PageRequest, query_string, render, user_of

#: "At risk within" this many days; also the coverage forecast's horizon (the API's default).
HORIZON_DAYS = compliance.AT_RISK_DAYS
LINES_OF_BUSINESS: tuple[str, ...] = LineOfBusiness.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class CoverageGap:
    line_of_business: str
    state: str
    specialty: str
    eligible_now: int

    @property
    def link(self) -> str:
        """The reviewers the cell counts today (those whose lapses empty it)."""
        params = {"line_of_business": self.line_of_business, "state": self.state, "specialty": self.specialty}
        return "/reports/coverage/reviewers" + query_string(params, at="now")


def may(role: Role, opt: dict[str, Any]) -> bool:
    return role in opt[ROLES]


#: The coverage-gap panel per roster index: (the day it was computed for, the panel). An index is
#: immutable and replaced whenever the shared roster version moves (a write through any replica, a
#: screening run, reference data), so the panel is recomputed exactly when what it counts changed.
_GAPS: weakref.WeakKeyDictionary[RosterIndex, tuple[date, tuple[dict[str, int], list[CoverageGap]]]] = (
    weakref.WeakKeyDictionary()
)


async def coverage_gaps(request: PageRequest) -> tuple[dict[str, int], list[CoverageGap]]:
    """Per line of business, the state x specialty cells losing their last eligible reviewer within the
    horizon (``loses_coverage`` of the coverage report), and the cells themselves; computed once per
    roster index and day (every line's report reads the whole roster twice: at 50,000 physicians that
    was most of the page's time)."""
    cache = roster_cache(request.app.state)
    index = (await cache.current()).index
    today = clock.today()
    kept = _GAPS.get(index)
    if kept is not None and kept[0] == today:
        return kept[1]
    per_line: dict[str, int] = {}
    gaps: list[CoverageGap] = []
    for line in LINES_OF_BUSINESS:
        report = await coverage.report(cache, line_of_business=line, as_of=today, horizon_days=HORIZON_DAYS)
        lost = [row for row in report.rows if row.loses_coverage]
        per_line[line] = len(lost)
        gaps += [CoverageGap(line, row.state, row.specialty, row.eligible_now) for row in lost]
    _GAPS[index] = (today, (per_line, gaps))
    return per_line, gaps


@get("/", opt=READ_ROSTER)
async def home(request: PageRequest) -> Template:
    from roster.web.routes import pages_for  # the navigation lives beside the router that mounts us

    user = user_of(request)
    role = user.role
    standing = await compliance.roster_compliance(roster_cache(request.app.state), horizon_days=HORIZON_DAYS)
    context: dict[str, Any] = {
        "pages": pages_for(user),
        "standing": standing,
        "reason_words": reason_words,
        "horizon_days": HORIZON_DAYS,
        "show_expirations": may(role, READ_REPORTS),
        "hits": await screening.hit_counts() if may(role, READ_SCREENING) else None,
        "alerts": await alerts.open_by_kind() if may(role, READ_ALERTS) else None,
        "coverage": await coverage_gaps(request) if may(role, READ_COVERAGE) else None,
    }
    return render(request, "home.html", **context)
