"""Property: an index patched through any sequence of roster writes answers exactly as a fresh full build."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime
from uuid import UUID

import msgspec
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from roster.matching.facts import Case, MatchRules, ReviewerFacts, ScreeningStanding, SnapshotRef
from roster.matching.index import RosterIndex
from roster.matching.rules import evaluate, rank
from tests.unit.matching.roster import RULES, case, cert, lic, reviewer
from tests.unit.matching.test_index_agrees import STATES, cases, days, match_rules, reviewers, rosters, screening

RUN = datetime(2026, 6, 1, tzinfo=UTC)


def as_physician(facts: ReviewerFacts, physician_id: UUID) -> ReviewerFacts:
    """``facts`` recorded as the physician ``physician_id`` (an edit keeps the id, changes the rest)."""
    return msgspec.structs.replace(facts, compliance=msgspec.structs.replace(facts.compliance, id=physician_id))


@st.composite
def write_batches(draw: st.DrawFn, roster: list[ReviewerFacts]) -> list[dict[UUID, ReviewerFacts | None]]:
    """Batches of writes, as one refresh sees them: edits (the NPI included), additions and removals."""
    current = {r.id: r for r in roster}
    batches = []
    for _ in range(draw(st.integers(1, 4))):
        batch: dict[UUID, ReviewerFacts | None] = {}
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(("edit", "add", "remove")))
            ids = sorted(current, key=str)
            if kind == "add" or not ids:
                added = draw(reviewers(draw(st.integers(1, 99))))
                batch[added.id] = current[added.id] = added
            else:
                pid = draw(st.sampled_from(ids))
                if kind == "edit":
                    batch[pid] = current[pid] = as_physician(draw(reviewers(draw(st.integers(1, 99)))), pid)
                else:
                    batch[pid] = None
                    del current[pid]
        batches.append(batch)
    return batches


def after(current: dict[UUID, ReviewerFacts], batch: dict[UUID, ReviewerFacts | None]) -> dict[UUID, ReviewerFacts]:
    """The roster ``current`` once ``batch`` is written."""
    out = {pid: facts for pid, facts in current.items() if batch.get(pid, facts) is not None}
    out.update((pid, facts) for pid, facts in batch.items() if facts is not None)
    return out


def answers(index: RosterIndex, case_: Case, as_of: date) -> dict[str, object]:
    """Everything a request can read from the index, keyed by physician rather than row."""
    view = index.evaluate(case_, as_of, {r.id: r.open_cases for r in index.reviewers})
    return {
        "evaluated": index.size,
        "reasons": {index.reviewers[i].id: view.reasons_of(i) for i in range(index.size)},
        "counts": view.reason_counts(),
        "ranked": [index.reviewers[i].id for i in view.ranked_rows()],
        "explain": [index.reviewers[i].id for i in view.ineligible_rows()],
        "coverage": index.coverage(index.day(as_of), case_.line_of_business, case_.review_type, STATES),
    }


@settings(max_examples=120)
@given(data=st.data(), roster=rosters(), rules=match_rules, as_of=days)
def test_patched_index_answers_as_a_fresh_build(
    data: st.DataObject, roster: list[ReviewerFacts], rules: MatchRules, as_of: date
) -> None:
    index = RosterIndex(roster, rules)
    index.day(as_of)  # a cached date view must not leak into the patched index
    current = {r.id: r for r in roster}
    for batch in data.draw(write_batches(roster)):
        index = index.patched(batch)
        current = after(current, batch)
        fresh = RosterIndex(list(current.values()), rules)
        assert sorted(r.id for r in index.reviewers) == sorted(current, key=lambda pid: pid.int)
        assert index.row_of == {r.id: i for i, r in enumerate(index.reviewers)}
        for _ in range(2):
            c = data.draw(cases(list(current.values())))
            assert answers(index, c, as_of) == answers(fresh, c, as_of)
            # ...and both agree with the plain rules.
            decisions = [evaluate(r, c, as_of, rules) for r in current.values()]
            assert answers(index, c, as_of)["counts"] == dict(Counter(x for d in decisions for x in d.reasons))
            ranked = rank([(d, r.npi) for d, r in zip(decisions, current.values(), strict=True)])
            assert answers(index, c, as_of)["ranked"] == [d.physician_id for d in ranked]


def test_patching_leaves_the_old_index_as_it_was() -> None:
    """Requests still reading the previous version must see it unchanged."""
    kept, edited = reviewer(1), reviewer(2)
    old = RosterIndex([kept, edited], RULES)
    before = {name: value.copy() for name, value in vars(old).items() if isinstance(value, np.ndarray)}
    restricted = as_physician(reviewer(2, licenses=(lic(restricted=True),)), edited.id)
    new = old.patched({edited.id: restricted, kept.id: None, uuid.uuid4(): reviewer(3, licenses=(lic("TX"),))})
    for name, value in before.items():
        assert np.array_equal(getattr(old, name), value), name
    assert old.size == 2 and old.reviewers == [kept, edited]
    view = old.evaluate(case(), date(2026, 6, 15), {})
    assert view.ranked_rows() == [0, 1]
    assert new.size == 2 and kept.id not in new.row_of
    assert new.evaluate(case(), date(2026, 6, 15), {}).reason_counts() == {
        "license_restricted": 1,
        "no_license_in_state": 1,
    }


def test_an_edited_physician_keeps_its_row_and_a_new_state_is_indexed() -> None:
    a, b = reviewer(1), reviewer(2)
    old = RosterIndex([a, b], RULES)
    moved = as_physician(reviewer(1, licenses=(lic("NV"),), certifications=(cert("cardiology"),)), a.id)
    new = old.patched({a.id: moved})
    assert new.row_of == old.row_of and new.npi_rank is old.npi_rank, "same rows, same NPIs: nothing renumbered"
    assert "NV" in new.state_row and "NV" not in old.state_row
    nv = new.evaluate(case(state="NV", specialty="cardiology"), date(2026, 6, 15), {})
    assert [new.reviewers[i].id for i in nv.ranked_rows()] == [a.id]


def test_per_row_values_follow_their_physicians_through_a_patch() -> None:
    a, b, c = reviewer(1), reviewer(2), reviewer(3)
    old = RosterIndex([a, b, c], RULES)
    open_cases = old.open_case_counts({a.id: 1, b.id: 2, c.id: 3})
    added = reviewer(4)
    new = old.patched({b.id: None, c.id: as_physician(reviewer(5), c.id), added.id: added})
    carried = new.carried_over(old, open_cases)
    assert carried is not None
    assert {new.reviewers[i].id: int(carried[i]) for i in range(new.size)} == {a.id: 1, c.id: 3, added.id: 0}
    assert new.carried_over(RosterIndex([a, b, c], RULES), open_cases) is None, "only from the index it came from"
    assert old.carried_over(new, carried) is None, "a full build carries nothing"


def test_open_cases_read_as_text_land_on_the_same_rows_before_and_after_a_patch() -> None:
    """The open-case read keyed by ids as text (what the database returns cheapest) gives what the read keyed
    by UUIDs gives, on a renumbered patched index too; physicians the index does not hold are ignored."""
    a, b, c = reviewer(1), reviewer(2), reviewer(3)
    old = RosterIndex([a, b, c], RULES)
    counts = {a.id: 1, b.id: 2, c.id: 3, uuid.uuid4(): 4}
    as_text = [(str(pid), n) for pid, n in counts.items()]
    assert np.array_equal(old.open_case_counts_of(as_text), old.open_case_counts(counts))
    added = reviewer(4)
    new = old.patched({a.id: None, added.id: added})
    as_text.append((str(added.id), 5))
    counts[added.id] = 5
    assert np.array_equal(new.open_case_counts_of(as_text), new.open_case_counts(counts))
    assert {new.reviewers[i].id: int(n) for i, n in enumerate(new.open_case_counts_of(as_text))} == {
        b.id: 2,
        c.id: 3,
        added.id: 5,
    }
    assert np.array_equal(old.open_case_counts_of(as_text), old.open_case_counts(counts)), "the old index unchanged"


@st.composite
def standings(draw: st.DrawFn, roster: list[ReviewerFacts]) -> dict[UUID, ScreeningStanding]:
    """Every physician's screening after a run: new facts for some, the same for the others."""
    out: dict[UUID, ScreeningStanding] = {}
    for r in roster:
        if draw(st.booleans()):
            refs = tuple(
                SnapshotRef(
                    source=f.source, snapshot_id=uuid.uuid4(), sha256="0" * 64, loaded_at=RUN, run_id=uuid.uuid4()
                )
                for f in draw(screening())
            )
            out[r.id] = (draw(screening()), refs)
        else:
            out[r.id] = (r.compliance.screening, r.snapshots)
    return out


def rescreen(facts: ReviewerFacts, standing: ScreeningStanding) -> ReviewerFacts:
    compliance = msgspec.structs.replace(facts.compliance, screening=standing[0])
    return msgspec.structs.replace(facts, compliance=compliance, snapshots=standing[1])


@settings(max_examples=120)
@given(data=st.data(), roster=rosters(), rules=match_rules, as_of=days)
def test_rescreened_index_answers_as_a_fresh_build(
    data: st.DataObject, roster: list[ReviewerFacts], rules: MatchRules, as_of: date
) -> None:
    index = RosterIndex(roster, rules)
    index.day(as_of)  # a cached date view must not leak into the rescreened index
    before = {name: value.copy() for name, value in vars(index).items() if isinstance(value, np.ndarray)}
    standing = data.draw(standings(roster))
    rescreened = index.rescreened(standing)
    current = [rescreen(r, standing[r.id]) for r in roster]
    fresh = RosterIndex(current, rules)
    assert rescreened.reviewers == current, "the facts an assignment keeps as evidence are the new ones"
    for _ in range(2):
        c = data.draw(cases(current))
        assert answers(rescreened, c, as_of) == answers(fresh, c, as_of)
    for name, value in before.items():
        assert np.array_equal(getattr(index, name), value), name
    # A patch after a rescreen still answers as a fresh build (the run, then a write).
    by_id = {r.id: r for r in current}
    for batch in data.draw(write_batches(current)):
        rescreened = rescreened.patched(batch)
        by_id = after(by_id, batch)
        c = data.draw(cases(list(by_id.values())))
        assert answers(rescreened, c, as_of) == answers(RosterIndex(list(by_id.values()), rules), c, as_of)


def test_rescreening_carries_open_cases_over() -> None:
    busy = reviewer(1)
    index = RosterIndex([busy, reviewer(2)], RULES)
    counts = np.array([3, 0], dtype=np.int64)
    rescreened = index.rescreened({r.id: (r.compliance.screening, r.snapshots) for r in index.reviewers})
    assert rescreened.carried_over(index, counts).tolist() == [3, 0]
