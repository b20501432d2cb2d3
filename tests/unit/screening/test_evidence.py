"""The evidence of one pair and the decision table (roster.screening.evidence), one variation class at a time."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import get_args, get_type_hints

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from roster.screening.evidence import (
    RULES,
    Evidence,
    Side,
    Verdict,
    compare,
    compare_dob,
    compare_last,
    decide,
)
from roster.screening.names import load_nicknames, nickname_pairs, normalize_name

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
NICKNAMES: dict[str, frozenset[str]] = {}
for a, b in nickname_pairs(load_nicknames(FIXTURES / "nicknames.csv")).iter_rows():
    NICKNAMES[a] = NICKNAMES.get(a, frozenset()) | {b}

DOB = date(1971, 6, 14)
NPI = "1234567893"


def doctor(
    first: str = "John",
    last: str = "Bailey",
    middle: str = "",
    formers: tuple[str, ...] = (),
    dob: date | None = DOB,
    states: tuple[str, ...] = ("TX",),
    npi: str | None = NPI,
) -> Side:
    lasts = tuple(normalize_name(n) for n in (last, *formers))
    return Side(npi, dob, normalize_name(first), normalize_name(middle), lasts, frozenset(states))


def row(
    first: str, last: str, middle: str = "", dob: date | None = DOB, state: str | None = None, npi: str | None = None
) -> Side:
    return Side(
        npi, dob, normalize_name(first), normalize_name(middle), (normalize_name(last),), frozenset({state} - {None})
    )  # type: ignore[arg-type]


def verdict(physician: Side, listed: Side, name_score: float | None = None) -> Verdict | None:
    return decide(compare(physician, listed, NICKNAMES), name_score)


# -- the variation classes of the issue, each a hit on a row with no NPI ------------------------------

CLASSES = [
    # (class, physician, row, last_name evidence, first_name evidence)
    ("exact", doctor(), row("JOHN", "BAILEY"), "exact", "exact"),
    ("diacritics", doctor("José", "Núñez"), row("JOSE", "NUNEZ"), "exact", "exact"),
    ("maiden name", doctor("Mary", "Smith", formers=("Okafor",)), row("MARY", "OKAFOR"), "former", "exact"),
    ("hyphen part", doctor("Maria", "García-López"), row("MARIA", "LOPEZ"), "variant", "exact"),
    ("parts reordered", doctor("Maria", "García López"), row("MARIA", "LOPEZ GARCIA"), "variant", "exact"),
    ("suffix in last name", doctor("John", "Bailey"), row("JOHN", "BAILEY JR"), "exact", "exact"),
    (
        "truncated at the field width",
        doctor("Lakshmi", "Venkataraghavan-Subramanian"),
        row("LAKSHMI", "VENKATARAGHAVAN-SUBR"),
        "variant",
        "exact",
    ),
    ("English nickname", doctor("William", "Bailey"), row("BILL", "BAILEY"), "exact", "nickname"),
    ("Spanish nickname", doctor("Guadalupe", "Ortiz"), row("LUPE", "ORTIZ"), "exact", "nickname"),
    ("Alex for Alejandro", doctor("Alejandro", "Ortiz"), row("ALEX", "ORTIZ"), "exact", "nickname"),
    ("initial", doctor("John", "Bailey"), row("J", "BAILEY"), "exact", "initial"),
    ("middle name as first", doctor("John", "Smith", middle="Anthony"), row("ANTHONY", "SMITH"), "exact", "middle"),
    ("typo in the last name", doctor(), row("JOHN", "BAILEV"), "typo", "exact"),
    ("letters transposed in the last name", doctor(), row("JOHN", "BIALEY"), "typo", "exact"),
    ("typo in the first name", doctor("Venkatesh", "Bailey"), row("VENKATESG", "BAILEY"), "exact", "typo"),
    ("first and last swapped", doctor("Thanh", "Tran", middle="Van"), row("TRAN", "THANH"), "swapped", "swapped"),
]


@pytest.mark.parametrize(
    ("physician", "listed", "last", "first"), [c[1:] for c in CLASSES], ids=[c[0] for c in CLASSES]
)
def test_each_variation_with_an_equal_dob_is_a_name_dob_hit(
    physician: Side, listed: Side, last: str, first: str
) -> None:
    evidence = compare(physician, listed, NICKNAMES)
    assert (evidence.last_name, evidence.first_name, evidence.dob, evidence.npi) == (last, first, "equal", "absent")
    found = decide(evidence)
    assert found is not None and found.kind == "name_dob" and found.suppressed is None


def test_the_row_in_the_state_without_a_dob_is_a_name_lead_given_the_fuzzy_score() -> None:
    listed = row("JOHN", "BAILEY", dob=None, state="TX")
    assert verdict(doctor(), listed, name_score=1.0) == Verdict("name", 1.0)
    assert verdict(doctor(), listed) is None, "without the matcher's fuzzy score the name rule does not apply"


@pytest.mark.parametrize("mistyped", [date(1971, 6, 15), date(1977, 6, 14), date(1971, 8, 14)])
def test_a_dob_one_keystroke_away_is_a_lead_under_the_same_state_rule(mistyped: date) -> None:
    assert verdict(doctor(), row("JOHN", "BAILEY", dob=mistyped, state="TX")) == Verdict("name", 0.85)
    assert verdict(doctor(), row("JOHN", "BAILEY", dob=mistyped)) == Verdict("name", 0.85), "no state on the row"
    assert verdict(doctor(), row("JOHN", "BAILEY", dob=mistyped, state="CA")) is None, "another state"
    assert verdict(doctor(), row("JOHN", "BAILEV", dob=mistyped)) is None, "a typo on top of it"


def test_day_and_month_transposed() -> None:
    assert compare_dob(date(1971, 6, 14), date(1971, 6, 14)) == "equal"
    assert compare_dob(date(1971, 6, 4), date(1971, 4, 6)) == "transposed"
    assert verdict(doctor(dob=date(1971, 6, 4)), row("JOHN", "BAILEY", dob=date(1971, 4, 6))) == Verdict("name", 0.85)


# -- what rules a pair out ----------------------------------------------------------------------


def test_an_npi_on_the_row_identifies_whatever_the_name() -> None:
    assert verdict(doctor(), row("", "ACME HOME HEALTH", dob=None, npi=NPI)) == Verdict("npi", 1.0)


def test_another_valid_npi_vetoes_a_name_hit_into_a_suppressed_one() -> None:
    found = verdict(doctor(), row("JOHN", "BAILEY", npi="1003000126"))
    assert found == Verdict("name_dob", 0.98, suppressed="npi_conflict")
    assert verdict(doctor(), row("JOHN", "BAILEY", dob=None, npi="1003000126"), name_score=1.0) == Verdict(
        "name", 1.0, suppressed="npi_conflict"
    )


def test_another_npi_on_a_row_that_is_no_lead_anyway_is_nothing_at_all() -> None:
    assert verdict(doctor(), row("MARY", "JONES", npi="1003000126")) is None


@pytest.mark.parametrize(
    ("physician", "listed"),
    [
        (doctor(), row("JOHN", "BAILEY", dob=date(1958, 11, 23))),  # a different DOB
        (doctor(), row("PETER", "BAILEY")),  # another first name, same DOB
        (doctor(), row("JOHN", "BALDWIN")),  # another last name, same DOB
        (doctor("Ana", "Li"), row("ANN", "LI")),  # too short to call it a typo
        (doctor(middle="Alan"), row("JOHN", "BAILEY", middle="CARL", dob=None, state="TX")),  # middle names conflict
        (doctor(), row("JOHN", "BAILEY", dob=None, state="CA")),  # no DOB, not a license state
        (doctor(), row("PETER", "BAILEV")),  # two differences at once
    ],
)
def test_near_misses_are_no_lead(physician: Side, listed: Side) -> None:
    assert verdict(physician, listed, name_score=0.99 if listed.dob is None else None) is None


def test_the_evidence_reads_as_the_api_shows_it() -> None:
    evidence = compare(doctor("William", "Bailey"), row("BILL", "BAILEV"), NICKNAMES)
    assert evidence.as_dict() == {
        "npi": "absent",
        "dob": "equal",
        "last_name": "typo",
        "first_name": "nickname",
        "middle_name": "absent",
        "state": "absent",
    }


def test_every_rule_allows_only_evidence_that_exists() -> None:
    """A misspelt value in the table ("typos") would silently never match."""
    hints = get_type_hints(Evidence)
    for rule in RULES:
        for field, values in hints.items():
            allowed = getattr(rule, field)
            assert allowed is None or allowed <= set(get_args(values)), (rule, field)


# -- properties ---------------------------------------------------------------------------------

letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=5, max_size=14)


def _typo(name: str, data: st.DataObject) -> str:
    i = data.draw(st.integers(0, len(name) - 1))
    kind = data.draw(st.sampled_from(["substitute", "delete", "insert", "transpose"]))
    letter = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if kind == "substitute":
        return name[:i] + letter + name[i + 1 :]
    if kind == "delete":
        return name[:i] + name[i + 1 :]
    if kind == "insert":
        return name[:i] + letter + name[i:]
    j = min(i + 1, len(name) - 1)
    return name[:i] + name[j] + name[i] + name[j + 1 :] if j > i else name


@given(last=letters, first=letters, data=st.data())
def test_any_one_letter_typo_in_either_name_with_an_equal_dob_is_a_hit(
    last: str, first: str, data: st.DataObject
) -> None:
    physician = doctor(first, last)
    for listed in (row(first, _typo(last, data)), row(_typo(first, data), last)):
        assume(listed.first and listed.lasts[0])
        found = verdict(physician, listed)
        assert found is not None and found.kind == "name_dob", compare(physician, listed, NICKNAMES)


def _ymd(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


@given(dob=st.dates(min_value=date(1, 1, 1), max_value=date(2005, 12, 31)), data=st.data())
def test_one_changed_digit_is_a_typo_and_more_is_different(dob: date, data: st.DataObject) -> None:
    digits = _ymd(dob)
    i = data.draw(st.integers(0, 7))
    changed = digits[:i] + data.draw(st.sampled_from([d for d in "0123456789" if d != digits[i]])) + digits[i + 1 :]
    try:
        other = date(int(changed[:4]), int(changed[4:6]), int(changed[6:]))
    except ValueError:
        return  # not a date
    transposed = other.year == dob.year and (other.month, other.day) == (dob.day, dob.month)
    assert compare_dob(dob, other) == ("transposed" if transposed else "typo")
    far = dob + timedelta(days=data.draw(st.integers(400, 9000)))
    if sum(a != b for a, b in zip(_ymd(far), digits, strict=True)) > 1:
        assert compare_dob(dob, far) in {"different", "transposed"}


@given(name=letters)
def test_a_last_name_compares_exactly_to_itself_and_its_spaced_form(name: str) -> None:
    assert compare_last((name,), name) == "exact"
    assert compare_last((name[:2] + " " + name[2:],), name) == "exact"
