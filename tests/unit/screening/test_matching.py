"""The matching engine: the whole roster against one list at once (rules.md §4)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from rapidfuzz.distance import JaroWinkler

from roster.screening.evidence import Side, compare, decide
from roster.screening.matching import (
    HIT_SCHEMA,
    MATCH_KINDS,
    ROSTER_SCHEMA,
    PreparedRoster,
    screen,
    screen_prepared,
)
from roster.screening.names import last_name_variants, load_nicknames, nickname_pairs, normalize_name
from roster.sources.records import LIST_SCHEMA

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
NICKNAMES = load_nicknames(FIXTURES / "nicknames.csv")
DOB = date(1970, 3, 4)
LISTING_SCHEMA = {**LIST_SCHEMA, "record": pl.Struct({"key": pl.String(), "note": pl.String()})}
#: Not one keystroke from DOB: a clearly different date of birth.
OTHER_DOB = date(1958, 11, 23)
#: One digit away from DOB (1970 -> 1971) and its day and month exchanged.
TYPO_DOB = date(1971, 3, 4)
TRANSPOSED_DOB = date(1970, 4, 3)


def physician(physician_id: str = "p1", **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "physician_id": physician_id,
        "npi": None,
        "first_name": "Robert",
        "middle_name": None,
        "last_name": "Smith",
        "former_last_names": [],
        "dob": DOB,
        "states": ["TX"],
    }
    return row | values


def listed(record_key: str = "r1", note: str = "", **values: Any) -> dict[str, Any]:
    """A list row; its published record is ``{"key": record_key, "note": note}``."""
    row: dict[str, Any] = {
        "record_key": record_key,
        "entity": False,
        "last_name": None,
        "first_name": None,
        "middle_name": None,
        "business_name": None,
        "npi": None,
        "dob": None,
        "state": None,
        "excluded_on": date(2020, 1, 1),
        "record": {"key": record_key, "note": note},
    }
    return row | values


def published_hash(record_key: str, note: str = "") -> str:
    return hashlib.sha256(f"{record_key}\x1f{note}".encode()).hexdigest()


def roster_of(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ROSTER_SCHEMA, orient="row")


def listing_of(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=LISTING_SCHEMA, orient="row")


def run(roster: list[dict[str, Any]], listing: list[dict[str, Any]], **options: Any) -> pl.DataFrame:
    hits = screen(roster_of(*roster), listing_of(*listing), nicknames=NICKNAMES, **options)
    assert hits.schema == pl.Schema(HIT_SCHEMA)
    return hits


def only(hits: pl.DataFrame) -> dict[str, Any]:
    assert hits.height == 1, hits
    return hits.row(0, named=True)


# -- npi -------------------------------------------------------------------------------------------


def test_npi_hit_names_the_fields_that_also_agree() -> None:
    hit = only(
        run(
            [physician(npi="1234567893")],
            [listed(npi="1234567893", last_name="SMITH", first_name="ROBERT", dob=DOB, state="CA")],
        )
    )
    assert hit["physician_id"] == "p1"
    assert hit["record_key"] == "r1"
    assert hit["record_hash"] == published_hash("r1")
    assert hit["record"] == '{"key":"r1","note":""}'
    assert (hit["match_kind"], hit["score"]) == ("npi", 1.0)
    assert hit["matched_fields"] == ["npi", "last_name", "first_name", "dob"]


def test_npi_hit_with_nothing_else_in_common() -> None:
    hit = only(run([physician(npi="1234567893")], [listed(npi="1234567893", last_name="JONES", first_name="ANN")]))
    assert (hit["match_kind"], hit["matched_fields"]) == ("npi", ["npi"])


def test_entity_row_with_the_physicians_npi_is_a_hit() -> None:
    row = listed(entity=True, business_name="SMITH CLINIC LLC", npi="1234567893")
    hit = only(run([physician(npi="1234567893")], [row]))
    assert (hit["match_kind"], hit["score"], hit["matched_fields"]) == ("npi", 1.0, ["npi"])


@pytest.mark.parametrize("placeholder", ["0000000000", "", "0", " "])
def test_placeholder_npis_never_match(placeholder: str) -> None:
    hits = run([physician(npi=placeholder, last_name="A")], [listed(npi=placeholder, last_name="B", first_name="C")])
    assert hits.is_empty()


# -- name + dob ------------------------------------------------------------------------------------


def test_name_dob_exact() -> None:
    hit = only(run([physician()], [listed(last_name="SMITH", first_name="ROBERT", dob=DOB)]))
    assert (hit["match_kind"], hit["score"]) == ("name_dob", 0.98)
    assert hit["matched_fields"] == ["last_name", "first_name", "dob"]


def test_name_dob_adds_state_when_it_agrees() -> None:
    hit = only(
        run([physician(states=["CA", "TX"])], [listed(last_name="SMITH", first_name="ROBERT", dob=DOB, state="tx")])
    )
    assert hit["matched_fields"] == ["last_name", "first_name", "dob", "state"]


def test_name_dob_does_not_need_the_state() -> None:
    hit = only(run([physician(states=["TX"])], [listed(last_name="SMITH", first_name="ROBERT", dob=DOB, state="NY")]))
    assert (hit["match_kind"], hit["matched_fields"]) == ("name_dob", ["last_name", "first_name", "dob"])


@pytest.mark.parametrize(
    ("roster_name", "list_name"),
    [
        (("José", "Smith"), ("JOSE", "SMITH")),  # accents
        (("Jose", "Núñez"), ("JOSE", "NUNEZ")),
        (("Robert", "Smith Jr."), ("ROBERT", "SMITH")),  # suffixes
        (("Robert", "Smith"), ("ROBERT", "SMITH III")),
        (("Robert", "O'Brien"), ("ROBERT", "OBRIEN")),  # punctuation
        (("Robert", "OBrien"), ("ROBERT", "O'BRIEN")),
        (("robert", "smith"), ("Robert", "SMITH, MD")),  # case
        (("Robert", "De La Cruz"), ("ROBERT", "DELACRUZ")),
    ],
)
def test_name_dob_after_normalisation(roster_name: tuple[str, str], list_name: tuple[str, str]) -> None:
    first, last = roster_name
    list_first, list_last = list_name
    hit = only(
        run(
            [physician(first_name=first, last_name=last)], [listed(last_name=list_last, first_name=list_first, dob=DOB)]
        )
    )
    assert (hit["match_kind"], hit["score"]) == ("name_dob", 0.98)


@pytest.mark.parametrize("part", ["GARCIA", "LOPEZ", "GARCIA-LOPEZ", "GARCIA LOPEZ", "GARCIALOPEZ"])
def test_hyphenated_last_name_matches_each_part(part: str) -> None:
    hit = only(
        run(
            [physician(first_name="Maria", last_name="García-López")],
            [listed(last_name=part, first_name="MARIA", dob=DOB)],
        )
    )
    assert (hit["match_kind"], hit["score"]) == ("name_dob", 0.98)


def test_hyphenated_list_name_matches_a_physician_with_one_part() -> None:
    hit = only(
        run(
            [physician(first_name="Maria", last_name="Lopez")],
            [listed(last_name="GARCIA-LOPEZ", first_name="MARIA", dob=DOB)],
        )
    )
    assert hit["match_kind"] == "name_dob"


def test_former_last_name() -> None:
    roster = [physician(first_name="Anne", last_name="Baker", former_last_names=["Jones", "Li-Wong"])]
    listing = [
        listed("r1", last_name="JONES", first_name="ANNE", dob=DOB),
        listed("r2", last_name="WONG", first_name="ANNE", dob=DOB),
        listed("r3", last_name="CARTER", first_name="ANNE", dob=DOB),
    ]
    hits = run(roster, listing)
    assert hits["record_key"].to_list() == ["r1", "r2"]
    assert set(hits["match_kind"]) == {"name_dob"}


@pytest.mark.parametrize(
    ("roster_first", "list_first"),
    [
        ("Robert", "R"),  # initial on the list
        ("R", "ROBERT"),  # initial on the roster
        ("Robert", "BOB"),  # nickname on the list
        ("Bob", "ROBERT"),  # nickname on the roster
        ("Bob", "ROB"),  # two nicknames of one name
        ("William", "Bill"),
        ("Robert James", "ROBERT"),  # same first word
    ],
)
def test_name_dob_with_initial_or_nickname(roster_first: str, list_first: str) -> None:
    hit = only(run([physician(first_name=roster_first)], [listed(last_name="SMITH", first_name=list_first, dob=DOB)]))
    assert (hit["match_kind"], hit["score"]) == ("name_dob", 0.95)
    assert hit["matched_fields"] == ["last_name", "first_name", "dob"]


def test_different_first_name_same_last_name_and_dob_is_no_hit() -> None:
    assert run([physician(first_name="Robert")], [listed(last_name="SMITH", first_name="WILLIAM", dob=DOB)]).is_empty()
    assert run([physician(first_name="Robert")], [listed(last_name="SMITH", first_name="J", dob=DOB)]).is_empty()


# -- near misses -----------------------------------------------------------------------------------


def test_same_name_different_dob_is_no_hit() -> None:
    listing = [listed(last_name="SMITH", first_name="ROBERT", dob=OTHER_DOB, state="TX")]
    assert run([physician()], listing).is_empty()


def test_entity_row_with_a_physicians_name_is_no_hit() -> None:
    listing = [
        listed("r1", entity=True, last_name="SMITH", first_name="ROBERT", dob=DOB, state="TX"),
        listed("r2", entity=True, last_name="SMITH", first_name="ROBERT", state="TX"),
        listed("r3", entity=True, business_name="ROBERT SMITH MD PA", state="TX"),
    ]
    assert run([physician()], listing).is_empty()


def test_same_name_no_dob_other_state_is_no_hit() -> None:
    listing = [listed(last_name="SMITH", first_name="ROBERT", state="NY")]
    assert run([physician(states=["TX", "CA"])], listing).is_empty()
    assert run([physician(states=[])], listing).is_empty()


def test_fuzzy_score_below_threshold_is_no_hit() -> None:
    assert JaroWinkler.normalized_similarity("SMITHERS MARY", "SMITH MARY") < 0.93
    listing = [listed(last_name="SMITHERS", first_name="MARY", state="TX")]
    assert run([physician(first_name="Mary", last_name="Smith")], listing).is_empty()


def test_different_block_is_no_hit() -> None:
    # 0.95 similar, but SMY- and SMI- are different blocks
    assert JaroWinkler.normalized_similarity("SMYTH MARY", "SMITH MARY") > 0.93
    listing = [listed(last_name="SMYTH", first_name="MARY", state="TX")]
    assert run([physician(first_name="Mary", last_name="Smith")], listing).is_empty()


# -- fuzzy name ------------------------------------------------------------------------------------


def test_name_hit_without_list_dob_in_a_license_state() -> None:
    hit = only(run([physician(states=["CA", "TX"])], [listed(last_name="SMITH", first_name="ROBERT", state="TX")]))
    assert (hit["match_kind"], hit["score"]) == ("name", 1.0)
    assert hit["matched_fields"] == ["last_name", "first_name", "state"]


def test_name_hit_when_the_list_row_has_no_state() -> None:
    hit = only(run([physician()], [listed(last_name="SMITH", first_name="ROBERT")]))
    assert (hit["match_kind"], hit["matched_fields"]) == ("name", ["last_name", "first_name"])


def test_name_hit_when_the_physician_has_no_dob() -> None:
    hit = only(run([physician(dob=None)], [listed(last_name="SMITH", first_name="ROBERT", dob=DOB, state="TX")]))
    assert hit["match_kind"] == "name"


def test_fuzzy_name_hit_scores_jaro_winkler() -> None:
    expected = JaroWinkler.normalized_similarity("KOWALSKY ANNA", "KOWALSKI ANNA")
    assert expected >= 0.93
    hit = only(
        run(
            [physician(first_name="Anna", last_name="Kowalski")],
            [listed(last_name="KOWALSKY", first_name="ANNA", state="TX")],
        )
    )
    assert hit["match_kind"] == "name"
    assert hit["score"] == pytest.approx(expected)
    assert hit["matched_fields"] == ["first_name", "state"]


def test_fuzzy_threshold_is_the_callers() -> None:
    roster = [physician(first_name="Anna", last_name="Kowalski")]
    listing = [listed(last_name="KOWALSKY", first_name="ANNA", state="TX")]
    assert run(roster, listing, fuzzy_threshold=0.99).is_empty()
    assert run(roster, listing, fuzzy_threshold=0.9).height == 1


def test_fuzzy_name_tries_the_nickname_and_the_initial() -> None:
    roster = [physician(first_name="Robert", last_name="Kowalski")]
    listing = [
        listed("r1", last_name="KOWALSKI", first_name="BOB", state="TX"),
        listed("r2", last_name="KOWALSKI", first_name="R", state="TX"),
        listed("r3", last_name="KOWALSKY", first_name="BOB", state="TX"),
    ]
    hits = run(roster, listing)
    assert hits["record_key"].to_list() == ["r1", "r2", "r3"]
    assert set(hits["match_kind"]) == {"name"}
    assert hits["score"].to_list()[:2] == [1.0, 1.0]
    assert hits["score"][2] == pytest.approx(JaroWinkler.normalized_similarity("KOWALSKY ROBERT", "KOWALSKI ROBERT"))


def test_fuzzy_name_uses_former_and_hyphen_parts() -> None:
    roster = [physician(first_name="Maria", last_name="Garcia-Lopez", former_last_names=["Baker"], states=["FL"])]
    listing = [
        listed("r1", last_name="LOPEZ", first_name="MARIA", state="FL"),
        listed("r2", last_name="BAKER", first_name="MARIA"),
        listed("r3", last_name="BAKER", first_name="MARIA", state="GA"),
    ]
    hits = run(roster, listing)
    assert hits["record_key"].to_list() == ["r1", "r2"]
    assert hits["score"].to_list() == [1.0, 1.0]


# -- one row per (physician, record) ---------------------------------------------------------------


def test_strongest_kind_wins() -> None:
    roster = [physician(npi="1234567893")]
    listing = [listed(npi="1234567893", last_name="SMITH", first_name="ROBERT", dob=DOB, state="TX")]
    hit = only(run(roster, listing))
    assert (hit["match_kind"], hit["score"]) == ("npi", 1.0)
    assert hit["matched_fields"] == ["npi", "last_name", "first_name", "dob", "state"]


def test_best_score_wins_within_a_kind() -> None:
    # SMITH is scored against SMITH-JONES (whole, spaceless, each part): the part scores 1.0
    roster = [physician(first_name="Robert", last_name="Smith-Jones", dob=None)]
    assert JaroWinkler.normalized_similarity("SMITH ROBERT", "SMITH JONES ROBERT") < 1.0
    hit = only(run(roster, [listed(last_name="SMITH", first_name="ROBERT", state="TX")]))
    assert (hit["match_kind"], hit["score"]) == ("name", 1.0)


def test_npi_beats_name() -> None:
    roster = [physician(npi="1234567893", dob=None)]
    hit = only(run(roster, [listed(npi="1234567893", last_name="SMITH", first_name="ROBERT", state="TX")]))
    assert (hit["match_kind"], hit["matched_fields"]) == ("npi", ["npi", "last_name", "first_name", "state"])


def test_repeated_record_key_gives_one_row() -> None:
    listing = [
        listed("r1", note="b", last_name="SMITH", first_name="ROBERT", state="TX"),
        listed("r1", note="a", last_name="SMITH", first_name="ROBERT", dob=DOB),
    ]
    hit = only(run([physician()], listing))
    assert (hit["match_kind"], hit["record_hash"]) == ("name_dob", published_hash("r1", "a"))


def test_several_physicians_and_records_sorted() -> None:
    roster = [
        physician("p2", first_name="Ann", last_name="Lee", dob=date(1980, 1, 1)),
        physician("p1", npi="1234567893"),
        physician("p3", first_name="Zed", last_name="Nobody"),
    ]
    listing = [
        listed("r9", last_name="LEE", first_name="ANN", dob=date(1980, 1, 1)),
        listed("r2", npi="1234567893"),
        listed("r1", last_name="SMITH", first_name="BOB", dob=DOB),
        listed("r5", last_name="LEE", first_name="ANN", state="TX"),
    ]
    hits = run(roster, listing)
    assert hits.select("physician_id", "record_key", "match_kind").rows() == [
        ("p1", "r1", "name_dob"),
        ("p1", "r2", "npi"),
        ("p2", "r5", "name"),
        ("p2", "r9", "name_dob"),
    ]


def test_kinds_limit_what_is_tried() -> None:
    roster = [physician(npi="1234567893")]
    listing = [
        listed("r1", npi="1234567893"),
        listed("r2", last_name="SMITH", first_name="ROBERT", dob=DOB),
        listed("r3", last_name="SMITH", first_name="ROBERT", state="TX"),
        listed("r4", npi="1234567893", last_name="SMITH", first_name="ROBERT", dob=DOB),
    ]
    everything = run(roster, listing)
    assert everything.select("record_key", "match_kind").rows() == [
        ("r1", "npi"),
        ("r2", "name_dob"),
        ("r3", "name"),
        ("r4", "npi"),
    ]
    assert run(roster, listing, kinds=("npi",))["record_key"].to_list() == ["r1", "r4"]
    by_name = run(roster, listing, kinds=("name_dob", "name"))
    assert by_name.select("record_key", "match_kind").rows() == [("r2", "name_dob"), ("r3", "name"), ("r4", "name_dob")]
    assert run(roster, listing, kinds=()).is_empty()
    with pytest.raises(ValueError, match="unknown match kinds"):
        run(roster, listing, kinds=("npi", "ssn"))


# -- empty inputs ----------------------------------------------------------------------------------


def test_empty_roster_or_listing() -> None:
    empty_roster = pl.DataFrame(schema=ROSTER_SCHEMA)
    empty_listing = pl.DataFrame(schema=LISTING_SCHEMA)
    some_roster = roster_of(physician())
    some_listing = listing_of(listed(last_name="SMITH", first_name="ROBERT", dob=DOB))
    for roster, listing in [(empty_roster, some_listing), (some_roster, empty_listing), (empty_roster, empty_listing)]:
        hits = screen(roster, listing, nicknames=NICKNAMES)
        assert hits.is_empty()
        assert hits.schema == pl.Schema(HIT_SCHEMA)


def test_no_candidates_at_all() -> None:
    hits = run([physician(dob=None, states=[])], [listed(last_name="JONES", first_name="ANN", state="NY")])
    assert hits.is_empty()


# -- properties ------------------------------------------------------------------------------------

# small pools, so that every kind of hit (and of near miss) turns up often
LASTS = ["Smith", "SMITH JR", "Smithers", "García-López", "Lopez", "O'Brien", "Kowalski", "Kowalsky"]
FIRSTS = ["Robert", "Bob", "R", "Maria", "Anna", None]
DOBS = [None, DOB, DOB, OTHER_DOB]
LIST_DOBS = [None, None, DOB, OTHER_DOB, TYPO_DOB, TRANSPOSED_DOB]
STATES = ["TX", "CA", "NY"]
NPIS = [None, "1234567893", "1003000126"]

roster_rows = st.fixed_dictionaries(
    {
        "npi": st.sampled_from(NPIS),
        "first_name": st.sampled_from(FIRSTS),
        "last_name": st.sampled_from(LASTS),
        "former_last_names": st.lists(st.sampled_from(LASTS), max_size=2),
        "dob": st.sampled_from(DOBS),
        "states": st.lists(st.sampled_from(STATES), max_size=2, unique=True),
    }
)
listing_rows = st.fixed_dictionaries(
    {
        "record_key": st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k6"]),
        "note": st.sampled_from(["h1", "h2"]),
        "entity": st.sampled_from([False, False, False, True]),
        "npi": st.sampled_from(NPIS),
        "first_name": st.sampled_from(FIRSTS),
        "last_name": st.sampled_from(LASTS),
        "dob": st.sampled_from(LIST_DOBS),
        "state": st.sampled_from([None, *STATES]),
    }
)


@settings(max_examples=60)
@given(
    people=st.lists(roster_rows, max_size=6),
    rows=st.lists(listing_rows, max_size=8),
    data=st.data(),
)
def test_result_does_not_depend_on_row_order(
    people: list[dict[str, Any]], rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    roster = roster_of(*(physician(f"p{i}", **p) for i, p in enumerate(people)))
    listing = listing_of(*(listed(**r) for r in rows))
    hits = screen(roster, listing, nicknames=NICKNAMES)
    roster_order = data.draw(st.permutations(list(range(roster.height))))
    listing_order = data.draw(st.permutations(list(range(listing.height))))
    shuffled = screen(roster[roster_order], listing[listing_order], nicknames=NICKNAMES)
    assert_frame_equal(hits, shuffled)
    assert hits.select("physician_id", "record_key").is_duplicated().sum() == 0
    assert hits.sort("physician_id", "record_key").equals(hits)


def test_a_repeated_record_key_keeps_the_same_row_whatever_the_order() -> None:
    """Publishers repeat a key with rows that differ only where the hit's evidence looks (here the DOB):
    which row speaks for the key must not depend on file order (found by the property above in CI)."""
    roster = roster_of(physician("p1", npi="1234567893", first_name="Robert", last_name="Smith", dob=date(1970, 3, 4)))
    rows = [
        listed("k4", "h1", npi="1234567893", first_name="Robert", last_name="Smith", dob=None),
        listed("k4", "h1", npi="1234567893", first_name="Robert", last_name="Smith", dob=OTHER_DOB),
    ]
    forward = screen(roster, listing_of(*rows), nicknames=NICKNAMES)
    backward = screen(roster, listing_of(*reversed(rows)), nicknames=NICKNAMES)
    assert forward.height == 1
    assert_frame_equal(forward, backward)


NICKNAME_PAIRS = set(nickname_pairs(NICKNAMES).iter_rows())


def compatible_first_names(listed_first: str, roster_first: str) -> bool:
    a, b = listed_first.split(" ")[0], roster_first.split(" ")[0]
    initial = (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))
    return listed_first == roster_first or a == b or initial or (a, b) in NICKNAME_PAIRS


def middle_names_conflict(listed_middle: str | None, roster_middle: str | None) -> bool:
    a, b = normalize_name(listed_middle).split(" ")[0], normalize_name(roster_middle).split(" ")[0]
    if not a or not b:
        return False
    return not (a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)))


NICKNAME_MAP = {a: frozenset(b for x, b in NICKNAME_PAIRS if x == a) for a, _ in NICKNAME_PAIRS}


def side(row: dict[str, Any], *, entity: bool = False) -> Side:
    """One side of a pair as :mod:`roster.screening.evidence` reads it; an entity row has no person name."""
    npi = (row["npi"] or "").strip()
    lasts = (row["last_name"], *row.get("former_last_names", ()))
    states = row["states"] if "states" in row else [row["state"]] if row["state"] else []
    return Side(
        npi=npi if npi.strip("0") else None,
        dob=row["dob"],
        first="" if entity else normalize_name(row["first_name"]),
        middle="" if entity else normalize_name(row["middle_name"]),
        lasts=() if entity else tuple(n for n in map(normalize_name, lasts) if n),
        states=frozenset(states),
    )


def name_score(p: dict[str, Any], r: dict[str, Any], known_surnames: set[str], threshold: float) -> float | None:
    """The fuzzy "LAST FIRST" score over every pair of last-name variants with a common 3-letter block,
    when one side has no DOB, the first names are compatible and the row's surname is not one the roster
    carries under another spelling (rules.md §4 ``name``); None below ``threshold``."""
    p_first, r_first = normalize_name(p["first_name"]), normalize_name(r["first_name"])
    if r["entity"] or not (r_first and p_first) or not compatible_first_names(r_first, p_first):
        return None
    if r["dob"] is not None and p["dob"] is not None:
        return None
    p_variants = last_name_variants(p["last_name"], p["former_last_names"])
    blocks = {v[:3] for v in p_variants}
    scores = [
        JaroWinkler.normalized_similarity(f"{vr} {first}", f"{vp} {p_first}")
        for vr in last_name_variants(r["last_name"], parts=False)
        if vr[:3] in blocks
        for vp in p_variants
        if vp[:3] == vr[:3] and (vr == vp or vr not in known_surnames)
        for first in {r_first, p_first}
    ]
    best = max(scores, default=0.0)
    return best if best >= threshold else None


def oracle(people: list[dict[str, Any]], rows: list[dict[str, Any]], threshold: float = 0.93) -> set[tuple]:
    """The decision table applied to every pair, with no blocking: (physician, record_key, kind, suppressed)."""
    known_surnames = set().union(*(last_name_variants(p["last_name"], p["former_last_names"]) for p in people))
    found: dict[tuple[str, str], tuple[str, float, str | None]] = {}
    for p in people:
        for r in rows:
            found_evidence = compare(side(p), side(r, entity=r["entity"]), NICKNAME_MAP)
            verdict = decide(found_evidence, name_score(p, r, known_surnames, threshold))
            if verdict is None:
                continue
            key = (p["physician_id"], r["record_key"])
            mine = (verdict.suppressed is not None, MATCH_KINDS.index(verdict.kind), -verdict.score)
            if key not in found or mine < found[key][3]:  # type: ignore[operator]
                found[key] = (verdict.kind, verdict.score, verdict.suppressed, mine)  # type: ignore[assignment]
    return {(pid, key, kind, suppressed) for (pid, key), (kind, _, suppressed, _) in found.items()}


ORACLE_LASTS = [
    "Smith",
    "SMITH JR",
    "Smyth",
    "Smithe",
    "García-López",
    "Lopez",
    "Kowalski",
    "Kowalsky",
    "Robert",
    "Tran",
]
ORACLE_FIRSTS = ["Robert", "Bob", "Rob", "R", "Roberta", "B", "Anna", "Ann Marie", "A", "Smith", "Tran Van", None]
ORACLE_MIDDLES = [None, "Alan", "A", "C", "Carl"]


@settings(max_examples=200, deadline=None)
@given(
    people=st.lists(
        st.fixed_dictionaries(
            {
                "npi": st.sampled_from(NPIS),
                "first_name": st.sampled_from(ORACLE_FIRSTS),
                "middle_name": st.sampled_from(ORACLE_MIDDLES),
                "last_name": st.sampled_from(ORACLE_LASTS),
                "former_last_names": st.lists(st.sampled_from(ORACLE_LASTS), max_size=1),
                "dob": st.sampled_from(DOBS),
                "states": st.lists(st.sampled_from(STATES), max_size=2, unique=True),
            }
        ),
        max_size=6,
    ),
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "entity": st.sampled_from([False, False, False, True]),
                "npi": st.sampled_from(NPIS),
                "first_name": st.sampled_from(ORACLE_FIRSTS),
                "middle_name": st.sampled_from(ORACLE_MIDDLES),
                "last_name": st.sampled_from(ORACLE_LASTS),
                "dob": st.sampled_from(LIST_DOBS),
                "state": st.sampled_from([None, *STATES]),
            }
        ),
        max_size=8,
    ),
)
def test_the_blocked_engine_finds_what_the_rules_say(people: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """The joins on blocking and first-name keys lose nothing the rules allow, and add nothing."""
    roster = [physician(f"p{i}", **p) for i, p in enumerate(people)]
    listing = [listed(f"k{i}", **r) for i, r in enumerate(rows)]
    hits = run(roster, listing)
    found = set(hits.select("physician_id", "record_key", "match_kind", "suppressed").iter_rows())
    assert found == oracle(roster, listing)


def test_a_surname_the_roster_carries_is_taken_as_spelled() -> None:
    """JOHNSTON on a list without a DOB is the Johnstons' lead; only a spelling no roster physician has
    is read as a possible typo for a similar surname."""
    johnson = physician("johnson", first_name="Robert", last_name="Johnson", dob=None)
    johnston = physician("johnston", first_name="Robert", last_name="Johnston", dob=None)
    row = listed(last_name="JOHNSTON", first_name="ROBERT", state="TX")
    assert JaroWinkler.normalized_similarity("JOHNSTON ROBERT", "JOHNSON ROBERT") >= 0.93
    hits = run([johnson, johnston], [row])
    assert [(h["physician_id"], h["match_kind"]) for h in hits.iter_rows(named=True)] == [("johnston", "name")]
    alone = only(run([johnson], [row]))
    assert (alone["physician_id"], alone["match_kind"]) == ("johnson", "name")


@pytest.mark.parametrize(("roster_first", "list_first"), [("Joseph", "RAJESH"), ("Charles", "CHARLENE")])
def test_a_shared_surname_alone_is_no_name_hit(roster_first: str, list_first: str) -> None:
    """PETERSON JOSEPH ~ PETERSON RAJESH scores over 0.93 on the full name; the first names differ."""
    full = JaroWinkler.normalized_similarity(f"PETERSON {list_first}", f"PETERSON {roster_first.upper()}")
    assert full >= 0.93, "the full-name score alone would have matched"
    roster = [physician(first_name=roster_first, last_name="Peterson")]
    assert run(roster, [listed(last_name="PETERSON", first_name=list_first, state="TX")]).is_empty()


@pytest.mark.parametrize(
    ("roster_first", "list_first"), [("John", "JOHAN"), ("Michael", "MICHELLE"), ("Donald", "RONALD")]
)
def test_a_merely_similar_first_name_is_no_lead_without_a_dob(roster_first: str, list_first: str) -> None:
    """Only the last name is matched fuzzily; first names must be equal, an initial or a nickname, as
    for name_dob. Without a DOB, MICHAEL ~ MICHELLE is far more often two people than a typo."""
    assert JaroWinkler.normalized_similarity(list_first, roster_first.upper()) >= 0.88
    roster = [physician(first_name=roster_first, last_name="Kowalski")]
    assert run(roster, [listed(last_name="KOWALSKI", first_name=list_first, state="TX")]).is_empty()


@pytest.mark.parametrize(
    ("roster_last", "list_last", "roster_first", "list_first"),
    [("Pham", "PHM", "Tuan", "TUAN"), ("Wang", "ANG", "Kathleen", "KATHLEEN"), ("Kumar", "KUMAR", "Arun", "AUN")],
)
def test_a_letter_dropped_from_a_four_letter_name_is_a_typo_with_an_equal_dob(
    roster_last: str, list_last: str, roster_first: str, list_first: str
) -> None:
    """The row keeps three letters of a four-letter name (found by bench/screening_classes.py)."""
    roster = [physician(first_name=roster_first, last_name=roster_last)]
    hit = only(run(roster, [listed(last_name=list_last, first_name=list_first, state="TX", dob=DOB)]))
    evidence = json.loads(hit["evidence"])
    assert "typo" in (evidence["last_name"], evidence["first_name"])


@pytest.mark.parametrize(
    ("roster_last", "list_last"),
    [("Raonairagarwallakshmanan", "RAONAIRAGARWALLAKSHM"), ("de la Cruzperezgonzalez", "DE LA CRUZPEREZGONZA")],
)
def test_a_long_last_name_cut_at_the_leie_width_is_found_with_an_equal_dob(roster_last: str, list_last: str) -> None:
    """Not a hyphenated name whose first part survives the cut: only the start of the name is on the row."""
    roster = [physician(first_name="Ivan", last_name=roster_last)]
    hit = only(run(roster, [listed(last_name=list_last, first_name="IVAN", state="TX", dob=DOB)]))
    assert json.loads(hit["evidence"])["last_name"] == "truncated"
    other_dob = run(roster, [listed(last_name=list_last, first_name="IVAN", state="TX", dob=OTHER_DOB)])
    assert other_dob.is_empty()


@pytest.mark.parametrize(
    ("roster_first", "list_first", "lead"),
    [("Eva", "AVA", False), ("Ana", "ANN", False), ("Michael", "MICHELLE", False), ("Donald", "RONALD", True),
     ("Bailey", "BAILEV", True)],
)  # fmt: skip
def test_with_an_equal_dob_a_one_letter_first_name_typo_is_a_lead(
    roster_first: str, list_first: str, lead: bool
) -> None:
    """Two letters apart (MICHAEL, MICHELLE) or a name too short to tell a typo (ANA, ANN) is still no lead."""
    roster = [physician(first_name=roster_first, last_name="Kowalski")]
    hits = run(roster, [listed(last_name="KOWALSKI", first_name=list_first, state="TX", dob=DOB)])
    assert hits.height == int(lead)
    if lead:
        assert json.loads(hits["evidence"][0])["first_name"] == "typo"


@pytest.mark.parametrize(("roster_first", "list_first"), [("R", "ROBERT"), ("Robert", "R"), ("R. J.", "RICHARD")])
def test_an_initial_on_either_side_is_a_name_lead(roster_first: str, list_first: str) -> None:
    roster = [physician(first_name=roster_first, dob=None)]
    hit = only(run(roster, [listed(last_name="SMITH", first_name=list_first, state="TX")]))
    assert (hit["match_kind"], hit["score"], hit["matched_fields"]) == (
        "name",
        1.0,
        ["last_name", "first_name", "state"],
    )


def test_a_last_name_typo_with_a_nickname_is_still_a_lead() -> None:
    roster = [physician(first_name="William", last_name="Kowalski", dob=None)]
    hit = only(run(roster, [listed(last_name="KOWALSKY", first_name="BILL", state="TX")]))
    assert hit["match_kind"] == "name"
    assert hit["score"] == pytest.approx(JaroWinkler.normalized_similarity("KOWALSKY WILLIAM", "KOWALSKI WILLIAM"))


@pytest.mark.parametrize(
    ("roster_middle", "list_middle", "lead"),
    [
        ("Alan", "C", False),
        ("A", "CARL", False),
        ("Alan", "Carl", False),
        ("Alan", "A", True),
        ("A", "ALAN", True),
        ("Alan James", "ALAN", True),
        (None, "C", True),
        ("Alan", None, True),
    ],
)
def test_conflicting_middle_names_rule_out_a_name_lead(
    roster_middle: str | None, list_middle: str | None, lead: bool
) -> None:
    roster = [physician(middle_name=roster_middle)]
    hits = run(roster, [listed(last_name="SMITH", first_name="ROBERT", middle_name=list_middle, state="TX")])
    assert hits.height == int(lead)


def test_a_middle_name_unknown_to_the_roster_still_conflicts() -> None:
    roster = [physician(middle_name="Alan")]
    assert run(roster, [listed(last_name="SMITH", first_name="ROBERT", middle_name="ZEBEDEE", state="TX")]).is_empty()


def test_a_conflicting_middle_name_does_not_undo_a_dob_match() -> None:
    roster = [physician(middle_name="Alan")]
    hit = only(run(roster, [listed(last_name="SMITH", first_name="ROBERT", middle_name="C", dob=DOB)]))
    assert hit["match_kind"] == "name_dob"


# -- one roster, several lists ---------------------------------------------------------------------


def test_a_prepared_roster_screens_several_lists_as_screen_does() -> None:
    roster = roster_of(
        physician("p1", npi="1234567893"),
        physician("p2", first_name="Ann", last_name="Lee", dob=None, middle_name="B"),
        physician("p3", first_name="Wojciech", last_name="Brzeczyszczykiewicz", states=["IL"]),
    )
    lists = [
        listing_of(listed("r1", npi="1234567893"), listed("r2", last_name="LEE", first_name="ANN", state="TX")),
        listing_of(
            listed("s1", last_name="BRZECZYSZCZYKIEWICZ", first_name="WOJCIECH", dob=DOB),
            listed("s2", last_name="LEE", first_name="ANN", middle_name="BETH"),
            listed("s3", last_name="LEE", first_name="A", middle_name="C"),
        ),
    ]
    prepared = PreparedRoster(roster, NICKNAMES)
    for listing in lists:
        assert_frame_equal(screen_prepared(prepared, listing), screen(roster, listing, nicknames=NICKNAMES))
    assert screen_prepared(prepared, lists[0])["record_key"].to_list() == ["r1", "r2"]
    assert screen_prepared(prepared, lists[1]).select("physician_id", "record_key").rows() == [
        ("p2", "s2"),
        ("p3", "s1"),
    ]


def test_an_npi_only_list_still_names_the_fields_that_agree() -> None:
    roster = [physician(npi="1234567893", first_name="Ann", last_name="Lee")]
    listing = [listed("r1", npi="1234567893", last_name="LEE", first_name="A"), listed("r2", last_name="LEE")]
    hit = only(run(roster, listing, kinds=("npi",)))
    assert (hit["record_key"], hit["matched_fields"]) == ("r1", ["npi", "last_name", "first_name"])


def test_the_record_is_hashed_and_serialised_as_published() -> None:
    roster = [physician(npi="1234567893")]
    hit = only(run(roster, [listed("r1", note='Ü "quoted"', npi="1234567893")]))
    assert hit["record_hash"] == published_hash("r1", 'Ü "quoted"')
    assert json.loads(hit["record"]) == {"key": "r1", "note": 'Ü "quoted"'}


def test_a_legacy_snapshot_with_json_records_still_screens() -> None:
    """Snapshots parsed before records were kept as structs hold ``record`` as JSON and a
    ``record_hash``: both pass through unchanged."""
    legacy = listing_of(listed("r1", npi="1234567893")).with_columns(
        record=pl.lit('{"key":"r1"}'), record_hash=pl.lit("old-hash")
    )
    hits = screen(roster_of(physician(npi="1234567893")), legacy, nicknames=NICKNAMES)
    assert only(hits)["record_hash"] == "old-hash" and only(hits)["record"] == '{"key":"r1"}'


def test_a_listing_in_many_chunks_screens_as_one() -> None:
    """A parsed list arrives in chunks; the hits' published rows are looked up chunk by chunk."""
    rows = [listed(f"r{i}", note=f"n{i}", last_name="SMITH", first_name="ROBERT", state="TX") for i in range(7)]
    rows += [listed("x", last_name="JONES", first_name="ANN"), listed("n", npi="1234567893")]
    chunked = pl.concat([listing_of(row) for row in rows], rechunk=False)
    assert chunked.get_column("record").n_chunks() == len(rows)
    roster = roster_of(physician(), physician("p2", npi="1234567893", first_name="Ann", last_name="Jones", dob=None))
    hits = screen(roster, chunked, nicknames=NICKNAMES)
    assert_frame_equal(hits, screen(roster, chunked.rechunk(), nicknames=NICKNAMES))
    assert sorted(hits["record_key"]) == ["n", "r0", "r1", "r2", "r3", "r4", "r5", "r6", "x"]
    assert hits.filter(pl.col("record_key") == "r3")["record"].item() == '{"key":"r3","note":"n3"}'


def test_screen_prepared_takes_the_roster_when_it_is_ready() -> None:
    """The service prepares the roster in a thread: screen_prepared may be given a function for it."""
    roster = PreparedRoster(roster_of(physician(npi="1234567893")), NICKNAMES)
    listing = listing_of(listed(npi="1234567893"), listed("r2", last_name="SMITH", first_name="BOB", state="TX"))
    assert_frame_equal(screen_prepared(lambda: roster, listing), screen_prepared(roster, listing))


# -- evidence: the classes the joins must find, and the NPI veto -----------------------------------


@pytest.mark.parametrize(
    ("roster_row", "list_row", "evidence"),
    [
        ({"last_name": "Bailey"}, {"last_name": "BAILEV", "first_name": "ROBERT"}, {"last_name": "typo"}),
        ({"last_name": "Bailey"}, {"last_name": "BAILEY", "first_name": "ROBERTA"}, {"first_name": "typo"}),
        ({"middle_name": "Anthony"}, {"last_name": "SMITH", "first_name": "ANTHONY"}, {"first_name": "middle"}),
        (
            {"first_name": "Thanh", "middle_name": "Van", "last_name": "Tran"},
            {"last_name": "THANH", "first_name": "TRAN"},
            {"last_name": "swapped", "first_name": "swapped"},
        ),
        ({}, {"last_name": "SMITH", "first_name": "ROBERT", "dob": TYPO_DOB}, {"dob": "typo"}),
        ({}, {"last_name": "SMITH", "first_name": "ROBERT", "dob": TRANSPOSED_DOB}, {"dob": "transposed"}),
    ],
)
def test_the_joins_find_every_close_variation(
    roster_row: dict[str, Any], list_row: dict[str, Any], evidence: dict[str, str]
) -> None:
    row = {"dob": DOB, **list_row}
    hit = only(run([physician(**roster_row)], [listed(**row)]))
    assert hit["suppressed"] is None
    assert evidence.items() <= json.loads(hit["evidence"]).items()


def test_a_row_with_another_npi_comes_back_suppressed_not_as_a_hit() -> None:
    roster = [physician(npi="1234567893")]
    hit = only(run(roster, [listed(last_name="SMITH", first_name="ROBERT", dob=DOB, npi="1003000126")]))
    assert (hit["match_kind"], hit["suppressed"]) == ("name_dob", "npi_conflict")
    assert json.loads(hit["evidence"])["npi"] == "conflict"


def test_a_suppressed_row_never_hides_a_hit_on_the_same_record() -> None:
    """Two published rows under one record key, one with the physician's NPI and one with another."""
    roster = [physician(npi="1234567893")]
    rows = [
        listed("r1", note="a", last_name="SMITH", first_name="ROBERT", dob=DOB, npi="1003000126"),
        listed("r1", note="b", last_name="SMITH", first_name="ROBERT", dob=DOB, npi="1234567893"),
    ]
    hit = only(run(roster, rows))
    assert (hit["match_kind"], hit["suppressed"]) == ("npi", None)
