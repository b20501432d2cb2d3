"""The credentialing file and reviewer education (rules.md §6): pure functions of facts and a date.

No I/O and no clock: every function takes the date it judges at, so an audit can replay a decision, a
month of monitoring or a CME cycle exactly as it stood. The windows each element must be verified in
are data (``fixtures/verification_windows.csv``, one citation per row), read by :func:`load_windows`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args
from uuid import UUID

import msgspec

from roster.compliance.dates import add_months
from roster.compliance.facts import CertificationFact, CompliancePolicy, LicenseFact, ScreeningFact
from roster.compliance.rules import (
    COMPLIANCE_REASONS,
    SOURCE_CHECKS,
    certification_is_current,
    check_screening,
    license_is_valid,
    license_miss,
    recredentialing_due,
)

Element = Literal[
    "license",
    "board_certification",
    "work_history",
    "malpractice_history",
    "sanctions",
    "dea_cds",
    "education",
    "attestation",
]
ELEMENTS: tuple[str, ...] = get_args(Element)
Outcome = Literal["verified", "discrepancy", "not_found"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
DecisionKind = Literal["initial", "recredentialing"]
DecisionOutcome = Literal["approved", "denied", "deferred"]
#: ``always``: every file needs it; ``if_held``: only a physician who holds one (DEA/CDS registration).
Required = Literal["always", "if_held"]
#: ``within_days``: verified at most ``window_days`` before the decision; ``once``: verified at any time before.
WindowRule = Literal["within_days", "once"]

_F = TypeVar("_F", LicenseFact, CertificationFact)

DEFAULT_WINDOWS_PATH = Path(__file__).resolve().parents[3] / "fixtures" / "verification_windows.csv"
_COLUMNS = ("element", "required", "rule", "window_days", "citation")


@dataclass(frozen=True, slots=True)
class Window:
    """How recent an element's verification must be at the decision (one row of the windows table)."""

    element: str
    required: str
    rule: str
    window_days: int | None
    citation: str

    def accepts(self, verified_on: date, decided_on: date) -> bool:
        """A verification on ``verified_on`` counts for a decision on ``decided_on``."""
        if verified_on > decided_on:
            return False
        return self.rule == "once" or (decided_on - verified_on).days <= (self.window_days or 0)


class WindowTableError(ValueError):
    """The windows table is refused; the message names the row (the header is row 1) and column."""


def load_windows(path: Path | str = DEFAULT_WINDOWS_PATH) -> dict[str, Window]:
    """The windows table, one row per element, every element present exactly once."""
    source = Path(path)
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise WindowTableError(f"{source.name} row 1: the header must be {','.join(_COLUMNS)}")
        windows: dict[str, Window] = {}
        for row_number, row in enumerate(reader, start=2):

            def refuse(column: str, message: str, row_number: int = row_number) -> WindowTableError:
                return WindowTableError(f"{source.name} row {row_number}, column {column}: {message}")

            element, required, rule = row["element"], row["required"], row["rule"]
            if element not in ELEMENTS:
                raise refuse("element", f"{element!r} is not one of {', '.join(ELEMENTS)}")
            if element in windows:
                raise refuse("element", f"{element} appears twice")
            if required not in get_args(Required):
                raise refuse("required", f"{required!r} is not one of {', '.join(get_args(Required))}")
            if rule not in get_args(WindowRule):
                raise refuse("rule", f"{rule!r} is not one of {', '.join(get_args(WindowRule))}")
            days_text = (row["window_days"] or "").strip()
            if rule == "within_days":
                if not days_text.isdigit() or int(days_text) < 1:
                    raise refuse(
                        "window_days", f"a within_days row needs a whole number of days >= 1, not {days_text!r}"
                    )
                days: int | None = int(days_text)
            elif days_text:
                raise refuse("window_days", "a once row has no window")
            else:
                days = None
            if not (row["citation"] or "").strip():
                raise refuse("citation", "every window cites its source")
            windows[element] = Window(element, required, rule, days, row["citation"].strip())
    missing = [element for element in ELEMENTS if element not in windows]
    if missing:
        raise WindowTableError(f"{source.name}: no row for {', '.join(missing)}")
    return windows


# -- decisions -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    element: str
    verified_on: date
    outcome: str


@dataclass(frozen=True, slots=True)
class LateElement:
    """A required element with no verification inside its window (``verified_on``: the latest one
    dated on or before the decision, or None)."""

    element: str
    verified_on: date | None
    window_days: int | None


@dataclass(frozen=True, slots=True)
class Timeliness:
    timely: bool
    late_elements: tuple[LateElement, ...]
    #: Recredentialing only: the day the cycle ran out (36 months after the previous approval, no grace).
    cycle_due_on: date | None = None
    #: False when a recredentialing decision came on or after ``cycle_due_on``, or had no approval before it.
    cycle_met: bool = True


def judge_decision(
    kind: str,
    decided_on: date,
    verifications: Iterable[Verification],
    windows: Mapping[str, Window],
    *,
    previous_approval: date | None = None,
    holds: frozenset[str] = frozenset(),
) -> Timeliness:
    """Whether a credentialing decision on ``decided_on`` rested on timely verifications.

    Every outcome counts as a verification made (a ``discrepancy`` was found at the source, a
    ``not_found`` was looked for there): timeliness asks when the source was consulted; what it answered is
    the committee's judgement. A verification dated after the decision is not one it relied on.
    ``holds``: the ``if_held`` elements the physician has (``dea_cds``)."""
    latest: dict[str, date] = {}
    for verification in verifications:
        if verification.verified_on <= decided_on:
            known = latest.get(verification.element)
            if known is None or verification.verified_on > known:
                latest[verification.element] = verification.verified_on
    late = []
    for element in ELEMENTS:
        window = windows[element]
        if window.required == "if_held" and element not in holds:
            continue
        verified_on = latest.get(element)
        if verified_on is None or not window.accepts(verified_on, decided_on):
            late.append(LateElement(element, verified_on, window.window_days))
    cycle_due_on, cycle_met = None, True
    if kind == "recredentialing":
        if previous_approval is None or previous_approval > decided_on:
            cycle_met = False
        else:
            cycle_due_on = recredentialing_due(previous_approval)
            cycle_met = decided_on < cycle_due_on
    return Timeliness(not late and cycle_met, tuple(late), cycle_due_on, cycle_met)


def held_elements(verifications: Iterable[Verification], windows: Mapping[str, Window]) -> frozenset[str]:
    """The ``if_held`` elements (DEA/CDS) a physician has: any verification of one on file shows a
    registration exists, so every file of the physician must show it (``holds`` of :func:`judge_decision`)."""
    seen = {verification.element for verification in verifications}
    return frozenset(e for e, window in windows.items() if window.required == "if_held" and e in seen)


@dataclass(frozen=True, slots=True)
class Decision:
    decided_on: date
    decision: str


def credentialed_on(decisions: Iterable[Decision]) -> date | None:
    """The date of the latest approving decision (what ``credentialed_on`` is derived from)."""
    return max((d.decided_on for d in decisions if d.decision == "approved"), default=None)


def previous_approval(decisions: Iterable[Decision], before: date) -> date | None:
    """The latest approval strictly before ``before``: the start of the cycle a recredentialing closes."""
    return max((d.decided_on for d in decisions if d.decision == "approved" and d.decided_on < before), default=None)


# -- ongoing monitoring --------------------------------------------------------------------------


Month = tuple[int, int]


def months_between(start: date, end: date) -> list[Month]:
    """Every calendar month that ``[start, end]`` touches, in order."""
    if end < start:
        return []
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def month_label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


@dataclass(frozen=True, slots=True)
class MonitoringRun:
    """A screening run of ``source``: the day it ran and the day its snapshot was loaded."""

    source: str
    ran_on: date
    snapshot_loaded_on: date


@dataclass(frozen=True, slots=True)
class Monitored:
    """A physician on the roster from ``joined_on`` until ``left_on`` (exclusive; None while active)."""

    physician_id: UUID
    joined_on: date
    left_on: date | None = None

    def on_roster_in(self, month: Month) -> bool:
        first = date(month[0], month[1], 1)
        last = add_months(first, 1) - timedelta(days=1)
        return self.joined_on <= last and (self.left_on is None or self.left_on > first)


@dataclass(frozen=True, slots=True)
class MonitoringGap:
    physician_id: UUID
    source: str
    month: str


def monitored_months(runs: Iterable[MonitoringRun]) -> dict[str, set[Month]]:
    """Per source, the months that have a run against a snapshot loaded in that same month (a run
    against last month's list does not show this month's list was checked)."""
    covered: dict[str, set[Month]] = {}
    for run in runs:
        month = (run.ran_on.year, run.ran_on.month)
        if (run.snapshot_loaded_on.year, run.snapshot_loaded_on.month) == month:
            covered.setdefault(run.source, set()).add(month)
    return covered


def monitoring_gaps(
    period_start: date,
    period_end: date,
    physicians: Iterable[Monitored],
    runs: Iterable[MonitoringRun],
    sources: Sequence[str],
) -> list[MonitoringGap]:
    """Each (physician, required list, month of the period) with no proof of monitoring, for the months the
    physician was on the roster; ordered by physician, source, month. A run screens the whole roster, so a
    month a source has a qualifying run covers everyone on the roster then."""
    months = months_between(period_start, period_end)
    covered = monitored_months(runs)
    gaps = []
    for physician in sorted(physicians, key=lambda p: str(p.physician_id)):
        present = [month for month in months if physician.on_roster_in(month)]
        for source in sources:
            done = covered.get(source, set())
            gaps.extend(
                MonitoringGap(physician.physician_id, source, month_label(month))
                for month in present
                if month not in done
            )
    return gaps


# -- IRR, policy attestations, CME ----------------------------------------------------------------


def irr_passed(score: float, pass_mark: float) -> bool:
    """A session passes at or above its pass mark (both in percent)."""
    return score >= pass_mark


def irr_passed_on(sessions: Iterable[tuple[date, bool]]) -> date | None:
    """The latest passed session's date (what ``irr_passed_on`` is derived from)."""
    return max((taken_on for taken_on, passed in sessions if passed), default=None)


@dataclass(frozen=True, slots=True)
class PolicyUpdate:
    id: UUID
    effective_on: date
    attest_by: date


def overdue_attestations(updates: Iterable[PolicyUpdate], attested: frozenset[UUID], as_of: date) -> list[UUID]:
    """The updates past their attest-by date (``as_of`` after it) that the reviewer has not attested."""
    return [
        u.id
        for u in sorted(updates, key=lambda u: (u.attest_by, str(u.id)))
        if u.attest_by < as_of and u.id not in attested
    ]


def attestations_due(
    updates: Iterable[PolicyUpdate], attested: frozenset[UUID], as_of: date, horizon_days: int
) -> list[UUID]:
    """The unattested updates whose attest-by date falls within ``horizon_days`` from ``as_of`` (not yet past)."""
    until = as_of + timedelta(days=horizon_days)
    return [
        u.id
        for u in sorted(updates, key=lambda u: (u.attest_by, str(u.id)))
        if as_of <= u.attest_by <= until and u.id not in attested
    ]


@dataclass(frozen=True, slots=True)
class CmeRequirement:
    """``hours`` of CME per cycle of ``cycle_months``, cycles counted from ``anchor`` (one row of the table:
    the organization's default, ``state`` None, or a state's)."""

    hours: float
    cycle_months: int
    anchor: date
    state: str | None = None


@dataclass(frozen=True, slots=True)
class CmeStanding:
    cycle_start: date
    cycle_end: date  # exclusive
    required_hours: float
    earned_hours: float
    projected_hours: float

    @property
    def short(self) -> bool:
        """At the rate so far, the cycle will end short of its requirement."""
        return self.projected_hours < self.required_hours


def cme_cycle(requirement: CmeRequirement, as_of: date) -> tuple[date, date]:
    """The cycle ``[start, end)`` containing ``as_of``."""
    months = (as_of.year - requirement.anchor.year) * 12 + (as_of.month - requirement.anchor.month)
    k = months // requirement.cycle_months
    start = add_months(requirement.anchor, k * requirement.cycle_months)
    if start > as_of:
        k -= 1
        start = add_months(requirement.anchor, k * requirement.cycle_months)
    end = add_months(requirement.anchor, (k + 1) * requirement.cycle_months)
    if end <= as_of:
        start, end = end, add_months(requirement.anchor, (k + 2) * requirement.cycle_months)
    return start, end


def cme_standing(requirement: CmeRequirement, credits: Iterable[tuple[date, float]], as_of: date) -> CmeStanding:
    """Hours earned in the current cycle up to ``as_of`` and projected to its end at the rate so far
    (hours per elapsed day, the cycle's first day counting as one)."""
    start, end = cme_cycle(requirement, as_of)
    earned = sum(hours for completed_on, hours in credits if start <= completed_on <= as_of)
    elapsed = (as_of - start).days + 1
    total = (end - start).days
    projected = earned * total / elapsed
    return CmeStanding(start, end, requirement.hours, earned, projected)


def cme_requirement_for(requirements: Sequence[CmeRequirement], states: Iterable[str]) -> CmeRequirement | None:
    """The strictest applicable row: the most hours per month among the physician's license states' rows,
    else the organization's default (the row without a state)."""
    held = set(states)
    by_state = [r for r in requirements if r.state is not None and r.state in held]
    if by_state:
        return max(by_state, key=lambda r: (r.hours / r.cycle_months, r.hours, r.state or ""))
    return next((r for r in requirements if r.state is None), None)


DEFAULT_CME_PATH = DEFAULT_WINDOWS_PATH.with_name("cme_requirements.csv")
_CME_COLUMNS = ("state", "hours", "cycle_months", "anchor", "citation")


def load_cme_requirements(path: Path | str = DEFAULT_CME_PATH) -> list[CmeRequirement]:
    """The CME table: at most one row per state and exactly one default row (no state)."""
    source = Path(path)
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _CME_COLUMNS:
            raise WindowTableError(f"{source.name} row 1: the header must be {','.join(_CME_COLUMNS)}")
        rows: list[CmeRequirement] = []
        for row_number, row in enumerate(reader, start=2):
            where = f"{source.name} row {row_number}"
            state = (row["state"] or "").strip() or None
            try:
                hours, months = float(row["hours"]), int(row["cycle_months"])
                anchor = date.fromisoformat(row["anchor"].strip())
            except ValueError as exc:
                raise WindowTableError(f"{where}: {exc}") from None
            if hours <= 0 or months <= 0:
                raise WindowTableError(f"{where}: hours and cycle_months must be positive")
            if any(r.state == state for r in rows):
                raise WindowTableError(f"{where}, column state: {state or 'the default'} appears twice")
            rows.append(CmeRequirement(hours, months, anchor, state))
    if not any(r.state is None for r in rows):
        raise WindowTableError(f"{source.name}: no default row (one without a state)")
    return rows


# -- UM decision audit ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HitAt:
    """A screening hit on the reviewer as it stood over time: raised at ``created_at``, decided (``status``)
    at ``decided_at`` or still pending."""

    source: str
    created_at: datetime
    decided_at: datetime | None
    status: str


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _instant(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _day(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _recorded(value: Any, kind: type[_F]) -> _F | None:
    """One recorded fact read back as the rules' type; anything malformed reads as absent."""
    try:
        return msgspec.convert(value, kind, strict=False)
    except (msgspec.ValidationError, TypeError):
        return None


def evidence_as_of(evidence: Mapping[str, Any], assigned_at: datetime) -> date:
    """The day the assignment's eligibility was judged at: the evidence's ``as_of``, else the assignment's
    UTC day (as the service records it)."""
    return _day(evidence.get("as_of")) or assigned_at.astimezone(UTC).date()


def um_decision_reasons(
    evidence: Mapping[str, Any],
    *,
    assigned_at: datetime,
    required_license_state: str | None,
    hits: Iterable[HitAt],
    policy: CompliancePolicy,
) -> list[str]:
    """Why an assignment's recorded evidence does not show a reviewer eligible when assigned (empty: it does).

    Judged from what the evidence holds, at its ``as_of`` day, with the compliance rules' own reason codes:

    * ``license``: the license relied on must be valid that day (active, unrestricted, issued, unexpired:
      else ``license_expired`` or ``license_restricted``) and, when the case requires one in a state
      (``required_license_state``), be in it; none recorded, or another state's, is ``no_license_in_state``.
    * ``certifications``: the certifications relied on; none recorded is ``no_board_certification``, none
      current that day ``certification_lapsed``.
    * ``screening``: for each list ``policy`` requires, the snapshot the reviewer was screened against must
      be recorded and fresh that day (else ``screening_stale``); the reviewer's hits as they stood at
      ``assigned_at`` decide whether that screening was clear (a confirmed hit: ``excluded_oig``,
      ``excluded_sam``, ``precluded_cms``; one raised but undecided: ``screening_pending``).

    The rest of eligibility (credentialing dates, IRR, capacity, schedules) is not part of the evidence and
    is not judged here. A malformed piece of evidence reads as missing: the audit lists it, never fails.
    """
    as_of = evidence_as_of(evidence, assigned_at)
    reasons: set[str] = set()
    license = _recorded(evidence.get("license"), LicenseFact)
    if license is None or (required_license_state is not None and license.state != required_license_state):
        reasons.add("no_license_in_state")
    elif not license_is_valid(license, as_of):
        reasons.add(license_miss([license], as_of))
    certs = [c for v in evidence.get("certifications") or () if (c := _recorded(v, CertificationFact)) is not None]
    if not certs:
        reasons.add("no_board_certification")
    elif not any(certification_is_current(c, as_of) for c in certs):
        reasons.add("certification_lapsed")
    screened: dict[str, date] = {}
    for ref in evidence.get("screening") or ():
        loaded = _instant(ref.get("loaded_at")) if isinstance(ref, Mapping) else None
        if loaded is not None and isinstance(ref.get("source"), str):
            day = loaded.astimezone(UTC).date()
            screened[ref["source"]] = max(day, screened.get(ref["source"], day))
    pending: dict[str, int] = {}
    confirmed: dict[str, int] = {}
    for hit in hits:
        if hit.created_at > assigned_at:
            continue
        if hit.decided_at is None or hit.decided_at > assigned_at:
            pending[hit.source] = pending.get(hit.source, 0) + 1
        elif hit.status == "confirmed":
            confirmed[hit.source] = confirmed.get(hit.source, 0) + 1
    for source in SOURCE_CHECKS:
        fact = ScreeningFact(source, screened.get(source), pending.get(source, 0), confirmed.get(source, 0))
        check = check_screening(source, fact, as_of, policy)
        if not check.ok and check.reason is not None:
            reasons.add(check.reason)
    return [reason for reason in COMPLIANCE_REASONS if reason in reasons]
