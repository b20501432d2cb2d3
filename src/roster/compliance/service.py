"""Assemble a physician's facts (now, or as recorded at a past date) and apply the rules."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from uuid import UUID

import msgspec
import numpy as np

from roster import clock
from roster.certifications import repository as certifications
from roster.compliance.facts import CertificationFact, CompliancePolicy, LicenseFact, PhysicianFacts
from roster.compliance.rules import COMPLIANCE_REASONS, SOURCE_CHECKS, compliance_checks, failing_reasons
from roster.credentialing import service as credentialing
from roster.credentialing.repository import unattested_attest_by
from roster.credentialing.rules import CmeRequirement
from roster.db.page_cache import cached_value_at
from roster.errors import InvalidInput, NotFound
from roster.history import service as history
from roster.history.repository import versions as history_versions
from roster.licenses import repository as licenses
from roster.matching.index import BIT, DayView, RosterIndex
from roster.physicians import repository as physicians
from roster.physicians.schemas import ComplianceReport
from roster.physicians.service import Membership
from roster.screening.facts import screening_facts

if TYPE_CHECKING:
    from roster.matching.service import RosterCache, RosterState

T = TypeVar("T")

#: "At risk": compliant today, not in this many days (the workspace's home and roster filter).
AT_RISK_DAYS = 90
#: A physician's standing today, as the home page counts it and the roster filters by it.
STANDINGS = ("compliant", "at_risk", "non_compliant")
#: The checks of the screening lists: their date is the list's freshness, no deadline.
SCREENING_CHECKS = frozenset(check for check, _ in SOURCE_CHECKS.values())

#: The dates a decision or forecast can be asked about (keeps date arithmetic away from ``date.max``).
EARLIEST_AS_OF = date(1900, 1, 1)
LATEST_AS_OF = date(2999, 12, 31)


def checked_as_of(as_of: date | None, field: str = "as_of") -> date:
    """``as_of`` or today; a date outside 1900-2999 is a 422 naming the field."""
    if as_of is None:
        return clock.today()
    if not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        raise InvalidInput.on(field, f"must be between {EARLIEST_AS_OF} and {LATEST_AS_OF}")
    return as_of


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` (UTC): a past as-of date sees everything recorded that day."""
    return datetime.combine(day + timedelta(days=1), time.min, UTC) - timedelta(microseconds=1)


def _facts(
    physician: dict[str, Any],
    lic_rows: list[dict[str, Any]],
    cert_rows: list[dict[str, Any]],
    screening: Any,
    unattested: list[date] | None = None,
) -> PhysicianFacts:
    return PhysicianFacts(
        id=UUID(str(physician["id"])),
        npi=physician["npi"],
        status=physician["status"],
        npi_status=physician["npi_status"],
        clinical_practice_start=physician["clinical_practice_start"],
        credentialed_on=physician["credentialed_on"],
        irr_passed_on=physician["irr_passed_on"],
        licenses=tuple(msgspec.convert(r, LicenseFact, strict=False) for r in lic_rows),
        certifications=tuple(msgspec.convert(r, CertificationFact, strict=False) for r in cert_rows),
        screening=screening,
        unattested_attest_by=tuple(sorted(unattested or ())),
    )


async def physician_facts(physician_id: UUID, as_of: date) -> PhysicianFacts:
    """Current records for today or a future date; the recorded history for a past date."""
    now = clock.now()
    at = end_of_day(as_of)
    if at >= now:
        physician = await physicians.get(physician_id)
        if physician is None:
            raise NotFound(f"no physician {physician_id}")
        lic_rows = await licenses.for_physician(physician_id)
        cert_rows = await certifications.for_physician(physician_id)
        at = now
    else:
        file = await history.physician_file_as_of(physician_id, at)
        if not file.get("physician"):
            if await physicians.get(physician_id) is None:
                raise NotFound(f"no physician {physician_id}")
            raise NotFound(f"physician {physician_id} was not on the roster on {as_of.isoformat()}")
        physician = msgspec.convert(file["physician"][0], dict[str, Any])
        for key in ("clinical_practice_start", "credentialed_on", "irr_passed_on"):
            physician[key] = date.fromisoformat(physician[key]) if physician[key] else None
        physician["created_at"] = datetime.fromisoformat(physician["created_at"])
        lic_rows = file.get("license", [])
        cert_rows = file.get("certification", [])
    screening = await screening_facts(physician_id, physician["created_at"], at)
    unattested = (await unattested_attest_by(at, [physician_id])).get(physician_id)
    return _facts(physician, lic_rows, cert_rows, screening, unattested)


async def report(
    physician_id: UUID,
    as_of: date | None,
    policy: CompliancePolicy,
    cme: tuple[CmeRequirement, ...] = (),
    cache: RosterCache | None = None,
) -> ComplianceReport:
    """The checks as of ``as_of``; with the CME table (``cme``), the CME cycle's standing beside them, as the
    physician's licenses and credits stood that day (informational: no check, no reason).

    Today's report, given the app's roster ``cache``, comes from the facts the roster index holds when it
    is current (as the workspace's roster shows them; the index follows every replica's writes through the
    shared roster version): no per-physician queries. While the index is behind a write, the report is
    read from the records instead of waiting for the index's refresh. It is then kept (shared, not to be
    changed) until the records' counter moves (``roster.db.page_cache``): a poll costs one read by key."""
    as_of = checked_as_of(as_of)
    if cache is None or as_of != clock.today():
        return await _report(physician_id, as_of, policy, cme, None)
    # Kept while the records stand: every write it reads from (records, screening, hit decisions,
    # attestations, CME credits) moves the records' counter, on whichever replica it commits. Both
    # counters in one read: the records' for the kept reports, the roster's for the index.
    roster, records = await history_versions()
    state = cache.fresh_for(roster)
    key = ("compliance", as_of, physician_id, policy, cme)
    return await cached_value_at(records, key, lambda: _report(physician_id, as_of, policy, cme, state))


async def _report(
    physician_id: UUID,
    as_of: date,
    policy: CompliancePolicy,
    cme: tuple[CmeRequirement, ...],
    state: RosterState | None,
) -> ComplianceReport:
    """The report, from the index's facts in ``state`` (current for the records read) or else the records."""
    if state is not None:
        standing = await _standing_in(state.index, [physician_id], policy)
        if physician_id not in standing:
            raise NotFound(f"no physician {physician_id}")
        facts, checked = standing[physician_id]
    else:
        facts = await physician_facts(physician_id, as_of)
        checked = _report_of(facts, as_of, policy)
    if cme:
        states = credentialing.cme_license_states(
            ((lic.state, lic.status, lic.expires_on) for lic in facts.licenses), as_of
        )
        recorded_by = min(end_of_day(as_of), clock.now())
        checked.cme = await credentialing.cme_standing_at(physician_id, states, cme, as_of, recorded_by)
    return checked


def _report_of(facts: PhysicianFacts, as_of: date, policy: CompliancePolicy) -> ComplianceReport:
    checks = compliance_checks(facts, as_of, policy)
    reasons = failing_reasons(checks)
    return ComplianceReport(physician_id=facts.id, as_of=as_of, compliant=not reasons, checks=checks, reasons=reasons)


async def current_standing(
    cache: RosterCache, physician_ids: Collection[UUID]
) -> dict[UUID, tuple[PhysicianFacts, ComplianceReport]]:
    """Today's facts and report of many physicians at once (a roster page), from the facts the roster
    index already holds (refreshed to the latest roster version): no query per physician. A physician
    the index has not seen yet is read with the index's own bulk loader."""
    return await _standing_in((await cache.current()).index, physician_ids, cache.policy)


async def _standing_in(
    index: RosterIndex, physician_ids: Collection[UUID], policy: CompliancePolicy
) -> dict[UUID, tuple[PhysicianFacts, ComplianceReport]]:
    from roster.matching.facts_loader import current_reviewers

    facts: list[PhysicianFacts] = []
    missing: list[UUID] = []
    for physician_id in physician_ids:
        row = index.row_of.get(physician_id)
        if row is None:
            missing.append(physician_id)
        else:
            facts.append(index.reviewers[row].compliance)
    if missing:
        facts += [r.compliance for r in await current_reviewers(clock.now(), physician_ids=missing)]
    today = clock.today()
    return {f.id: (f, _report_of(f, today, policy)) for f in facts}


def require_reason(reason: str, field: str = "reason") -> str:
    if reason not in COMPLIANCE_REASONS:
        raise InvalidInput.on(field, f"unknown reason {reason!r}: one of {', '.join(COMPLIANCE_REASONS)}")
    return reason


def _membership(index: RosterIndex, keep: np.ndarray) -> Membership:
    """The physicians of the index rows ``keep`` selects, as the smaller of the set and its complement."""
    count = int(np.count_nonzero(keep))
    share = count / index.size if index.size else 0.0
    if count <= index.size - count:
        rows, excluded = np.flatnonzero(keep), False
    else:
        rows, excluded = np.flatnonzero(~keep), True
    ids = frozenset(index.reviewers[int(i)].id for i in rows)
    return Membership(ids=ids, excluded=excluded, share=share)


#: What is derived from one roster index for a day (memberships, the expiry order), kept while the index
#: lives: an index is immutable and replaced whenever the shared roster version moves (a write through
#: any replica, a screening run, reference data), so what is kept is dropped exactly when it may change.
_PER_INDEX: weakref.WeakKeyDictionary[RosterIndex, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


def _kept(index: RosterIndex, key: tuple[Any, ...], make: Callable[[], T]) -> T:
    """What is kept for ``index`` under ``key``, made on first use."""
    kept = _PER_INDEX.get(index)
    if kept is None:
        kept = _PER_INDEX[index] = {}
    if key not in kept:
        kept[key] = make()
    return kept[key]


async def failing_today(cache: RosterCache, reason: str) -> Membership:
    """The physicians whose compliance fails today with ``reason``, over the whole roster (to filter a
    roster before it is paginated), from the roster index's reason bits (:func:`compliance_bits`)."""
    require_reason(reason)
    index = (await cache.current()).index
    today = clock.today()

    def make() -> Membership:
        return _membership(index, (compliance_bits(index.day(today)) & BIT[reason]) != 0)

    return _kept(index, ("failing", today, reason), make)


# -- the whole roster at once (the workspace's home) ---------------------------------------------


class RosterCompliance(msgspec.Struct):
    """How the whole roster stands: what ``report`` would say of each physician, counted.

    ``at_risk`` are compliant on ``as_of`` but not on ``horizon_on``, forecast as the coverage report
    forecasts (the checks with known end dates projected; screening standing carried forward, since
    lists are reloaded monthly).
    """

    as_of: date
    horizon_on: date
    total: int
    compliant: int
    at_risk: int
    non_compliant: int
    #: Per reason code (api.md order), the physicians failing it on ``as_of``; one may fail several.
    reasons: dict[str, int]


def compliance_bits(day: DayView) -> np.ndarray:
    """Every physician's failing compliance reasons on ``day`` (a ``RosterIndex.day`` view) as ``BIT``
    masks: the date's checks plus the license check, for which a valid license in any state will do."""
    return day.bits | day.licenses_for(None)[1]


class _Standing(NamedTuple):
    as_of: date
    horizon_on: date
    #: Each physician's failing reasons today (``BIT`` masks), compliant today, at risk by the horizon.
    bits: np.ndarray
    compliant: np.ndarray
    at_risk: np.ndarray


def _standing(index: RosterIndex, horizon_days: int) -> _Standing:
    """Who is compliant today and who of them is not on the horizon (see :class:`RosterCompliance`)."""
    as_of = clock.today()
    horizon = as_of + timedelta(days=horizon_days)
    now = compliance_bits(index.day(as_of))
    later = compliance_bits(index.day(horizon, screening_as_of=as_of))
    ok_now = now == 0
    return _Standing(as_of, horizon, now, ok_now, ok_now & (later != 0))


async def roster_compliance(cache: RosterCache, *, horizon_days: int = AT_RISK_DAYS) -> RosterCompliance:
    """Counts over the matcher's cached roster index (``roster.matching.service.RosterCache``): one
    vectorised pass for the whole roster, kept fresh by the shared roster version."""
    index = (await cache.current()).index
    standing = _standing(index, horizon_days)
    compliant = int(np.count_nonzero(standing.compliant))
    reasons = {reason: int(np.count_nonzero(standing.bits & bit)) for reason, bit in BIT.items()}
    return RosterCompliance(
        as_of=standing.as_of,
        horizon_on=standing.horizon_on,
        total=index.size,
        compliant=compliant,
        at_risk=int(np.count_nonzero(standing.at_risk)),
        non_compliant=index.size - compliant,
        reasons={reason: n for reason, n in reasons.items() if n},
    )


def require_standing(standing: str, field: str = "compliance") -> str:
    if standing not in STANDINGS:
        raise InvalidInput.on(field, f"unknown standing {standing!r}: one of {', '.join(STANDINGS)}")
    return standing


async def in_standing(cache: RosterCache, standing: str, *, horizon_days: int = AT_RISK_DAYS) -> Membership:
    """The physicians :func:`roster_compliance` counts under ``standing`` (``STANDINGS``), over the whole
    roster (to filter a roster before it is paginated): "compliant" today (at risk or not), "at_risk"
    (compliant today, not on the horizon) or "non_compliant" today."""
    require_standing(standing)
    index = (await cache.current()).index

    def make() -> Membership:
        found = _standing(index, horizon_days)
        keep = {"compliant": found.compliant, "at_risk": found.at_risk, "non_compliant": ~found.compliant}
        return _membership(index, keep[standing])

    return _kept(index, ("standing", clock.today(), standing, horizon_days), make)


# -- next expiry (the roster sorted by what lapses first) ----------------------------------------


def next_expiry(report: ComplianceReport) -> date | None:
    """The first end date among the report's passing checks that have a deadline: the last day a
    license, certification, recredentialing or IRR holds as the file stands (screening's date is the
    list's freshness, renewed by the monthly reload: no deadline). None: nothing passing ends."""
    ends = [c.expires_on for c in report.checks if c.ok and c.check not in SCREENING_CHECKS]
    return min((end for end in ends if end is not None), default=None)


ExpiryKey = tuple[int, str]


def expiry_sort_key(expiry: date | None, npi: str) -> ExpiryKey:
    """Soonest first, physicians with nothing ending last; NPI breaks ties (it is unique)."""
    return (LATEST_AS_OF.toordinal() + 1 if expiry is None else expiry.toordinal(), npi)


@dataclass(frozen=True, slots=True)
class ExpiryOrder:
    """The whole roster by :func:`next_expiry` today (:func:`expiry_sort_key`)."""

    ids: list[UUID]
    keys: list[ExpiryKey]
    expiries: list[date | None]
    position: dict[UUID, int]


@dataclass(slots=True)
class _Expiries:
    """Per physician: the facts the next expiry was computed from, and it (for one day)."""

    day: date
    by_id: dict[UUID, tuple[PhysicianFacts, date | None]]


#: Per roster cache (so per app and policy): every next expiry computed so far, reused while the
#: physician's facts object in the index is the same one (a roster write patches new facts objects in
#: for the physicians it touched, so a new index recomputes only theirs).
_EXPIRIES: weakref.WeakKeyDictionary[RosterCache, _Expiries] = weakref.WeakKeyDictionary()


async def expiry_order(cache: RosterCache) -> ExpiryOrder:
    """The roster index's physicians soonest next expiry first, kept per index and day."""
    index = (await cache.current()).index
    today = clock.today()
    memo = _EXPIRIES.get(cache)
    if memo is None or memo.day != today:
        memo = _EXPIRIES[cache] = _Expiries(today, {})

    def make() -> ExpiryOrder:
        known, fresh = memo.by_id, {}
        keyed = []
        for reviewer in index.reviewers:
            facts = reviewer.compliance
            seen = known.get(facts.id)
            if seen is not None and seen[0] is facts:
                expiry = seen[1]
            else:
                expiry = next_expiry(_report_of(facts, today, cache.policy))
            fresh[facts.id] = (facts, expiry)
            keyed.append((expiry_sort_key(expiry, facts.npi), facts.id, expiry))
        memo.by_id = fresh  # physicians gone from the roster are forgotten
        keyed.sort()
        ids = [pid for _, pid, _ in keyed]
        return ExpiryOrder(
            ids=ids,
            keys=[key for key, _, _ in keyed],
            expiries=[expiry for _, _, expiry in keyed],
            position={pid: i for i, pid in enumerate(ids)},
        )

    key = ("expiry", today)
    kept = _PER_INDEX.get(index, {}).get(key)
    if kept is None:
        # A day's first order reads every physician's checks (about a second at 50,000): off the event loop.
        built = await asyncio.to_thread(make)
        kept = _kept(index, key, lambda: built)
    return kept
