"""The managers' daily alert digest: one email, plain text and HTML, most urgent first.

Pure: the caller passes the alerts and the time; nothing here reads the clock or the database.
Urgency comes from an alert's kind and threshold (rules.md §3): what has already happened (an
expiry, a lapse, an overdue date, an exclusion or preclusion hit, a deactivated NPI) comes first,
then what falls due within 7, 30 and 60 to 90 days.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from uuid import UUID

#: Digest sections in the order they are read: (key, heading).
URGENCIES: tuple[tuple[str, str], ...] = (
    ("now", "Act now: expired, lapsed, overdue, excluded or precluded"),
    ("7", "Due within 7 days"),
    ("30", "Due within 30 days"),
    ("90", "Due within 60 to 90 days"),
)
_RANK = {key: rank for rank, (key, _) in enumerate(URGENCIES)}

#: Kinds that report something that has already happened, whatever their threshold label says.
_HAPPENED = frozenset({"license_expired", "certification_lapsed", "exclusion_hit", "preclusion_hit", "npi_deactivated"})
#: A countdown threshold starts with its number of days (``30``, ``30d``, ``30d@20270131``); any other
#: label (``overdue``, ``expired``, ``not_meeting``) means the date has passed.
_DAYS = re.compile(r"^(\d+)(?![\d])")

KIND_TITLES = {
    "license_expiring": "License expiring",
    "license_expired": "License expired",
    "certification_expiring": "Board certification expiring",
    "certification_lapsed": "Board certification lapsed",
    "exclusion_hit": "Exclusion list hit",
    "preclusion_hit": "CMS Preclusion List hit",
    "npi_deactivated": "NPI deactivated",
    "recredentialing_due": "Recredentialing due",
    "irr_due": "Inter-rater reliability test due",
    "assignment_due_soon": "Case due soon",
    "assignment_overdue": "Case past its turnaround clock",
    "assignment_at_risk": "Case at risk: reviewer cannot meet the due time",
    "oncall_gap": "On-call gap",
    "policy_attestation_due": "Coverage-policy attestation due",
    "cme_short": "CME cycle projected short",
}


def threshold_days(threshold: str) -> int | None:
    match = _DAYS.match(threshold)
    return int(match.group(1)) if match else None


def urgency(kind: str, threshold: str) -> str:
    """The digest section of an alert: ``now``, ``7``, ``30`` or ``90`` (see :data:`URGENCIES`)."""
    days = threshold_days(threshold)
    if kind in _HAPPENED or days is None:
        return "now"
    if days <= 7:
        return "7"
    if days <= 30:
        return "30"
    return "90"


@dataclass(frozen=True, slots=True)
class DigestItem:
    alert_id: UUID
    kind: str
    threshold: str
    due_on: date | None
    created_at: datetime
    physician_name: str | None = None
    npi: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def urgency(self) -> str:
        return urgency(self.kind, self.threshold)

    def sort_key(self) -> tuple[Any, ...]:
        return (_RANK[self.urgency], self.due_on or date.max, self.kind, self.physician_name or "", str(self.alert_id))


def most_urgent(items: Iterable[DigestItem], limit: int) -> tuple[list[DigestItem], int]:
    """The ``limit`` most urgent items, and how many were left for the next digest."""
    ordered = sorted(items, key=DigestItem.sort_key)
    return ordered[:limit], max(len(ordered) - limit, 0)


def _title(item: DigestItem) -> str:
    title = KIND_TITLES.get(item.kind, item.kind.replace("_", " ").capitalize())
    days = threshold_days(item.threshold)
    if days is not None and item.kind not in _HAPPENED:
        return f"{title} in {days} days"
    return title


def _who(item: DigestItem) -> str:
    if item.physician_name is None:
        return "(no physician)"
    return f"{item.physician_name} (NPI {item.npi})" if item.npi else item.physician_name


def _facts(item: DigestItem) -> str:
    parts = [f"due {item.due_on.isoformat()}"] if item.due_on else []
    parts += [
        f"{key.replace('_', ' ')}: {value}" for key, value in sorted(item.detail.items()) if value not in (None, "")
    ]
    return "; ".join(parts)


def _sections(items: Sequence[DigestItem]) -> list[tuple[str, list[DigestItem]]]:
    groups: dict[str, list[DigestItem]] = {key: [] for key, _ in URGENCIES}
    for item in sorted(items, key=DigestItem.sort_key):
        groups[item.urgency].append(item)
    return [(heading, groups[key]) for key, heading in URGENCIES if groups[key]]


def subject(items: Sequence[DigestItem], day: date) -> str:
    now = sum(1 for item in items if item.urgency == "now")
    noun = "alert" if len(items) == 1 else "alerts"
    urgent = f", {now} need action now" if now else ""
    return f"Roster: {len(items)} new {noun}{urgent} ({day.isoformat()})"


def plain_text(items: Sequence[DigestItem], day: date, left_over: int = 0) -> str:
    lines = [f"Roster alert digest for {day.isoformat()}: {len(items)} new open alerts.", ""]
    for heading, group in _sections(items):
        lines.append(f"{heading.upper()} ({len(group)})")
        for item in group:
            facts = _facts(item)
            lines.append(f"  - {_title(item)}: {_who(item)}" + (f" - {facts}" if facts else ""))
        lines.append("")
    if left_over:
        lines += [f"{left_over} more open alerts will follow in the next digest.", ""]
    lines.append("Review and acknowledge them in Roster (GET /api/v1/alerts?status=open).")
    return "\n".join(lines) + "\n"


def html_body(items: Sequence[DigestItem], day: date, left_over: int = 0) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>Roster alert digest</title></head><body>',
        f"<p>Roster alert digest for {esc(day.isoformat())}: {len(items)} new open alerts.</p>",
    ]
    for heading, group in _sections(items):
        parts.append(f"<h2>{esc(heading)} ({len(group)})</h2>")
        parts.append("<ul>")
        for item in group:
            facts = _facts(item)
            parts.append(
                f"<li><strong>{esc(_title(item))}</strong>: {esc(_who(item))}"
                + (f" &mdash; {esc(facts)}" if facts else "")
                + "</li>"
            )
        parts.append("</ul>")
    if left_over:
        parts.append(f"<p>{left_over} more open alerts will follow in the next digest.</p>")
    parts.append("<p>Review and acknowledge them in Roster (<code>GET /api/v1/alerts?status=open</code>).</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def compose(
    items: Sequence[DigestItem], *, sender: str, recipient: str, now: datetime, left_over: int = 0
) -> EmailMessage:
    """One multipart/alternative message: the plain text first, the HTML as the richer alternative."""
    day = now.date()
    message = EmailMessage()
    message["Subject"] = subject(items, day)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(now)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("roster-digest", domain=domain)
    message.set_content(plain_text(items, day, left_over))
    message.add_alternative(html_body(items, day, left_over), subtype="html")
    return message
