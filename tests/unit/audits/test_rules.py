"""The audit pack's rules: the sample (size, per-kind minimum, reproducibility) and each element's score."""

from __future__ import annotations

import math
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.audits.rules import (
    DEFAULT_SOURCES_PATH,
    KINDS,
    FileRef,
    SampleRule,
    VerificationRecord,
    draw_sample,
    file_passes,
    load_sources,
    relied_on,
    sample_size,
    score_file,
)
from roster.credentialing.rules import ELEMENTS, WindowTableError, load_windows

WINDOWS = load_windows()
SOURCES = load_sources()
RULE = SampleRule()
DECIDED = date(2027, 3, 1)


def population(initial: int, recredentialing: int, seed: int = 0) -> list[FileRef]:
    rng = random.Random(seed)
    files = []
    for kind, count in (("initial", initial), ("recredentialing", recredentialing)):
        for _ in range(count):
            files.append(
                FileRef(
                    uuid.UUID(int=rng.getrandbits(128)),
                    uuid.UUID(int=rng.getrandbits(128)),
                    kind,
                    date(2026, 1, 1) + timedelta(days=rng.randrange(365)),
                )
            )
    return files


populations = st.builds(population, st.integers(0, 400), st.integers(0, 400), st.integers(0, 2**32))
seeds = st.integers(0, 2**53 - 1)
rules = st.builds(SampleRule, st.floats(0.5, 100), st.integers(1, 80), st.integers(1, 20))


# -- the size rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("initial", "recredentialing", "size"),
    [
        (0, 0, 0),
        (3, 2, 5),  # fewer than 10 of each: the whole universe
        (100, 100, 20),  # 5% is 10, but 10 of each kind are needed
        (400, 400, 40),  # 5% of 800
        (2000, 2000, 50),  # 5% is 200: the cap of 50
        (2000, 4, 50),  # the cap, with every recredentialing file
        (15, 0, 10),  # one kind only: its minimum of 10
        (1, 0, 1),
    ],
)
def test_default_size(initial: int, recredentialing: int, size: int) -> None:
    assert sample_size({"initial": initial, "recredentialing": recredentialing}, RULE).size == size
    assert len(draw_sample(population(initial, recredentialing), 7, RULE)) == size


def test_a_requested_size_replaces_the_rule_and_shares_the_minimum() -> None:
    counts = {"initial": 30, "recredentialing": 30}
    assert sample_size(counts, RULE, 100).size == 60  # never more than the population
    plan = sample_size(counts, RULE, 5)
    assert plan.size == 5 and sorted(plan.floors.values()) == [2, 3]
    assert sample_size(counts, RULE, 40).floors == {"initial": 10, "recredentialing": 10}


@given(populations, seeds, rules, st.none() | st.integers(1, 500))
def test_size_rule(files: list[FileRef], seed: int, rule: SampleRule, requested: int | None) -> None:
    drawn = draw_sample(files, seed, rule, requested)
    counts = {kind: sum(1 for f in files if f.kind == kind) for kind in KINDS}
    total = len(files)
    if requested is not None:
        assert len(drawn) == min(requested, total)
    else:
        base = min(math.ceil(total * rule.percent / 100), rule.maximum)
        floors = sum(min(rule.min_per_kind, n) for n in counts.values())
        assert len(drawn) == min(total, max(base, floors))


@given(populations, seeds)
def test_same_seed_same_sample_whatever_the_order(files: list[FileRef], seed: int) -> None:
    shuffled = list(files)
    random.Random(seed).shuffle(shuffled)
    assert draw_sample(files, seed, RULE) == draw_sample(shuffled, seed, RULE)


@given(populations, seeds, st.none() | st.integers(1, 500))
def test_the_sample_is_part_of_the_population_without_repeats(
    files: list[FileRef], seed: int, requested: int | None
) -> None:
    drawn = draw_sample(files, seed, RULE, requested)
    assert set(drawn) <= set(files)
    assert len(set(drawn)) == len(drawn)
    assert drawn == sorted(drawn, key=lambda f: f.key)


@given(populations, seeds, rules, st.none() | st.integers(1, 500))
def test_per_kind_minimum_when_available(
    files: list[FileRef], seed: int, rule: SampleRule, requested: int | None
) -> None:
    drawn = draw_sample(files, seed, rule, requested)
    size = len(drawn)
    for kind in KINDS:
        available = sum(1 for f in files if f.kind == kind)
        floor = min(rule.min_per_kind, available)
        if requested is not None:
            floor = min(floor, size // len(KINDS))
        assert sum(1 for f in drawn if f.kind == kind) >= floor


def test_another_seed_draws_another_sample() -> None:
    files = population(500, 500)
    samples = {tuple(f.decision_id for f in draw_sample(files, seed, RULE)) for seed in range(5)}
    assert len(samples) == 5


# -- scoring ---------------------------------------------------------------------------------------


def record(element: str, days_before: int, method: str = "primary_source", **overrides: object) -> VerificationRecord:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "element": element,
        "source": "Board",
        "method": method,
        "verified_on": DECIDED - timedelta(days=days_before),
        "verified_by": "staff",
        "outcome": "verified",
        "evidence_sha256": None,
    }
    values.update(overrides)
    return VerificationRecord(**values)  # type: ignore[arg-type]


def full_file(days_before: int = 30) -> list[VerificationRecord]:
    return [record(e, days_before) for e in ELEMENTS if e != "dea_cds"]


FILE = FileRef(uuid.uuid4(), uuid.uuid4(), "initial", DECIDED)


def by_element(verifications: list[VerificationRecord]) -> dict[str, tuple[bool, bool, bool]]:
    return {s.element: (s.present, s.timely, s.source_ok) for s in score_file(FILE, verifications, WINDOWS, SOURCES)}


def test_a_complete_timely_file_passes_every_element() -> None:
    scores = score_file(FILE, full_file(), WINDOWS, SOURCES)
    assert [s.element for s in scores] == [e for e in ELEMENTS if e != "dea_cds"]
    assert file_passes(scores)


def test_late_missing_and_unacceptable_elements_score_apart() -> None:
    verifications = [v for v in full_file() if v.element not in ("license", "work_history", "board_certification")]
    verifications += [record("license", 121), record("board_certification", 10, method="nppes")]
    scores = by_element(verifications)
    assert scores["license"] == (True, False, True)  # day 121 of a 120-day window
    assert scores["work_history"] == (False, False, False)
    assert scores["board_certification"] == (True, True, False)  # NPPES is no board's primary source
    assert scores["education"] == (True, True, True)


def test_day_120_is_timely_and_education_counts_at_any_age() -> None:
    verifications = [v for v in full_file() if v.element not in ("license", "education")]
    verifications += [record("license", 120), record("education", 9000)]
    assert file_passes(score_file(FILE, verifications, WINDOWS, SOURCES))


def test_a_verification_after_the_decision_is_not_relied_on() -> None:
    verifications = [v for v in full_file() if v.element != "sanctions"] + [record("sanctions", -1)]
    assert by_element(verifications)["sanctions"] == (False, False, False)


def test_dea_cds_is_scored_only_for_a_holder() -> None:
    assert "dea_cds" not in by_element(full_file())
    assert by_element([*full_file(), record("dea_cds", 1096)])["dea_cds"] == (True, False, True)
    # Held (verified later), so required: nothing on or before the decision.
    assert by_element([*full_file(), record("dea_cds", -5)])["dea_cds"] == (False, False, False)


def test_the_latest_verification_is_relied_on_and_ties_prefer_an_acceptable_source() -> None:
    old, new = record("license", 90), record("license", 20, method="other")
    assert relied_on("license", DECIDED, [old, new], SOURCES) == new
    same_day = record("license", 20, method="cvo")
    assert relied_on("license", DECIDED, [new, same_day], SOURCES) == same_day
    assert relied_on("license", DECIDED, [same_day, new], SOURCES) == same_day


# -- the sources table -----------------------------------------------------------------------------


def test_every_element_has_acceptable_methods_and_a_citation() -> None:
    assert set(SOURCES) == set(ELEMENTS)
    assert all(rule.methods and rule.citation for rule in SOURCES.values())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("license,fax,cited", "fax"),
        ("license,,cited", "none given"),
        ("license,primary_source,", "citation"),
        ("licence,primary_source,cited", "licence"),
    ],
)
def test_a_bad_sources_row_is_refused_naming_it(tmp_path: Path, row: str, message: str) -> None:
    lines = DEFAULT_SOURCES_PATH.read_text().splitlines()
    table = tmp_path / "verification_sources.csv"
    table.write_text("\n".join([lines[0], row, *[line for line in lines[1:] if not line.startswith("license,")]]))
    with pytest.raises(WindowTableError, match=message):
        load_sources(table)


def test_a_sources_table_missing_an_element_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "verification_sources.csv"
    table.write_text("element,methods,citation\nlicense,primary_source,cited\n")
    with pytest.raises(WindowTableError, match="no row for board_certification"):
        load_sources(table)
