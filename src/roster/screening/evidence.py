"""How a physician and a list row compare, field by field, and what that evidence decides (rules.md §4).

Pure functions of two already normalised sides (:func:`roster.screening.names.normalize_name`): no
I/O, no clock. The matcher (:mod:`roster.screening.matching`) finds the candidate pairs cheaply in
polars; every candidate is then described by :func:`compare` and judged by :func:`decide`, whose rules
are the table :data:`RULES`, read top to bottom. The same code serves every list (LEIE, SAM, preclusion).

Evidence per field:

* ``npi``: ``equal`` | ``absent`` (either side has none) | ``conflict`` (two valid, different NPIs: an
  individual has exactly one, so the row is another person: the pair is suppressed, not a hit).
* ``dob``: ``equal`` | ``transposed`` (day and month swapped) | ``typo`` (one digit of YYYYMMDD differs)
  | ``absent`` | ``different``.
* ``last_name``: ``exact`` | ``former`` (a former last name) | ``variant`` (a hyphen/space part, the
  parts in another order, spaces dropped) | ``truncated`` (cut at the list's field width) | ``typo`` (one
  edit: substitution, insertion, deletion or adjacent transposition) | ``swapped`` (first and last
  names exchanged) | ``different``.
* ``first_name``: ``exact`` | ``first_word`` (MARY for MARY ANN) | ``initial`` | ``nickname`` | ``truncated`` |
  ``middle`` (the row's first name is the physician's middle name) | ``typo`` | ``swapped`` | ``different``.
* ``middle_name``: ``agree`` | ``absent`` (either side has none) | ``conflict``.
* ``state``: ``licensed`` (the row's state is one of the physician's license states) | ``absent`` | ``other``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal, NamedTuple

from rapidfuzz.distance import OSA

from roster.screening.names import PARTICLES

NpiEvidence = Literal["equal", "absent", "conflict"]
DobEvidence = Literal["equal", "transposed", "typo", "absent", "different"]
LastEvidence = Literal["exact", "former", "variant", "truncated", "typo", "swapped", "different"]
FirstEvidence = Literal[
    "exact", "first_word", "initial", "nickname", "truncated", "middle", "typo", "swapped", "different"
]
MiddleEvidence = Literal["agree", "absent", "conflict"]
StateEvidence = Literal["licensed", "absent", "other"]

#: A name cut at a list's field width is recognised from this many letters on (LEIE: last name 20,
#: first name 15): shorter prefixes are too common to mean anything.
TRUNCATED_FROM = 12
#: A one-letter typo is recognised when the longer name has at least this many letters (ANA/ANN, LI/LE
#: are names; PHM for PHAM, AUN for ARUN are typos).
TYPO_FROM = 4


class Side(NamedTuple):
    """One person as the matcher sees them, names normalised ("" when absent).

    Tuples, like :class:`Evidence`: thousands are built and hashed per list, and a tuple's are C code."""

    npi: str | None
    dob: date | None
    first: str
    middle: str
    #: The current last name first, then former last names (physicians only).
    lasts: tuple[str, ...]
    #: A physician's license states; a list row's state (one or none).
    states: frozenset[str]


class Evidence(NamedTuple):
    npi: NpiEvidence
    dob: DobEvidence
    last_name: LastEvidence
    first_name: FirstEvidence
    middle_name: MiddleEvidence
    state: StateEvidence

    def as_dict(self) -> dict[str, str]:
        return dict(zip(_FIELDS, self, strict=True))

    def as_json(self) -> str:
        """:meth:`as_dict` as JSON, encoded once per distinct evidence."""
        return _encoded(self)


class Verdict(NamedTuple):
    """What a pair amounts to: ``kind`` and ``score`` of the hit, or why it is ``suppressed``."""

    kind: Literal["npi", "name_dob", "name"]
    score: float
    suppressed: str | None = None


@functools.lru_cache(maxsize=4096)
def _encoded(evidence: Evidence) -> str:
    return json.dumps(evidence.as_dict(), separators=(",", ":"))


# -- comparing ---------------------------------------------------------------------------------


def compare_npi(physician: str | None, row: str | None) -> NpiEvidence:
    if not physician or not row:
        return "absent"
    return "equal" if physician == row else "conflict"


def compare_dob(physician: date | None, row: date | None) -> DobEvidence:
    if physician is None or row is None:
        return "absent"
    if physician == row:
        return "equal"
    if physician.year == row.year and physician.month == row.day and physician.day == row.month:
        return "transposed"
    a, b = _digits(physician), _digits(row)
    return "typo" if sum(x != y for x, y in zip(a, b, strict=True)) == 1 else "different"


def _digits(day: date) -> str:
    """YYYYMMDD, the year zero-padded (``strftime`` does not pad years before 1000 on every platform)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _parts(name: str) -> frozenset[str]:
    return frozenset(p for p in name.split(" ") if len(p) > 1 and p not in PARTICLES)


def _one_edit(a: str, b: str) -> bool:
    return max(len(a), len(b)) >= TYPO_FROM and OSA.distance(a, b, score_cutoff=1) == 1


def _truncated(row: str, full: str) -> bool:
    """``row`` is ``full`` cut at a field width (compared with and without spaces)."""
    if len(row) < TRUNCATED_FROM:
        return False
    return (full.startswith(row) and len(full) > len(row)) or (
        full.replace(" ", "").startswith(row.replace(" ", ""))
        and len(full.replace(" ", "")) > len(row.replace(" ", ""))
    )


def compare_last(lasts: tuple[str, ...], row: str) -> LastEvidence:
    """The row's last name against the physician's current and former ones (swaps are judged by :func:`compare`)."""
    if not row or not lasts:
        return "different"
    current, formers = lasts[0], lasts[1:]
    spaceless = row.replace(" ", "")
    if row == current or spaceless == current.replace(" ", ""):
        return "exact"
    if any(row == f or spaceless == f.replace(" ", "") for f in formers):
        return "former"
    row_parts = _parts(row)
    if any(row_parts & _parts(name) for name in lasts):
        return "variant"
    if any(_truncated(row, name) for name in lasts):
        return "truncated"
    if any(_one_edit(row, name) or _one_edit(spaceless, name.replace(" ", "")) for name in lasts):
        return "typo"
    return "different"


def _first_word(name: str) -> str:
    return name.split(" ", 1)[0]


def compare_first(physician: Side, row: str, nicknames: Mapping[str, frozenset[str]]) -> FirstEvidence:
    """The row's first name against the physician's (swaps are judged by :func:`compare`)."""
    mine = physician.first
    if not row or not mine:
        return "different"
    a, b = _first_word(mine), _first_word(row)
    if row == mine:
        return "exact"
    if a == b:
        return "first_word"
    if (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return "initial"
    if b in nicknames.get(a, frozenset()):
        return "nickname"
    if _truncated(row, mine):
        return "truncated"
    if physician.middle and (row == physician.middle or b == _first_word(physician.middle)) and len(b) > 1:
        return "middle"
    if _one_edit(a, b) or _one_edit(row, mine):
        return "typo"
    return "different"


def compare_middle(physician: str, row: str) -> MiddleEvidence:
    """Neither the first word nor an initial agrees: ROBERT A SMITH is not ROBERT C SMITH."""
    if not physician or not row:
        return "absent"
    a, b = _first_word(physician), _first_word(row)
    if a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return "agree"
    return "conflict"


def compare_state(licensed: frozenset[str], row: frozenset[str]) -> StateEvidence:
    if not row:
        return "absent"
    return "licensed" if row & licensed else "other"


def compare(physician: Side, row: Side, nicknames: Mapping[str, frozenset[str]]) -> Evidence:
    """Field by field. First and last names exchanged on the row (TRAN THANH for Thanh Van Tran) are
    ``swapped`` on both, when that reads better than the names in their places."""
    row_last = row.lasts[0] if row.lasts else ""
    last = compare_last(physician.lasts, row_last)
    first = compare_first(physician, row.first, nicknames)
    middle = compare_middle(physician.middle, row.middle)
    if last not in _STRONG_LAST or first not in _STRONG_FIRST:
        # the row's last name is the physician's first name, and its first name the physician's last
        swapped_first = compare_first(physician, row_last, nicknames) in {"exact", "first_word"}
        swapped_last = compare_last(physician.lasts, row.first) in {"exact", "former", "variant"}
        if swapped_first and swapped_last:
            last, first, middle = "swapped", "swapped", "absent"
    return Evidence(
        npi=compare_npi(physician.npi, row.npi),
        dob=compare_dob(physician.dob, row.dob),
        last_name=last,
        first_name=first,
        middle_name=middle,
        state=compare_state(physician.states, row.states),
    )


# -- deciding ----------------------------------------------------------------------------------

_STRONG_LAST: frozenset[str] = frozenset({"exact", "former", "variant", "truncated"})
_STRONG_FIRST: frozenset[str] = frozenset({"exact", "first_word", "initial", "nickname", "truncated"})


_FIELDS = ("npi", "dob", "last_name", "first_name", "middle_name", "state")


@dataclass(frozen=True)
class Rule:
    """One line of the decision table: every listed field's evidence must be one of its values."""

    kind: Literal["npi", "name_dob", "name"]
    #: The hit's score; None: the fuzzy name score the matcher computed (``name`` kind).
    score: float | None
    npi: frozenset[str] | None = None
    dob: frozenset[str] | None = None
    last_name: frozenset[str] | None = None
    first_name: frozenset[str] | None = None
    middle_name: frozenset[str] | None = None
    state: frozenset[str] | None = None

    def __post_init__(self) -> None:
        # the fields this rule constrains, looked up once: the matcher judges thousands of pairs per list
        checks = tuple((field, allowed) for field in _FIELDS if (allowed := getattr(self, field)) is not None)
        object.__setattr__(self, "_checks", checks)

    def holds(self, evidence: Evidence) -> bool:
        return all(getattr(evidence, field) in allowed for field, allowed in self._checks)  # type: ignore[attr-defined]


def _any(*values: str) -> frozenset[str]:
    return frozenset(values)


_NAME_FIELDS = frozenset({"exact", "former", "variant", "truncated", "typo", "swapped", "different"})
_NOT_CONFLICTING = _any("agree", "absent")

#: The decision table, strongest first: the first rule that holds decides. Identifiers identify; an
#: equal DOB makes a close name enough (one typo in either part, the middle name as first, first and
#: last swapped). A DOB one keystroke away does not rule a person out: with the name itself it is a
#: lead under the same rule as a row with no DOB (middle names not in conflict, the row's state, if
#: any, a license state); with no DOB the fuzzy "LAST FIRST" score decides, as before. The first names
#: each rule accepts are those the matcher's joins look up (see :mod:`roster.screening.matching`).
RULES: tuple[Rule, ...] = (
    Rule("npi", 1.0, npi=_any("equal")),
    Rule("name_dob", 0.98, dob=_any("equal"), last_name=_STRONG_LAST, first_name=_any("exact")),
    Rule("name_dob", 0.95, dob=_any("equal"), last_name=_STRONG_LAST, first_name=_STRONG_FIRST),
    Rule("name_dob", 0.9, dob=_any("equal"), last_name=_STRONG_LAST, first_name=_any("middle", "typo")),
    Rule(
        "name_dob", 0.9, dob=_any("equal"), last_name=_any("typo"), first_name=_any("exact", "first_word", "nickname")
    ),
    Rule("name_dob", 0.9, dob=_any("equal"), last_name=_any("swapped"), first_name=_any("swapped")),
    Rule(
        "name",
        0.85,
        dob=_any("typo", "transposed"),
        last_name=_any("exact", "former", "variant"),
        first_name=_any("exact", "first_word", "initial", "nickname"),
        middle_name=_NOT_CONFLICTING,
        state=_any("licensed", "absent"),
    ),
    Rule(
        "name",
        None,
        dob=_any("absent"),
        last_name=_NAME_FIELDS - {"swapped"},
        first_name=_STRONG_FIRST,
        middle_name=_NOT_CONFLICTING,
        state=_any("licensed", "absent"),
    ),
)

#: The rules that can hold for each DOB evidence, in table order (the DOB rules most pairs out at once).
_RULES_BY_DOB: Mapping[str, tuple[Rule, ...]] = {
    dob: tuple(rule for rule in RULES if rule.dob is None or dob in rule.dob)
    for dob in ("equal", "transposed", "typo", "absent", "different")
}

#: A name-based verdict is vetoed when the row names another person by an identifier.
VETOES: Mapping[str, Rule] = {"npi_conflict": Rule("name", None, npi=_any("conflict"))}


def decide(
    evidence: Evidence, name_score: float | None = None, *, kinds: Collection[str] = ("npi", "name_dob", "name")
) -> Verdict | None:
    """The verdict for one pair, or None (no lead). ``name_score``: the fuzzy "LAST FIRST" score the
    matcher found at or over its threshold, for a pair with no DOB to compare; without it the ``name``
    rule does not apply. ``kinds``: the kinds of hit this list may raise (the preclusion list: NPI only)."""
    found = _rule_for(evidence, name_score is not None, frozenset(kinds))
    if found is None:
        return None
    rule, suppressed = found
    score = rule.score if rule.score is not None else name_score
    assert score is not None
    return Verdict(rule.kind, score, suppressed)


@functools.lru_cache(maxsize=4096)
def _rule_for(evidence: Evidence, scored: bool, kinds: frozenset[str]) -> tuple[Rule, str | None] | None:
    """The first rule that holds, and the veto that suppresses it if any. Evidence takes a few hundred
    distinct values over thousands of pairs: each is worked out once."""
    for rule in _RULES_BY_DOB[evidence.dob]:
        if rule.kind not in kinds or not rule.holds(evidence) or (rule.score is None and not scored):
            continue
        if rule.kind != "npi":
            for reason, veto in VETOES.items():
                if veto.holds(evidence):
                    return rule, reason
        return rule, None
    return None
