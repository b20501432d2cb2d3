"""``POST /match``: validate the case, evaluate it over the cached roster index (or the recorded past)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np

from roster import clock, collector
from roster.availability.book import instant
from roster.availability.clocks import TurnaroundClock, due_at, load_clocks
from roster.availability.zones import zone
from roster.compliance.facts import CompliancePolicy
from roster.compliance.service import checked_as_of, end_of_day
from roster.config import Settings
from roster.errors import InvalidInput
from roster.matching import repository
from roster.matching.availability import (
    Availability,
    build_availability,
    business_hours,
    live_time_view,
    patched_availability,
    recorded_time_view,
)
from roster.matching.facts import Case, MatchRules, ReviewerFacts
from roster.matching.facts_loader import current_reviewers, reviewers_as_recorded, screening_standing
from roster.matching.index import CaseView, Placement, RosterIndex, TimeView
from roster.matching.rules import score
from roster.matching.schemas import EligibleReviewer, IneligibleReviewer, MatchLicense, MatchRequest, MatchResult
from roster.reference import repository as reference
from roster.reference.schemas import SpecialtyRead
from roster.reference.service import SpecialtyIndex
from roster.schedules.repository import holiday_days

log = logging.getLogger(__name__)

#: Above this many physicians changed since the index was built, a full rebuild replaces patching
#: (a bulk import is one such change; patching costs grow with the change, a rebuild's do not).
MAX_PATCHED_PHYSICIANS = 500


@dataclass(frozen=True, slots=True)
class RosterState:
    """One roster version: the evaluated index plus the reference data requests are validated against."""

    version: int | None
    index: RosterIndex
    specialties: SpecialtyIndex
    states: frozenset[str]
    #: The screening runs the index's screening facts were read from (ids, newest first).
    screening_runs: tuple[str, ...] = ()
    #: Everyone's schedules over the book's window (rules.md §5), kept with the version they were read at.
    availability: Availability | None = None
    #: A run in ``screening_runs`` is not yet in everyone's screening columns: the physicians it found hits
    #: on were reloaded at once, the others still show the previous runs until the keeper recomputes them
    #: all (:meth:`RosterCache.rescreen`). Safe to answer from meanwhile: a run changes nothing else, and
    #: for someone without a new hit it can only make screening fresher, so no one is eligible here who
    #: would not be after the recompute (a fresher run may make more people eligible a moment later).
    rescreen_owed: bool = False

    @property
    def rules(self) -> MatchRules:
        return self.index.rules


class RosterCache:
    """The in-memory roster index of one process, refreshed when the shared ``roster_version`` counter moves.

    Every request reads the counters (one query by primary key: the roster's and the assignments'),
    so a write committed through any replica is seen by the next match on every replica; no shared
    memory is needed. Open-case counts are cached the same way, keyed by the assignments' counter, and read
    once for all the requests that find them stale.

    A refresh reloads only the physicians whose records were written or whose hits were decided since
    the index's version (each record version, decision and screening run carries the roster version it
    committed as) and patches the index; after a screening run it first recomputes everyone's screening
    columns, and only those. It falls back to a full rebuild when a version in between recorded none of
    these (reference data, for one), when the reference data differ, or when too many physicians changed.
    """

    def __init__(self, settings: Settings, policy: CompliancePolicy) -> None:
        self.settings = settings
        self.policy = policy
        #: Whether a keeper recomputes everyone's screening after a run (see ``RosterState.rescreen_owed``);
        #: without one, the request that meets the run does it.
        self.defers_rescreen = False
        self._state: RosterState | None = None
        self._lock = asyncio.Lock()
        #: The open cases per index row: (the assignments version read before them, that index, the counts).
        self._open: tuple[int, RosterIndex, np.ndarray] | None = None
        #: The open-case read in progress: (the assignments version read before it, the index, the read).
        self._reading: tuple[int, RosterIndex, asyncio.Future[np.ndarray]] | None = None

    async def current(self) -> RosterState:
        return (await self.snapshot())[0]

    async def current_if_fresh(self) -> RosterState | None:
        """The index if it already answers for the latest roster version; None rather than wait for a
        refresh (a reader with another way to the same answer takes that)."""
        version, _ = await repository.freshness()
        return self.fresh_for(version)

    def fresh_for(self, version: int | None) -> RosterState | None:
        """:meth:`current_if_fresh` for a roster version the caller just read."""
        state = self._state
        return state if _fresh(state, version) and not state.rescreen_owed else None

    @property
    def built(self) -> bool:
        """An index is in memory (built at start-up by :func:`keep_index`, or by a first request)."""
        return self._state is not None

    async def snapshot(self) -> tuple[RosterState, np.ndarray]:
        """The roster index and the open cases per index row, both as of this request."""
        version, assignments = await repository.freshness()
        state = self._state
        if not _fresh(state, version):
            state = await self._rebuild(version)
        if state.availability is None or not state.availability.fresh_for(clock.now()):
            state = await self._new_day(state)
        if version is None or assignments is None:  # without the counters, count every time
            return state, state.index.open_case_counts_of(await repository.open_assignment_counts_by_text())
        counts = self._cached_counts(state.index, assignments)
        if counts is None:
            # One read for every request that found the counts stale: an assignment moves the counter
            # while dozens of matches are in flight, and each reading every open assignment again stalled
            # them all (at 2 assignments a second under load, matches took seconds). The others await
            # the same read, and all wake together when it lands (behind a lock they woke one per loop
            # iteration, each after a round of other requests: half a second for 64 of them). Shielded: a
            # request that goes away does not cancel the read the others wait for.
            reading = self._reading
            if reading is None or reading[0] < assignments or reading[1] is not state.index:
                task = asyncio.ensure_future(self._read_counts(state.index, assignments))
                reading = self._reading = (assignments, state.index, task)
                task.add_done_callback(self._read_done)
            counts = await asyncio.shield(reading[2])
        return state, counts

    async def _read_counts(self, index: RosterIndex, assignments: int) -> np.ndarray:
        counts = index.open_case_counts_of(await repository.open_assignment_counts_by_text())
        cached = self._open
        if cached is None or cached[0] <= assignments:
            self._open = (assignments, index, counts)
        return counts

    def _read_done(self, task: asyncio.Future[np.ndarray]) -> None:
        if self._reading is not None and self._reading[2] is task:
            self._reading = None
        if not task.cancelled():
            task.exception()  # marked retrieved: its requests got the error (or had gone; nothing to log)

    def _cached_counts(self, index: RosterIndex, assignments: int) -> np.ndarray | None:
        """The cached open cases per row of ``index``, if read at or after the ``assignments`` version (a
        newer read may answer: the request began before that write committed); None to read them."""
        cached = self._open
        if cached is None or cached[0] < assignments:
            return None
        if cached[1] is index:
            return cached[2]
        # Same or newer assignments, index patched since: the counts move with their physicians' rows.
        counts = index.carried_over(cached[1], cached[2])
        if counts is not None:
            self._open = (cached[0], index, counts)
        return counts

    async def _rebuild(self, version: int | None) -> RosterState:
        async with self._lock:
            # Another request may have rebuilt it meanwhile. The data is read after the counter, so
            # it is at least as new as the version it is filed under.
            state = self._state
            if state is not None and _fresh(state, version):
                return state
            patch = await self._patch(state, version) if state is not None else None
            if patch is None:
                with collector.paused():
                    state = self._state = await self._build(version)
                _settle()
                return state
            patched, rescreened = patch
            self._state = patched
            # A patch makes new objects only for the physicians it reloaded: not worth freezing. Freezing at
            # every write also froze the cyclic garbage of the requests in flight, which the collector then
            # never freed. Everyone's new screening, recomputed here, is frozen like a build.
            if rescreened:
                _settle()
            return patched

    async def rescreen(self) -> RosterState | None:
        """Recompute everyone's screening columns after a run that was patched in alone (off the request
        path: the keeper calls this), and swap the result in; None when none was owed. Requests for the
        current version go on being answered from the previous columns meanwhile."""
        before = self._state
        if before is None or not before.rescreen_owed:
            return None
        # Read before taking the lock (most of the recompute's time): a request that meets a newer write
        # patches the index meanwhile instead of waiting behind this read.
        with collector.paused():
            standing = await screening_standing(clock.now())
        async with self._lock:
            state = self._state
            if state is None or not state.rescreen_owed:
                return None
            if state.screening_runs != before.screening_runs:
                return None  # another run since: the next call reads the standing it owes
            for physician_id in _patched_between(before.index, state.index):
                # Reloaded whole by a patch since the read (a hit decision, say): its screening is newer.
                standing.pop(physician_id, None)
            with collector.paused():
                index = await asyncio.to_thread(state.index.rescreened, standing)
            state = self._state = dataclasses.replace(state, index=index, rescreen_owed=False)
            _settle()
            return state

    async def _new_day(self, state: RosterState) -> RosterState:
        """The book moved to today's window (or built for a state that had none)."""
        async with self._lock:
            current = self._state if self._state is not None else state
            if current.availability is not None and current.availability.fresh_for(clock.now()):
                return current
            current = dataclasses.replace(current, availability=await build_availability(clock.now()))
            if self._state is None or self._state.version == current.version:
                self._state = current
            return current

    def close(self) -> None:
        """Drop the index and hand what was frozen back to the collector (the app is shutting down)."""
        self._state = self._open = self._reading = None
        gc.unfreeze()

    async def _reference(self) -> tuple[MatchRules, SpecialtyIndex, frozenset[str]]:
        specialties = [SpecialtyRead(**row) for row in await reference.all_specialties()]
        state_rules = await reference.all_state_rules()
        rules = MatchRules(
            specialty_groups={s.slug: s.similarity_group for s in specialties if s.physician},
            in_state_rules={
                r["state"]: tuple(r["review_types"] or ()) for r in state_rules if r["requires_in_state_license"]
            },
            default_in_state_license=self.settings.default_in_state_license,
            policy=self.policy,
        )
        return rules, SpecialtyIndex(specialties), frozenset(r["state"] for r in state_rules)

    async def _build(self, version: int | None) -> RosterState:
        rules, specialties, states = await self._reference()
        now = clock.now()
        runs = await _screening_runs(now)
        reviewers = await current_reviewers(now)
        # Building the arrays for a big roster takes a while: off the event loop, so /health and
        # requests that need no rebuild keep being served meanwhile.
        index = await asyncio.to_thread(RosterIndex, reviewers, rules)
        return RosterState(
            version=version,
            index=index,
            specialties=specialties,
            states=states,
            screening_runs=runs,
            availability=await build_availability(now),
        )

    async def _patch(self, state: RosterState, version: int | None) -> tuple[RosterState, bool] | None:
        """``state`` brought to ``version`` by reloading only the physicians written since (and, after a
        screening run, everyone's screening alone), and whether everyone's screening was recomputed; None
        when the change set is unknown or large (see the class docstring): the caller then rebuilds."""
        if state.version is None or version is None or version < state.version:
            return None
        changes = await repository.roster_changes_since(state.version, MAX_PATCHED_PHYSICIANS)
        if changes is None or not changes.versions.issuperset(range(state.version + 1, version + 1)):
            return None
        rules, specialties, states = await self._reference()
        if rules != state.rules or states != state.states or specialties.by_slug != state.specialties.by_slug:
            return None
        now = clock.now()
        index, runs = state.index, await _screening_runs(now)
        reload, owed, rescreened = set(changes.physicians), state.rescreen_owed, False
        if runs != state.screening_runs:
            if not changes.screening_run:
                return None  # the runs changed, but no run says so: read everything again
            hit = (
                await repository.physicians_hit_by(set(runs) - set(state.screening_runs), MAX_PATCHED_PHYSICIANS)
                if self.defers_rescreen
                else None
            )
            if hit is None:
                with collector.paused():
                    index = await asyncio.to_thread(index.rescreened, await screening_standing(now))
                owed, rescreened = False, True
            else:
                reload |= hit
                owed = True
        if reload:
            # Read after the change log, so at least as new as it; physicians no longer found were deleted.
            reviewers = await current_reviewers(now, physician_ids=reload)
            changed: dict[UUID, ReviewerFacts | None] = dict.fromkeys(reload)
            changed.update((r.id, r) for r in reviewers)
            index = await asyncio.to_thread(index.patched, changed)
        availability = (
            await build_availability(now)
            if state.availability is None
            else await patched_availability(state.availability, changes.physicians, now)
        )
        patched = RosterState(
            version=version,
            index=index,
            specialties=state.specialties,
            states=state.states,
            screening_runs=runs,
            availability=availability,
            rescreen_owed=owed,
        )
        return patched, rescreened


def _patched_between(old: RosterIndex, new: RosterIndex) -> list[UUID]:
    """The physicians whose facts ``new`` holds but ``old`` did not (``new`` patched from ``old``)."""
    if new is old:
        return []
    row_of, reviewers = old.row_of, old.reviewers
    return [r.id for r in new.reviewers if (row := row_of.get(r.id)) is None or reviewers[row] is not r]


async def keep_index(cache: RosterCache, poll_seconds: float) -> None:
    """Build the index at start-up (``/ready`` answers 503 until then), then keep it current off the
    request path: every ``poll_seconds`` one read of the version counters, and a patch or rebuild when
    another replica, a screening run or an import moved them, so the next request finds it done.

    Requests still check the counters themselves (a write is seen by the very next match); when the
    keeper is mid-rebuild they wait for the same rebuild behind the cache's lock instead of starting
    their own. A failed refresh is logged and tried again at the next tick.

    After a screening run, a refresh reloads only the physicians the run found hits on, and the keeper then
    recomputes everyone's screening behind it (``RosterState.rescreen_owed``): no request waits for that."""
    cache.defers_rescreen = poll_seconds > 0
    while True:
        try:
            state, _ = await cache.snapshot()  # the open-case counts too: a first match reads neither
            state = await cache.rescreen() or state
            if state.availability is not None:
                state.availability.positions(state.index)  # and the book's rows laid over the index's
        except Exception:
            log.exception("refreshing the roster index failed; retrying in %.1f s", max(poll_seconds, 1.0))
            await asyncio.sleep(max(poll_seconds, 1.0))
            continue
        if poll_seconds <= 0:
            return
        await asyncio.sleep(poll_seconds)


def _settle() -> None:
    """Move what is alive now, the roster index above all, out of the cyclic garbage collector's way.

    The index is hundreds of thousands of long-lived objects (facts, ids, tuples). Every full
    collection walked them all, 0.4 s at 50,000 physicians with every request waiting: that stall was
    the p99 of a match. Frozen objects are still freed by reference counting when the index is
    replaced (it holds no reference cycles; a unit test checks). Collecting first keeps garbage cycles
    out of the permanent generation, and costs little once the big index is frozen.
    """
    gc.collect()
    gc.freeze()


async def _screening_runs(now: datetime) -> tuple[str, ...]:
    """The screening runs that screening facts read at ``now``: a new one changes everyone's freshness."""
    return tuple(str(run["id"]) for run in await repository.screening_runs_by(now))


def _fresh(state: RosterState | None, version: int | None) -> bool:
    """Whether ``state`` may answer a request that read ``version`` (a newer index may: the request
    began before that write committed). Without a counter row nothing counts as fresh."""
    return state is not None and version is not None and state.version is not None and state.version >= version


def roster_cache(app_state: Any) -> RosterCache:
    """The app's cache, created on first use (one per app, so per process and per database)."""
    cache = app_state.get("roster_cache")
    if cache is None:
        cache = app_state["roster_cache"] = RosterCache(app_state["settings"], app_state["policy"])
    return cache


def case_of(
    roster: RosterState,
    *,
    state: str,
    line_of_business: str,
    specialty: str,
    review_type: str,
    prior_reviewer_ids: list[UUID],
    language: str | None = None,
) -> Case:
    """The case with its specialty resolved (slug or NUCC code); unknown state or specialty is a 422."""
    if state not in roster.states:
        raise InvalidInput.on("state", f"{state!r} is not a USPS code of a state, DC or territory")
    resolved = roster.specialties.resolve_physician_specialty(specialty, "specialty")
    return Case(
        state=state,
        line_of_business=line_of_business,
        specialty=resolved.slug,
        review_type=review_type,
        prior_reviewer_ids=frozenset(prior_reviewer_ids),
        language=language,
    )


def is_past(as_of: date) -> bool:
    """A date whose end has passed is replayed from history; today and later use the live roster."""
    return end_of_day(as_of) < clock.now()


async def match(data: MatchRequest, cache: RosterCache) -> MatchResult:
    roster, open_cases = await cache.snapshot()
    case = case_of(
        roster,
        state=data.state,
        line_of_business=data.line_of_business,
        specialty=data.specialty,
        review_type=data.review_type,
        prior_reviewer_ids=data.prior_reviewer_ids,
        language=data.language,
    )
    as_of = checked_as_of(data.as_of)
    if is_past(as_of):
        reviewers = await reviewers_as_recorded(end_of_day(as_of))
        index = RosterIndex(reviewers, roster.rules, day_cache=1)
        open_cases = index.open_case_counts({r.id: r.open_cases for r in reviewers})
    else:
        index = roster.index
    day = index.day(as_of)
    timing = await case_time(data, roster, cache.settings)
    time = await timing.view(roster, index, lambda: CaseView(index, day, case, open_cases).eligible_rows)
    view = CaseView(index, day, case, open_cases, time)
    eligible = _eligible(view, view.ranked(data.limit), time)
    ineligible: dict[str, int] | list[IneligibleReviewer]
    if data.explain:
        timed = (time.every_row("bits"), time.every_row("available_from")) if time is not None else None
        ineligible = [
            IneligibleReviewer(
                physician_id=index.reviewers[row].id,
                name=index.reviewers[row].name,
                reasons=view.reasons_of(row),
                available_from=_instant_or_none(int(timed[1][row])) if timed is not None and timed[0][row] else None,
            )
            for row in view.ineligible_rows()
        ]
    else:
        ineligible = view.reason_counts()
    return MatchResult(
        eligible=eligible,
        ineligible=ineligible,
        evaluated=index.size,
        as_of=as_of,
        at=timing.at,
        due_at=timing.due_at,
    )


class CaseTime(NamedTuple):
    """A case's clock: the instant judged, when it is due, and what that asks of a reviewer (a tuple:
    every match builds one)."""

    at: datetime
    received_at: datetime
    due_at: datetime
    min_review: timedelta
    holidays: frozenset[date]
    require_now: bool
    on_call_first: bool
    #: ``at`` is in the past: schedules are replayed as recorded, not read from the live book.
    replayed: bool

    async def view(self, roster: RosterState, index: RosterIndex, candidates: Any) -> TimeView | None:
        options = {"require_now": self.require_now, "on_call_first": self.on_call_first}
        if not self.replayed and roster.availability is not None:
            live = live_time_view(roster.availability, index, self.at, self.due_at, self.min_review, **options)
            if live is not None:
                return live
        return await recorded_time_view(
            index, candidates().tolist(), self.at, self.due_at, self.min_review, self.holidays, **options
        )


#: An ``at`` this far behind the clock still reads the live schedules (a router's clock, a slow request).
REPLAY_AFTER = timedelta(minutes=1)


async def case_time(data: TimedCase, roster: RosterState, settings: Settings) -> CaseTime:
    """``due_at`` from the turnaround table (rules.md §5) and the time questions of a match or assignment.
    An assignment that names its own ``due_at`` keeps it."""
    now = clock.now()
    # Defaults to the current second: every request within it asks the same question (cached views).
    second = (now if now.tzinfo is UTC else now.astimezone(UTC)).replace(microsecond=0)
    at = data.at.astimezone(UTC) if data.at is not None else second
    received = data.received_at.astimezone(UTC) if data.received_at is not None else second
    holidays = roster.availability.holidays if roster.availability is not None else await holiday_days()
    organization = zone(settings.default_time_zone)
    given = getattr(data, "due_at", None)
    if given is not None:
        due = given.astimezone(UTC)
    else:
        clock_key = (data.line_of_business, data.review_type, data.urgency)
        due = _due(received, turnaround_clocks(settings.fixtures_dir)[clock_key], organization, holidays)
    return CaseTime(
        at=at,
        received_at=received,
        due_at=due,
        min_review=settings.min_review(data.review_type),
        holidays=holidays,
        require_now=data.available_now,
        on_call_first=data.urgency == "expedited" and not _business_hours(at, organization, holidays),
        replayed=at < now - REPLAY_AFTER,
    )


# A router's requests within one second share ``received_at`` and ``at`` (both default to it) and a few
# dozen clock rows: the calendar arithmetic is done once per second and row, not per request.
_DUE_KEPT = 1024
_dues: dict[tuple[datetime, int, ZoneInfo, frozenset[date]], tuple[TurnaroundClock, datetime]] = {}


def _due(received: datetime, row: TurnaroundClock, organization: ZoneInfo, holidays: frozenset[date]) -> datetime:
    """``due_at``, remembered: the row by identity (the table is loaded once), so no row is hashed."""
    key = (received, id(row), organization, holidays)
    found = _dues.get(key)
    if found is not None and found[0] is row:
        return found[1]
    if len(_dues) >= _DUE_KEPT:
        _dues.clear()
    due = due_at(received, row, organization, holidays)
    _dues[key] = (row, due)
    return due


_business_hours = functools.lru_cache(maxsize=256)(business_hours)


class TimedCase(Protocol):
    """The time fields a match and an assignment share."""

    line_of_business: str
    review_type: str
    urgency: str
    received_at: datetime | None
    at: datetime | None
    available_now: bool


@functools.cache
def turnaround_clocks(fixtures_dir: Path) -> dict[tuple[str, str, str], TurnaroundClock]:
    return load_clocks(fixtures_dir / "turnaround_clocks.csv")


def _instant_or_none(value: int) -> datetime | None:
    """An ``available_from`` answer: -1 is none within the horizon."""
    return None if value < 0 else instant(value)


#: A placement's score, remembered: placements repeat (a few flags, a load), and every match shows five.
_score = functools.lru_cache(maxsize=4096)(score)


def _eligible(view: CaseView, ranked: list[tuple[int, Placement]], time: TimeView | None) -> list[EligibleReviewer]:
    """The ranked reviewers as the API shows them, each with the license its decision relies on."""
    rows = [row for row, _ in ranked]
    if time is None:
        now, since = [True] * len(rows), [-1] * len(rows)
    else:
        now, since = time.of_rows("available_now", rows), time.of_rows("available_from", rows)
    out = []
    reviewers = view.index.reviewers
    for (row, placed), available, available_from in zip(ranked, now, since, strict=True):
        lic = view.relied_license(row)
        if lic is None:  # the index found a valid license; the rules must too
            raise AssertionError(f"eligible reviewer {reviewers[row].id} without a valid license")
        reviewer = reviewers[row]
        out.append(
            EligibleReviewer(
                physician_id=reviewer.id,
                npi=reviewer.npi,
                name=reviewer.name,
                score=_score(placed),
                specialty_match=placed.specialty_match,
                open_cases=placed.open_cases,
                license=MatchLicense(state=lic.state, number=lic.number, expires_on=lic.expires_on),
                available_now=available,
                available_from=None if available else _instant_or_none(available_from),
            )
        )
    return out
