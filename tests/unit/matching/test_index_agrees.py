"""Property: the vectorised index and the plain rules agree on random rosters, cases and dates."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from roster.compliance.facts import CertificationFact, CompliancePolicy, LicenseFact, ScreeningFact
from roster.config import SOURCES
from roster.matching.facts import Case, MatchRules, ReviewerFacts
from roster.matching.index import Placement, RosterIndex
from roster.matching.rules import evaluate, rank, relied_license, score
from tests.unit.matching.roster import RULES, reviewer

STATES = ("AZ", "AR", "CA", "TX")
SPECIALTIES = ("medical_oncology", "hematology", "cardiology", "psychiatry", "clinical_pharmacy", "unlisted")
BASE = date(2026, 6, 15)
days = st.integers(min_value=-800, max_value=800).map(lambda n: BASE + timedelta(days=n))
maybe_day = st.none() | days

licenses = st.builds(
    LicenseFact,
    id=st.builds(uuid.uuid4),
    state=st.sampled_from(STATES),
    number=st.just("N1"),
    status=st.sampled_from(("active", "active", "inactive", "expired", "suspended", "revoked", "probation")),
    restricted=st.booleans(),
    issued_on=days,
    expires_on=days,
)
certifications = st.builds(
    CertificationFact,
    id=st.builds(uuid.uuid4),
    board=st.just("ABIM"),
    specialty=st.sampled_from(SPECIALTIES),
    status=st.sampled_from(("certified", "certified", "lapsed", "revoked")),
    certified_on=days,
    expires_on=maybe_day,
    time_unlimited=st.booleans(),
    moc_status=st.sampled_from(("meeting", "not_meeting", "not_required")),
)


@st.composite
def screening(draw: st.DrawFn) -> tuple[ScreeningFact, ...]:
    sources = draw(st.lists(st.sampled_from(SOURCES), unique=True))
    return tuple(
        ScreeningFact(
            source=s,
            snapshot_loaded_on=draw(maybe_day),
            pending_hits=draw(st.integers(0, 1)),
            confirmed_hits=draw(st.integers(0, 1)),
        )
        for s in sources
    )


@st.composite
def reviewers(draw: st.DrawFn, n: int) -> ReviewerFacts:
    max_open = draw(st.integers(0, 3))
    return reviewer(
        n,
        npi=draw(st.sampled_from(("1234567890",)) | st.just(reviewer(n).npi)),
        status=draw(st.sampled_from(("active", "active", "inactive"))),
        npi_status=draw(st.sampled_from(("active", "unknown", "deactivated"))),
        clinical_practice_start=draw(days) - timedelta(days=5 * 365),
        credentialed_on=draw(maybe_day.map(lambda d: d and d - timedelta(days=3 * 365))),
        irr_passed_on=draw(maybe_day),
        licenses=tuple(draw(st.lists(licenses, max_size=3))),
        certifications=tuple(draw(st.lists(certifications, max_size=3))),
        screening=draw(screening()),
        lines_of_business=tuple(draw(st.sets(st.sampled_from(("commercial", "medicaid", "medicare_advantage"))))),
        specialties=tuple(draw(st.sets(st.sampled_from(SPECIALTIES), max_size=2))),
        languages=tuple(draw(st.sets(st.sampled_from(("en", "es", "vi")), max_size=2))),
        max_open_cases=max_open,
        open_cases=draw(st.integers(0, 4)),
    )


@st.composite
def rosters(draw: st.DrawFn) -> list[ReviewerFacts]:
    size = draw(st.integers(0, 12))
    return [draw(reviewers(n)) for n in range(1, size + 1)]


@st.composite
def cases(draw: st.DrawFn, roster: list[ReviewerFacts]) -> Case:
    ids = [r.id for r in roster]
    return Case(
        state=draw(st.sampled_from(STATES)),
        line_of_business=draw(st.sampled_from(("commercial", "medicaid", "medicare_advantage", "marketplace"))),
        specialty=draw(st.sampled_from(SPECIALTIES[:5])),
        review_type=draw(st.sampled_from(("initial", "appeal", "peer_to_peer"))),
        prior_reviewer_ids=frozenset(draw(st.lists(st.sampled_from(ids), max_size=2)) if ids else ()),
        language=draw(st.none() | st.sampled_from(("en", "es", "vi", "fr"))),
    )


match_rules = st.builds(
    MatchRules,
    specialty_groups=st.just(RULES.specialty_groups),
    in_state_rules=st.just(RULES.in_state_rules),
    default_in_state_license=st.booleans(),
    policy=st.sampled_from(
        (CompliancePolicy(), CompliancePolicy(required_sources=("sam",), screening_max_age_days=10))
    ),
)


@settings(max_examples=150)
@given(data=st.data(), roster=rosters(), rules=match_rules, as_of=days)
def test_index_and_rules_agree(
    data: st.DataObject, roster: list[ReviewerFacts], rules: MatchRules, as_of: date
) -> None:
    index = RosterIndex(roster, rules)
    for _ in range(3):
        case = data.draw(cases(roster))
        view = index.evaluate(case, as_of, {r.id: r.open_cases for r in roster})
        decisions = [evaluate(r, case, as_of, rules) for r in roster]
        assert [view.reasons_of(i) for i in range(len(roster))] == [list(d.reasons) for d in decisions]
        assert view.reason_counts() == dict(Counter(reason for d in decisions for reason in d.reasons))
        expected = [d.physician_id for d in rank([(d, r.npi) for d, r in zip(decisions, roster, strict=True)])]
        assert [roster[i].id for i in view.ranked_rows()] == expected
        assert [roster[i].id for i in view.ranked_rows(2)] == expected[:2]
        assert [roster[i].id for i in view.ranked_rows(1)] == expected[:1]
        assert view.eligible.tolist() == [d.eligible for d in decisions]
        # What the match shows for an eligible reviewer is what the full rules would say.
        assert [i for i, _ in view.ranked(2)] == view.ranked_rows(2)
        for i, placed in view.ranked():
            decision = decisions[i]
            assert placed == Placement(
                specialty_match=decision.specialty_match,
                prior_reviewer_first=decision.prior_reviewer_first,
                speaks_language=decision.speaks_language,
                open_cases=decision.open_cases,
                max_open_cases=decision.max_open_cases,
            )
            assert score(placed) == score(decision)
            assert relied_license(roster[i], case, as_of, rules) == decision.license


def test_loads_closer_than_any_two_capacities_allow_still_rank_by_load() -> None:
    """The index packs load into an integer grid (``RosterIndex._ranking_base``): the nearest loads the
    API's capacity limit (1,000) allows, 998/999 < 999/1000, and equal loads from different capacities,
    499/500 = 998/1000, must rank as the plain rules rank them."""
    from tests.unit.matching.roster import AS_OF, case

    # (open, max, n) in ranking order; NPIs (by n) run against load order, except in the tie, so a
    # load the grid lost would let the NPI reorder them.
    ranked = [(0, 1000, 9), (1, 1000, 8), (499, 500, 3), (998, 1000, 4), (998, 999, 2), (999, 1000, 1)]
    roster = [reviewer(n, open_cases=o, max_open_cases=m) for o, m, n in reversed(ranked)]
    c = case()
    view = RosterIndex(roster, RULES).evaluate(c, AS_OF, {r.id: r.open_cases for r in roster})
    decisions = [evaluate(r, c, AS_OF, RULES) for r in roster]
    expected = [d.physician_id for d in rank([(d, r.npi) for d, r in zip(decisions, roster, strict=True)])]
    assert expected == [r.id for r in reversed(roster)]
    assert [roster[i].id for i in view.ranked_rows()] == expected
    for limit in range(1, len(roster) + 1):
        assert [roster[i].id for i in view.ranked_rows(limit)] == expected[:limit]
