"""The fast path: the whole roster as column arrays, evaluated for one case in one vectorised pass.

Built from the same ``ReviewerFacts`` the plain rules read, and checked against ``rules.evaluate`` by
property tests. What depends only on the date (recredentialing, IRR, experience, certifications,
screening freshness, licenses per state, and per specialty the physicians who pass all of that) is
computed once per ``as_of`` into a :class:`DayView`. A case then filters its specialty's candidates
with a few array lookups and ranks them by one packed integer key; reason counts over the whole roster
are the counts kept for the date, the required license state and the capacity, plus the case's own.
"""

from __future__ import annotations

import bisect
import copy
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import NamedTuple
from uuid import UUID

import msgspec
import numpy as np

from roster.compliance.dates import add_years
from roster.compliance.facts import LicenseFact
from roster.compliance.rules import EXPERIENCE_YEARS, SOURCE_CHECKS, check_npi, irr_last_day, recredentialing_due
from roster.matching.facts import REASONS, TIME_REASONS, Case, MatchRules, ReviewerFacts, ScreeningStanding
from roster.matching.rules import relied_license

BIT = {reason: np.int32(1 << i) for i, reason in enumerate(REASONS)}
#: The ranking key (``RosterIndex._ranking_base``): the grid the load is counted on, and the tier's penalties.
_LOAD_BITS = 32
_RANK_NO_LANGUAGE, _RANK_NOT_SAME, _RANK_NOT_PRIOR = 1, 2, 4
#: rules.md §5: available now before later, and (an expedited case out of hours) on call before everyone.
_RANK_NOT_NOW, _RANK_NOT_ON_CALL = 8, 16
#: Far past / far future as date ordinals, for "never" and "no end".
NEVER = -(10**9)
#: A date that never comes (no unattested policy update).
NO_DATE = 10**9
FOREVER = 10**9
_RESTRICTIVE = frozenset({"suspended", "revoked", "probation"})
_NO_ROWS = np.zeros(0, dtype=np.int64)
_NO_ROWS.flags.writeable = False
#: Reason counts kept per date view for (license state, line of business, specialty) triples.
_CASE_COUNTS_KEPT = 4096
#: Licenses relied on remembered per date view (a few bytes each; cleared when full).
_RELIED_KEPT = 100_000
#: License miss code per (state, physician): 0 none on file, 1 restricted, 2 expired (nearest miss wins).
_MISS_BITS = np.array([BIT["no_license_in_state"], BIT["license_restricted"], BIT["license_expired"]], dtype=np.int32)


class DayView:
    """Everything about the roster that depends on the date but not on the case."""

    def __init__(self, index: RosterIndex, as_of: date, screening_as_of: date | None = None) -> None:
        d = as_of.toordinal()
        s = (screening_as_of or as_of).toordinal()
        n = index.size
        bits = index.static_bits.copy()
        bits |= np.where(d >= index.recredentialing_due, BIT["recredentialing_overdue"], 0).astype(np.int32)
        bits |= np.where(d > index.irr_last_day, BIT["irr_overdue"], 0).astype(np.int32)
        bits |= np.where(d < index.qualified_on, BIT["insufficient_experience"], 0).astype(np.int32)
        if index.rules.policy.require_policy_attestation:
            bits |= np.where(d > index.attestation_due, BIT["policy_attestation_overdue"], 0).astype(np.int32)
        for fresh_until, stale_possible in index.screening_fresh_until:
            bits |= np.where(stale_possible & (s > fresh_until), BIT["screening_stale"], 0).astype(np.int32)
        # Certifications: which are current on the date, and the specialties they prove.
        current = index.cert_eligible & (index.cert_start <= d) & (d <= index.cert_end)
        has_current = np.zeros(n, dtype=bool)
        has_current[index.cert_owner[current]] = True
        bits |= np.where(
            ~has_current, np.where(index.has_cert, BIT["certification_lapsed"], BIT["no_board_certification"]), 0
        ).astype(np.int32)
        self.bits = bits
        known = current & (index.cert_specialty >= 0)
        self.cert_group = np.zeros((len(index.group_names), n), dtype=bool)
        self.cert_group[index.cert_group[known], index.cert_owner[known]] = True
        self.cert_specialty = np.zeros((len(index.specialty_names), n), dtype=bool)
        self.cert_specialty[index.cert_specialty[known], index.cert_owner[known]] = True
        # Licenses: valid per state and in any state, else the nearest miss.
        valid = index.lic_unrestricted & (index.lic_issued <= d) & (d <= index.lic_expires)
        miss = np.where(valid, 0, np.where(index.lic_restrictive, 1, 2)).astype(np.int8)
        states = len(index.state_names)
        self.valid_in = np.zeros((states, n), dtype=bool)
        self.valid_in[index.lic_state[valid], index.lic_owner[valid]] = True
        self.miss_in = np.zeros((states, n), dtype=np.int8)
        self.miss_any = np.zeros(n, dtype=np.int8)
        for code in (1, 2):  # the larger code written last: each cell keeps its physicians' largest
            at = miss == code
            self.miss_in[index.lic_state[at], index.lic_owner[at]] = code
            self.miss_any[index.lic_owner[at]] = code
        self.valid_any = np.zeros(n, dtype=bool)
        self.valid_any[index.lic_owner[valid]] = True
        self.ok = bits == 0
        #: Physicians per case-independent reason: each reason bit has exactly one source, so a case's
        #: counts are these plus the counts of its own checks.
        self.counts = {reason: int(np.count_nonzero(bits & bit)) for reason, bit in BIT.items()}
        self._licenses: dict[str | None, tuple[np.ndarray, np.ndarray, dict[str, int]]] = {}
        self._specialties: dict[str, SpecialtyRows] = {}
        self._size = n
        self._state_row = index.state_row
        # What specialty lookups read; not the index itself (the index caches this view: no cycle).
        self._groups = index.rules.specialty_groups
        self._specialty_row, self._group_row = index.specialty_row, index.group_row
        self._attested_specialty, self._attested_group = index.attested_specialty, index.attested_group
        self._tier_shift = index.tier_shift
        # What the licenses relied on are read from (the list, not the index: no cycle).
        self._as_of, self._reviewers, self._rules = as_of, index.reviewers, index.rules
        self._relied: dict[tuple[int, str | None, str], LicenseFact | None] = {}
        self._case_counts: dict[tuple[str | None, str, int], tuple[SpecialtyRows, dict[str, int]]] = {}

    def relied_license(self, row: int, case: Case, required: str | None) -> LicenseFact | None:
        """``rules.relied_license`` of the reviewer on ``row`` for a case requiring ``required``, remembered:
        a router's top-ranked reviewers recur from one request to the next, and the rule itself decides."""
        key = (row, required, case.state)
        if key in self._relied:
            return self._relied[key]
        if len(self._relied) >= _RELIED_KEPT:
            self._relied.clear()
        relied = self._relied[key] = relied_license(self._reviewers[row], case, self._as_of, self._rules)
        return relied

    def case_counts(
        self, required: str | None, line_of_business: str, lob: np.ndarray | None, specialty: SpecialtyRows
    ) -> dict[str, int]:
        """Physicians per reason for what a case shares with others (date, license state, line of business,
        specialty), every reason in ``BIT`` order: a new dict the caller adds the case's own counts to."""
        key = (required, line_of_business, id(specialty))
        found = self._case_counts.get(key)
        if found is None or found[0] is not specialty:
            counts = dict.fromkeys(BIT, 0)
            counts.update(self.counts)
            counts.update(self.licenses_for(required)[2])
            counts["line_of_business"] = self._size - (int(np.count_nonzero(lob)) if lob is not None else 0)
            counts["specialty_mismatch"] = specialty.mismatches
            if len(self._case_counts) >= _CASE_COUNTS_KEPT:
                self._case_counts.clear()
            found = self._case_counts[key] = (specialty, counts)
        return dict(found[1])

    def licenses_for(self, required: str | None) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """Valid-license mask, nearest-miss bits and miss counts where a case requires ``required``."""
        cached = self._licenses.get(required)
        if cached is None:
            row = self._state_row.get(required) if required is not None else None
            if required is None:
                valid, miss = self.valid_any, self.miss_any
            elif row is None:
                valid, miss = np.zeros(self._size, dtype=bool), np.zeros(self._size, dtype=np.int8)
            else:
                valid, miss = self.valid_in[row], self.miss_in[row]
            miss_bits = np.where(valid, 0, _MISS_BITS[miss]).astype(np.int32)
            tally = np.bincount(miss[~valid], minlength=3)
            counts = {
                "no_license_in_state": int(tally[0]),
                "license_restricted": int(tally[1]),
                "license_expired": int(tally[2]),
            }
            cached = self._licenses[required] = (valid, miss_bits, counts)
        return cached

    def specialty_masks(self, specialty: str) -> tuple[np.ndarray, np.ndarray]:
        """Who has the same specialty, and who the same or a similar one (certified on the date, or attested)."""
        group = self._groups.get(specialty)
        if group is None:
            none = np.zeros(self._size, dtype=bool)
            return none, none
        s, g = self._specialty_row[specialty], self._group_row[group]
        same = self.cert_specialty[s] | self._attested_specialty[s]
        return same, same | self.cert_group[g] | self._attested_group[g]

    def specialty_rows(self, specialty: str) -> SpecialtyRows:
        """The rows a case of this specialty can draw from on the date, cached: a router's cases come in
        a few dozen specialties, and a specialty narrows 50,000 physicians to a few thousand."""
        cached = self._specialties.get(specialty)
        if cached is None:
            same, similar = self.specialty_masks(specialty)
            rows = np.flatnonzero(self.ok & similar)
            not_same = np.where(same[rows], 0, _RANK_NOT_SAME << self._tier_shift)
            cached = SpecialtyRows(rows, not_same, self._size - int(np.count_nonzero(similar)))
            self._specialties[specialty] = cached
        return cached


class Capacity(NamedTuple):
    """What one array of open-case counts decides for the whole roster."""

    full: np.ndarray
    count: int
    #: Per row: the ranking key's load and NPI rank (``RosterIndex._ranking_base``).
    ranking: np.ndarray


class SpecialtyRows:
    """Physicians who pass every check of the date and have the specialty, same or similar, with what a
    case asks of them copied beside them: a case reads a few contiguous arrays of its specialty's
    candidates instead of picking a few thousand entries out of roster-wide ones."""

    def __init__(self, rows: np.ndarray, not_same: np.ndarray, mismatches: int) -> None:
        self.rows = rows
        #: Per row of ``rows``: the ranking-key penalty for a similar specialty (see ``RosterIndex._ranking_base``;
        #: a ranked row's key says which it is).
        self.not_same = not_same
        #: Physicians (eligible or not) with neither the same nor a similar specialty.
        self.mismatches = mismatches
        self._in_line: dict[str, np.ndarray] = {}
        self._licensed: dict[str | None, np.ndarray] = {}

    def covered(
        self, line_of_business: str, lob: np.ndarray | None, required: str | None, licensed: np.ndarray
    ) -> np.ndarray:
        """Per row of ``rows``: in the line of business (``lob``, its roster-wide mask) and licensed where a
        case requires (``licensed``: ``DayView.licenses_for(required)``), each part kept for the next case."""
        in_line = self._in_line.get(line_of_business)
        if in_line is None:
            in_line = np.zeros(self.rows.size, dtype=bool) if lob is None else lob[self.rows]
            self._in_line[line_of_business] = in_line
        here = self._licensed.get(required)
        if here is None:
            here = self._licensed[required] = licensed[self.rows]
        return in_line & here


class Placement(NamedTuple):
    """What ranks an eligible reviewer for a case (rules.md §2), as ``rules.evaluate``'s decision has it."""

    specialty_match: str
    prior_reviewer_first: bool
    speaks_language: bool
    open_cases: int
    max_open_cases: int


class TimeView:
    """What a case's time makes of every row (rules.md §5).

    Answered per kind of row (the availability book's groups: physicians with the same schedule answer
    alike, a roster has hundreds of them, not tens of thousands; or one kind per row) and gathered to rows
    on first use, so a new question (every second brings new ones) costs the kinds, not the roster.
    The answers: ``excluded`` (``on_leave``, ``cannot_meet_due``, and ``off_shift`` when asked), ``bits``
    (each row's time reasons, ``BIT``), ``penalty`` (ranking: not available now, and not on call when on
    call ranks first), ``available_now`` and ``available_from`` (the next available instant in epoch
    microseconds, -1 for none within the horizon).
    """

    def __init__(self, kind: np.ndarray, answers: dict[str, np.ndarray], counts: dict[str, int]) -> None:
        #: Each row's kind.
        self.kind = kind
        self._per_kind = answers
        self._per_row: dict[str, np.ndarray] = {}
        #: Rows per time reason, counted once per view (a view answers every request asking the same question).
        self.counts = counts
        self._over: tuple[Capacity, int, np.ndarray, np.ndarray] | None = None

    def every_row(self, name: str) -> np.ndarray:
        """One answer for every row."""
        values = self._per_row.get(name)
        if values is None:
            values = self._per_row[name] = self._per_kind[name][self.kind]
        return values

    def of_rows(self, name: str, rows: list[int]) -> list:
        """One answer for a few rows, as Python values."""
        found = self._per_row.get(name)
        if found is not None:
            return found[rows].tolist()
        return self._per_kind[name][self.kind[rows]].tolist()

    def over(self, capacity: Capacity, tier_shift: int) -> tuple[np.ndarray, np.ndarray]:
        """Per row: kept out by capacity or by time, and the ranking key before the case (load and NPI,
        with the time's penalty above ``tier_shift``). Kept for the capacity last asked about: the
        requests asking this question share both until an assignment changes the counts."""
        cached = self._over
        if cached is None or cached[0] is not capacity or cached[1] != tier_shift:
            excluded = self._per_kind["excluded"][self.kind]
            penalty = (self._per_kind["penalty"] << tier_shift)[self.kind]
            cached = self._over = (capacity, tier_shift, capacity.full | excluded, capacity.ranking + penalty)
        return cached[2], cached[3]


class CaseView:
    """One case evaluated over the whole roster.

    The eligible are found among the date's candidates for the case's specialty (``DayView.specialty_rows``)
    with a few array lookups; reason counts add the case's own checks to counts precomputed for the
    date; whole-roster masks and per-physician reasons are only built for ``explain``.
    """

    def __init__(
        self, index: RosterIndex, day: DayView, case: Case, open_cases: np.ndarray, time: TimeView | None = None
    ) -> None:
        self.index = index
        self.time = time
        self.day = day
        self.case = case
        self.open_cases = open_cases
        #: The state a license must be in (None: any state).
        self.required = index.rules.required_license_state(case)
        self.license_ok, self.license_bits, self.license_counts = day.licenses_for(self.required)
        self._lob = index.lob.get(case.line_of_business)
        self._specialty = specialty = day.specialty_rows(case.specialty)
        ids = case.prior_reviewer_ids
        self._involved = (
            np.array(sorted({index.row_of[pid] for pid in ids if pid in index.row_of}), dtype=np.int64)
            if ids
            else _NO_ROWS
        )
        self._capacity = capacity = index.capacity(open_cases)
        if time is None:
            blocked, self._ranking = capacity.full, capacity.ranking
        else:
            blocked, self._ranking = time.over(capacity, index.tier_shift)
        rows = specialty.rows
        keep = specialty.covered(case.line_of_business, self._lob, self.required, self.license_ok) & ~blocked[rows]
        if case.review_type == "appeal" and self._involved.size:
            keep &= ~np.isin(rows, self._involved)
        #: Positions in the specialty's rows of the eligible.
        self._at = at = keep.nonzero()[0]
        #: The eligible rows, ascending.
        self.eligible_rows = rows[at]
        self._bits: np.ndarray | None = None

    def _mask(self, rows: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.index.size, dtype=bool)
        mask[rows] = True
        return mask

    @property
    def eligible(self) -> np.ndarray:
        """Whole-roster mask of the eligible."""
        return self._mask(self.eligible_rows)

    @property
    def bits(self) -> np.ndarray:
        """Every physician's reasons as a bit mask (``BIT``)."""
        if self._bits is None:
            n = self.index.size
            lob_ok = self._lob if self._lob is not None else np.zeros(n, dtype=bool)
            _, specialty_ok = self.day.specialty_masks(self.case.specialty)
            bits = self.day.bits | self.license_bits
            bits |= np.where(lob_ok, 0, BIT["line_of_business"]).astype(np.int32)
            bits |= np.where(specialty_ok, 0, BIT["specialty_mismatch"]).astype(np.int32)
            if self.case.review_type == "appeal":
                bits[self._involved] |= BIT["prior_reviewer"]
            bits |= np.where(self._capacity.full, BIT["at_capacity"], 0).astype(np.int32)
            if self.time is not None:
                bits |= self.time.every_row("bits")
            self._bits = bits
        return self._bits

    def reason_counts(self) -> dict[str, int]:
        lob = self._lob
        counts = self.day.case_counts(self.required, self.case.line_of_business, lob, self._specialty)
        counts["prior_reviewer"] = self._involved.size if self.case.review_type == "appeal" else 0
        counts["at_capacity"] = self._capacity.count
        if self.time is not None:
            counts.update(self.time.counts)
        return {reason: count for reason, count in counts.items() if count}

    def relied_license(self, row: int) -> LicenseFact | None:
        """The license the decision for the eligible reviewer on ``row`` relies on (``rules.relied_license``).
        An eligible reviewer holds a valid license where the case requires: with one license on file, it is that."""
        licenses = self.index.reviewers[row].compliance.licenses
        if len(licenses) == 1:
            return licenses[0]
        return self.day.relied_license(row, self.case, self.required)

    def reasons_of(self, row: int) -> list[str]:
        value = int(self.bits[row])
        return [reason for reason, bit in BIT.items() if value & int(bit)]

    def ineligible_rows(self) -> np.ndarray:
        """Ineligible rows in NPI order: the same list whatever order the rows were loaded or patched in."""
        eligible = self.eligible
        rows = np.flatnonzero(~eligible)
        return rows[np.argsort(self.index.npi_rank[rows], kind="stable")]

    def ranked_rows(self, limit: int | None = None) -> list[int]:
        """Eligible rows in rules.md ranking order (see ``rules.rank_key``)."""
        return self.index.rows_ranked(self._ranked_keys(limit)).tolist()

    def ranked(self, limit: int | None = None) -> list[tuple[int, Placement]]:
        """Eligible rows in ranking order, each with what ranked it (an assignment re-runs the full rules)."""
        keys = self._ranked_keys(limit)
        rows = self.index.rows_ranked(keys).tolist()
        case, reviewers = self.case, self.index.reviewers
        out = []
        peer_to_peer, language = case.review_type == "peer_to_peer", case.language
        tiers = (keys >> self.index.tier_shift).tolist()
        for row, tier, open_cases in zip(rows, tiers, self.open_cases[rows].tolist(), strict=True):
            reviewer = reviewers[row]
            placed = Placement(
                "similar" if tier & _RANK_NOT_SAME else "same",  # specialty_match
                peer_to_peer and reviewer.id in case.prior_reviewer_ids,  # prior_reviewer_first
                language is not None and language in reviewer.languages,  # speaks_language
                open_cases,
                reviewer.max_open_cases,
            )
            out.append((row, placed))
        return out

    def _ranked_keys(self, limit: int | None) -> np.ndarray:
        """The eligible's ranking keys in ranking order: one packed integer per row (``RosterIndex._ranking_base``:
        its tier's penalties, each its own bit, above the load, above the NPI rank), unique, so the keys sort
        themselves and name their rows; with a limit, a linear partition finds the first ``limit``."""
        rows = self.eligible_rows
        key = self._ranking[rows] + self._specialty.not_same[self._at]  # the time's penalty is in the first
        if self.case.language is not None:
            key += self.index.language_penalty(self.case.language)[rows]
        if self.case.review_type == "peer_to_peer" and self._involved.size:
            key[~np.isin(rows, self._involved)] += _RANK_NOT_PRIOR << self.index.tier_shift
        if limit is not None and key.size > limit:
            key = np.partition(key, limit - 1)[:limit]
        key.sort()
        return key


#: The reasons a physician's screening standing sets (see :func:`_screening_columns`).
_SCREENING_BITS = np.int32(
    BIT["screening_pending"] | np.bitwise_or.reduce([BIT[excluded] for _, excluded in SOURCE_CHECKS.values()])
)


def _screening_columns(
    reviewers: Sequence[ReviewerFacts], rules: MatchRules
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Per physician, the reasons their screening standing sets whatever the date (a confirmed or pending
    hit on a required list), and per required list the last day the screening is fresh and whether
    staleness can apply (no hit decides that list's check)."""
    n = len(reviewers)
    bits = np.zeros(n, dtype=np.int32)
    required = [source for source in SOURCE_CHECKS if source in rules.policy.required_sources]
    fresh = {source: np.full(n, NEVER, dtype=np.int64) for source in required}
    undecided = {source: np.ones(n, dtype=bool) for source in required}
    max_age = rules.policy.screening_max_age_days
    for i, r in enumerate(reviewers):
        for s in r.compliance.screening:
            if s.source not in fresh:
                continue
            if s.confirmed_hits:
                bits[i] |= BIT[SOURCE_CHECKS[s.source][1]]
                undecided[s.source][i] = False
            elif s.pending_hits:
                bits[i] |= BIT["screening_pending"]
                undecided[s.source][i] = False
            elif s.snapshot_loaded_on is not None:
                fresh[s.source][i] = s.snapshot_loaded_on.toordinal() + max_age
    return bits, [(fresh[source], undecided[source]) for source in required]


class RosterIndex:
    """Column arrays over a list of reviewers; immutable once built. A new roster version either builds a
    new one or derives it with :meth:`patched`, which rebuilds only the changed physicians' rows."""

    def __init__(self, reviewers: Sequence[ReviewerFacts], rules: MatchRules, *, day_cache: int = 4) -> None:
        self.rules = rules
        self.reviewers = list(reviewers)
        self.size = len(self.reviewers)
        self.row_of = {r.id: i for i, r in enumerate(self.reviewers)}
        self.specialty_names = sorted(rules.specialty_groups)
        self.specialty_row = {s: i for i, s in enumerate(self.specialty_names)}
        self.group_names = sorted(set(rules.specialty_groups.values()))
        self.group_row = {g: i for i, g in enumerate(self.group_names)}
        licensed = {lic.state for r in self.reviewers for lic in r.compliance.licenses}
        states = sorted(licensed | set(rules.in_state_rules))
        self.state_names = states
        self.state_row = {s: i for i, s in enumerate(states)}
        self._by_rank = np.array(
            sorted(range(self.size), key=lambda i: (self.reviewers[i].npi, self.reviewers[i].id)), dtype=np.int64
        )
        self.npi_rank = _ranks(self._by_rank)
        self.max_open_cases = np.array([r.max_open_cases for r in self.reviewers], dtype=np.int64)
        self._physician_columns(rules)
        self._certification_columns(rules)
        self._license_columns()
        self._days: OrderedDict[tuple[date, date], DayView] = OrderedDict()
        self._day_cache = day_cache
        self._capacity: tuple[np.ndarray, Capacity] | None = None
        self._language_penalty: dict[str, np.ndarray] = {}
        #: ``row_of`` keyed by the ids as text (see :meth:`open_case_counts_of`), made on first use.
        self._row_of_text: dict[str, int] | None = None
        #: Set on a patched index: the index it was patched from, and each row's row there (-1: new).
        self._patched_from: weakref.ref[RosterIndex] | None = None
        self._rows_before: np.ndarray | None = None

    def _physician_columns(self, rules: MatchRules) -> None:
        n = self.size
        static = np.zeros(n, dtype=np.int32)
        recred = np.full(n, NEVER, dtype=np.int64)
        irr = np.full(n, NEVER, dtype=np.int64)
        qualified = np.zeros(n, dtype=np.int64)
        attest = np.full(n, NO_DATE, dtype=np.int64)
        self.lob: dict[str, np.ndarray] = {}
        self.language: dict[str, np.ndarray] = {}
        self.attested_specialty = np.zeros((len(self.specialty_names), n), dtype=bool)
        self.attested_group = np.zeros((len(self.group_names), n), dtype=bool)
        for i, r in enumerate(self.reviewers):
            c = r.compliance
            if c.status != "active":
                static[i] |= BIT["inactive"]
            if not check_npi(c.npi, c.npi_status).ok:
                static[i] |= BIT["npi_deactivated"]
            if c.credentialed_on is not None:
                recred[i] = recredentialing_due(c.credentialed_on).toordinal()
            if c.irr_passed_on is not None:
                irr[i] = irr_last_day(c.irr_passed_on).toordinal()
            qualified[i] = add_years(c.clinical_practice_start, EXPERIENCE_YEARS).toordinal()
            if c.unattested_attest_by:
                attest[i] = min(c.unattested_attest_by).toordinal()
            for lob in r.lines_of_business:
                self.lob.setdefault(lob, np.zeros(n, dtype=bool))[i] = True
            for lang in r.languages:
                self.language.setdefault(lang, np.zeros(n, dtype=bool))[i] = True
            for slug in r.specialties:
                row = self.specialty_row.get(slug)
                if row is not None:
                    self.attested_specialty[row, i] = True
                    self.attested_group[self.group_row[rules.specialty_groups[slug]], i] = True
        screened, self.screening_fresh_until = _screening_columns(self.reviewers, rules)
        self.static_bits = static | screened
        self.recredentialing_due = recred
        self.irr_last_day = irr
        self.qualified_on = qualified
        #: The first attest-by date of an update the physician has not attested (overdue the day after).
        self.attestation_due = attest

    def _certification_columns(self, rules: MatchRules) -> None:
        owner, spec, group, current_kind, start, end = [], [], [], [], [], []
        has_cert = np.zeros(self.size, dtype=bool)
        for i, r in enumerate(self.reviewers):
            for cert in r.compliance.certifications:
                has_cert[i] = True
                row = self.specialty_row.get(cert.specialty)
                owner.append(i)
                # A certification outside the specialty table still counts as certification, not as a specialty.
                spec.append(-1 if row is None else row)
                group.append(-1 if row is None else self.group_row[rules.specialty_groups[cert.specialty]])
                moc_ok = cert.time_unlimited or cert.moc_status == "meeting"
                current_kind.append(cert.status == "certified" and moc_ok)
                start.append(cert.certified_on.toordinal())
                no_end = cert.time_unlimited or cert.expires_on is None
                end.append(FOREVER if no_end or cert.expires_on is None else cert.expires_on.toordinal())
        self.has_cert = has_cert
        self.cert_owner = np.array(owner, dtype=np.int64)
        self.cert_specialty = np.array(spec, dtype=np.int64)
        self.cert_group = np.array(group, dtype=np.int64)
        self.cert_eligible = np.array(current_kind, dtype=bool)
        self.cert_start = np.array(start, dtype=np.int64)
        self.cert_end = np.array(end, dtype=np.int64)

    def _license_columns(self) -> None:
        owner, state, unrestricted, restrictive, issued, expires = [], [], [], [], [], []
        for i, r in enumerate(self.reviewers):
            for lic in r.compliance.licenses:
                owner.append(i)
                state.append(self.state_row[lic.state])
                unrestricted.append(lic.status == "active" and not lic.restricted)
                restrictive.append(lic.status in _RESTRICTIVE or lic.restricted)
                issued.append(lic.issued_on.toordinal())
                expires.append(lic.expires_on.toordinal())
        self.lic_owner = np.array(owner, dtype=np.int64)
        self.lic_state = np.array(state, dtype=np.int64)
        self.lic_unrestricted = np.array(unrestricted, dtype=bool)
        self.lic_restrictive = np.array(restrictive, dtype=bool)
        self.lic_issued = np.array(issued, dtype=np.int64)
        self.lic_expires = np.array(expires, dtype=np.int64)

    def patched(self, changes: Mapping[UUID, ReviewerFacts | None]) -> RosterIndex:
        """A new index with these physicians' rows replaced (``None``: no longer on the roster).

        Costs the changed physicians' Python work plus array copies, instead of the whole roster's
        Python loop: the changed reviewers are indexed on their own with the same code as a full build,
        then spliced in. Updated physicians keep their row, new ones are appended, removed ones are
        compacted away. ``self`` is left untouched (requests may still be reading it).
        """
        fresh = [r for r in changes.values() if r is not None]
        part = RosterIndex(fresh, self.rules, day_cache=1)
        n_old, added = self.size, [r for r in fresh if r.id not in self.row_of]
        n = n_old + len(added)
        target = np.array([self.row_of.get(r.id, -1) for r in fresh], dtype=np.int64)  # the row each part row lands on
        target[target < 0] = np.arange(n_old, n)
        touched = np.array([self.row_of[pid] for pid in changes if pid in self.row_of], dtype=np.int64)
        out = object.__new__(RosterIndex)
        out.rules = self.rules
        out.specialty_names, out.specialty_row = self.specialty_names, self.specialty_row
        out.group_names, out.group_row = self.group_names, self.group_row
        out.state_names = self.state_names + [s for s in part.state_names if s not in self.state_row]
        out.state_row = {s: i for i, s in enumerate(out.state_names)}
        out.reviewers = self.reviewers + added
        for row, r in zip(target.tolist(), fresh, strict=True):
            out.reviewers[row] = r
        out.size = n

        def rows(old: np.ndarray, new: np.ndarray) -> np.ndarray:
            merged = np.zeros((*old.shape[:-1], n), dtype=old.dtype)
            merged[..., :n_old] = old
            merged[..., target] = new
            return merged

        for name in _ROW_COLUMNS:
            setattr(out, name, rows(getattr(self, name), getattr(part, name)))
        out.screening_fresh_until = [
            (rows(fresh_old, fresh_new), rows(open_old, open_new))
            for (fresh_old, open_old), (fresh_new, open_new) in zip(
                self.screening_fresh_until, part.screening_fresh_until, strict=True
            )
        ]
        for name in ("lob", "language"):
            old_sets, new_sets = getattr(self, name), getattr(part, name)
            none_old, none_new = np.zeros(n_old, dtype=bool), np.zeros(part.size, dtype=bool)
            setattr(
                out,
                name,
                {
                    key: rows(old_sets.get(key, none_old), new_sets.get(key, none_new))
                    for key in old_sets.keys() | new_sets.keys()
                },
            )
        # Licenses and certifications: drop the touched physicians' entries, append their new ones.
        state_map = np.array([out.state_row[s] for s in part.state_names], dtype=np.int64)
        for prefix, columns in (("lic", _LICENSE_COLUMNS), ("cert", _CERTIFICATION_COLUMNS)):
            owner = getattr(self, f"{prefix}_owner")
            kept = ~np.isin(owner, touched)
            setattr(out, f"{prefix}_owner", np.concatenate([owner[kept], target[getattr(part, f"{prefix}_owner")]]))
            for name in columns:
                new = getattr(part, name)
                if name == "lic_state":
                    new = state_map[new]
                setattr(out, name, np.concatenate([getattr(self, name)[kept], new.astype(getattr(self, name).dtype)]))
        gone = [self.row_of[pid] for pid, r in changes.items() if r is None and pid in self.row_of]
        out._rows_before = np.concatenate([np.arange(n_old), np.full(len(added), -1)]).astype(np.int64)
        renumber = out._drop_rows(np.array(gone, dtype=np.int64)) if gone else np.arange(n)
        out._patched_from = weakref.ref(self)
        if gone:
            out.row_of = {r.id: i for i, r in enumerate(out.reviewers)}
        else:  # the rows stay where they were; new physicians are appended
            out.row_of = dict(self.row_of)
            out.row_of.update((r.id, i) for i, r in enumerate(added, start=n_old))
        if gone or added or any(r.npi != self.reviewers[self.row_of[r.id]].npi for r in fresh if r.id in self.row_of):
            # Re-place only the changed physicians in the (NPI, id) order; everyone else keeps theirs.
            order = renumber[self._by_rank[~np.isin(self._by_rank, touched)]].tolist()
            reviewers = out.reviewers

            def key(row: int) -> tuple[str, UUID]:
                return reviewers[row].npi, reviewers[row].id

            for row in renumber[target].tolist():
                bisect.insort(order, row, key=key)
            out._by_rank = np.array(order, dtype=np.int64)
            out.npi_rank = _ranks(out._by_rank)
        else:
            out._by_rank, out.npi_rank = self._by_rank, self.npi_rank
        out._days = OrderedDict()
        out._day_cache = self._day_cache
        out._capacity = None
        out._language_penalty = {}
        out._row_of_text = None
        return out

    def rescreened(self, screening: Mapping[UUID, ScreeningStanding]) -> RosterIndex:
        """A new index with every physician's screening standing replaced (a screening run changes everyone's):
        ``screening`` holds each physician's facts and the snapshots they were screened against, as
        ``facts_loader`` reads them. Only the screening columns are recomputed; ``self`` is left untouched."""
        reviewers = []
        for r in self.reviewers:
            # A physician missing from ``screening`` was deleted since: the patch that follows drops them.
            facts, refs = screening.get(r.id, (r.compliance.screening, r.snapshots))
            if facts != r.compliance.screening or refs != r.snapshots:
                compliance = msgspec.structs.replace(r.compliance, screening=facts)
                r = msgspec.structs.replace(r, compliance=compliance, snapshots=refs)
            reviewers.append(r)
        out = copy.copy(self)
        out.reviewers = reviewers
        screened, out.screening_fresh_until = _screening_columns(reviewers, self.rules)
        out.static_bits = (self.static_bits & ~_SCREENING_BITS) | screened
        out._days = OrderedDict()
        out._capacity = None
        out._language_penalty = {}
        out._row_of_text = None
        out._patched_from = weakref.ref(self)
        out._rows_before = np.arange(self.size, dtype=np.int64)
        return out

    def _drop_rows(self, gone: np.ndarray) -> np.ndarray:
        """Compact the rows away (their license and certification entries are already gone); returns
        each former row's new number."""
        keep = np.ones(self.size, dtype=bool)
        keep[gone] = False
        renumber = np.cumsum(keep) - 1
        self.reviewers = [r for r, k in zip(self.reviewers, keep.tolist(), strict=True) if k]
        self.size = len(self.reviewers)
        for name in _ROW_COLUMNS:
            setattr(self, name, getattr(self, name)[..., keep])
        self.screening_fresh_until = [(f[keep], u[keep]) for f, u in self.screening_fresh_until]
        self.lob = {k: v[keep] for k, v in self.lob.items()}
        self.language = {k: v[keep] for k, v in self.language.items()}
        self.lic_owner = renumber[self.lic_owner]
        self.cert_owner = renumber[self.cert_owner]
        if self._rows_before is not None:
            self._rows_before = self._rows_before[keep]
        return renumber

    def _rows_in(self, previous: RosterIndex) -> np.ndarray | None:
        """Each row's row in ``previous`` (-1: new to this index); None unless patched from ``previous``."""
        if self._patched_from is None or self._patched_from() is not previous:
            return None
        return self._rows_before

    def carried_over(self, previous: RosterIndex, per_row: np.ndarray) -> np.ndarray | None:
        """``previous``'s per-row values (open cases) on this index's rows, 0 for physicians new to it;
        None unless this index was patched from ``previous``. Saves re-reading them for every patch."""
        rows = self._rows_in(previous)
        if rows is None:
            return None
        return gathered(per_row, rows, 0)

    def moved_rows(self, previous: RosterIndex) -> tuple[np.ndarray, np.ndarray] | None:
        """Where ``previous``'s rows are on this index (-1: gone) and this index's rows new to it; None
        unless this index was patched from ``previous``. Lets row-keyed data follow a patch without a
        lookup per physician."""
        rows = self._rows_in(previous)
        if rows is None:
            return None
        kept = rows >= 0
        now = np.full(previous.size, -1, dtype=np.int64)
        now[rows[kept]] = np.flatnonzero(kept)
        return now, np.flatnonzero(~kept)

    def day(self, as_of: date, screening_as_of: date | None = None) -> DayView:
        """The date's view, cached (a router asks about today over and over)."""
        key = (as_of, screening_as_of or as_of)
        view = self._days.get(key)
        if view is None:
            view = DayView(self, as_of, screening_as_of)
            self._days[key] = view
            while len(self._days) > self._day_cache:
                self._days.popitem(last=False)
        else:
            self._days.move_to_end(key)
        return view

    def capacity(self, open_cases: np.ndarray) -> Capacity:
        """What the open-case counts decide, kept for the open-case array last asked about: a router's
        requests share one until an assignment changes it."""
        cached = self._capacity
        if cached is not None and cached[0] is open_cases:
            return cached[1]
        full = open_cases >= self.max_open_cases
        capacity = Capacity(full, int(np.count_nonzero(full)), self._ranking_base(open_cases))
        self._capacity = (open_cases, capacity)
        return capacity

    def _ranking_base(self, open_cases: np.ndarray) -> np.ndarray:
        """Each row's ranking key before the case: load above NPI rank, packed in one int64 so that a
        case ranks its eligible with one partition and adds its tier (prior reviewer, same specialty,
        language: ``_RANK_*`` above ``tier_shift``) by addition.

        The load is a ratio of counts with a capacity of at most 1,000 (``MaxOpenCases``; exact up to
        32,768): two different loads differ by at least 1 / 32,768², far more than one step of the
        2³² grid, and equal loads give the same float, so the grid keeps load order and ties exactly.
        """
        max_open = self.max_open_cases
        load = np.where(max_open > 0, open_cases / np.maximum(max_open, 1), 1.0)
        grid = np.floor(np.clip(load, 0.0, 1.0) * float(1 << _LOAD_BITS)).astype(np.int64)
        return (grid << self.rank_bits) | self.npi_rank

    def language_penalty(self, language: str) -> np.ndarray:
        """Ranking-key penalty per row for not speaking ``language``."""
        penalty = self._language_penalty.get(language)
        if penalty is None:
            speaks = self.language.get(language)
            penalty = np.full(self.size, _RANK_NO_LANGUAGE << self.tier_shift, dtype=np.int64)
            if speaks is not None:
                penalty[speaks] = 0
            self._language_penalty[language] = penalty
        return penalty

    def rows_ranked(self, keys: np.ndarray) -> np.ndarray:
        """The rows ranking keys belong to (their low bits are the row's NPI rank)."""
        return self._by_rank[keys & ((1 << self.rank_bits) - 1)]

    @property
    def rank_bits(self) -> int:
        return max(1, (self.size - 1).bit_length())

    @property
    def tier_shift(self) -> int:
        return self.rank_bits + _LOAD_BITS + 1

    def open_case_counts(self, counts: Mapping[UUID, int]) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.int64)
        for pid, count in counts.items():
            row = self.row_of.get(pid)
            if row is not None:
                out[row] = count
        return out

    def open_case_counts_of(self, counts: Iterable[tuple[str, int]]) -> np.ndarray:
        """:meth:`open_case_counts` from (physician id as text, count) rows, as the database gives them
        cheapest: no UUID made per row (a match waits for this read whenever an assignment was made)."""
        by_text = self._row_of_text
        if by_text is None:
            by_text = self._row_of_text = {str(pid): row for pid, row in self.row_of.items()}
        out = np.zeros(self.size, dtype=np.int64)
        for pid, count in counts:
            row = by_text.get(pid)
            if row is not None:
                out[row] = count
        return out

    def evaluate(self, case: Case, as_of: date, open_cases: Mapping[UUID, int]) -> CaseView:
        return CaseView(self, self.day(as_of), case, self.open_case_counts(open_cases))

    def coverage(
        self, day: DayView, line_of_business: str, review_type: str, states: Iterable[str]
    ) -> dict[str, dict[str, int]]:
        """Reviewers eligible per state and specialty on ``day``, ignoring capacity and case history.

        A specialty counts its same-or-similar reviewers (its whole similarity group).
        """
        out: dict[str, dict[str, int]] = {}
        for state in sorted(states):
            eligible = self._covering(day, line_of_business, review_type, state)
            per_group = {
                group: int(np.count_nonzero(eligible & (day.cert_group[g] | self.attested_group[g])))
                for group, g in self.group_row.items()
            }
            out[state] = {slug: per_group[group] for slug, group in self.rules.specialty_groups.items()}
        return out

    def covering(
        self, day: DayView, line_of_business: str, review_type: str, state: str, specialty: str
    ) -> list[ReviewerFacts]:
        """The reviewers :meth:`coverage` counts for one state and specialty, in (NPI, id) order."""
        group = self.rules.specialty_groups.get(specialty)
        g = self.group_row.get(group) if group is not None else None
        if g is None:
            return []
        eligible = self._covering(day, line_of_business, review_type, state)
        rows = np.flatnonzero(eligible & (day.cert_group[g] | self.attested_group[g]))
        return sorted((self.reviewers[int(r)] for r in rows), key=lambda r: (r.npi, r.id))

    def _covering(self, day: DayView, line_of_business: str, review_type: str, state: str) -> np.ndarray:
        """Rows eligible on ``day`` in ``state`` for the line of business, before the specialty."""
        lob = self.lob.get(line_of_business)
        base = (day.bits == 0) & (lob if lob is not None else np.zeros(self.size, dtype=bool))
        case = Case(state=state, line_of_business=line_of_business, specialty="", review_type=review_type)
        required = self.rules.required_license_state(case)
        if required is None:
            valid = day.valid_any
        else:
            row = self.state_row.get(required)
            valid = day.valid_in[row] if row is not None else np.zeros(self.size, dtype=bool)
        return base & valid


#: Per-physician columns (the last axis is the row), as :meth:`RosterIndex.patched` splices them.
_ROW_COLUMNS = (
    "max_open_cases",
    "attestation_due",
    "static_bits",
    "recredentialing_due",
    "irr_last_day",
    "qualified_on",
    "has_cert",
    "attested_specialty",
    "attested_group",
)
#: Per-entry columns besides the owner row.
_LICENSE_COLUMNS = ("lic_state", "lic_unrestricted", "lic_restrictive", "lic_issued", "lic_expires")
_CERTIFICATION_COLUMNS = ("cert_specialty", "cert_group", "cert_eligible", "cert_start", "cert_end")


def _ranks(by_rank: np.ndarray) -> np.ndarray:
    """Each row's place in (NPI, id) order, given the rows in that order: the last ranking key, and the
    order ``explain`` lists in."""
    rank = np.empty(len(by_rank), dtype=np.int64)
    rank[by_rank] = np.arange(len(by_rank))
    return rank


def time_view(
    available_now: np.ndarray,
    on_leave: np.ndarray,
    cannot_meet_due: np.ndarray,
    available_from: np.ndarray,
    on_call_now: np.ndarray,
    *,
    require_now: bool,
    on_call_first: bool,
    kinds: tuple[np.ndarray, np.ndarray] | None = None,
) -> TimeView:
    """rules.md §5 over every row: ``on_leave`` and ``cannot_meet_due`` always exclude, ``off_shift`` only
    when the request asks for reviewers available now; the rest rank after those available now (and, for
    an expedited case out of hours, after those on call).

    The answers are per kind of row, with ``kinds``: each row's kind and the rows of each kind (for the
    counts); without them, per row."""
    n = len(available_now)
    kind, population = kinds if kinds is not None else (np.arange(n, dtype=np.int64), np.ones(n, dtype=np.int64))
    off_shift = ~available_now & ~on_leave
    bits = np.where(on_leave, BIT["on_leave"], 0).astype(np.int32)
    bits |= np.where(cannot_meet_due, BIT["cannot_meet_due"], 0).astype(np.int32)
    excluded = on_leave | cannot_meet_due
    if require_now:
        bits |= np.where(off_shift, BIT["off_shift"], 0).astype(np.int32)
        excluded = excluded | off_shift
    penalty = np.where(available_now, 0, _RANK_NOT_NOW).astype(np.int64)
    if on_call_first:
        penalty += np.where(on_call_now, 0, _RANK_NOT_ON_CALL)
    counts = {reason: int(population[(bits & BIT[reason]) != 0].sum()) for reason in TIME_REASONS}
    answers = {
        "excluded": excluded,
        "bits": bits,
        "penalty": penalty,
        "available_now": available_now,
        "available_from": available_from,
    }
    return TimeView(kind, answers, counts)


def gathered(values: np.ndarray, at: np.ndarray, missing: int) -> np.ndarray:
    """``values[at]``, with ``missing`` where ``at`` is -1 (``values`` may be empty)."""
    out = np.full(len(at), missing, dtype=values.dtype)
    found = at >= 0
    out[found] = values[at[found]]
    return out
