"""The roster index holds no reference cycles: frozen out of the collector's way (``gc.freeze`` after a
build), it must still be freed by reference counting when a newer index replaces it."""

from __future__ import annotations

import gc
import weakref

from roster.matching.index import RosterIndex
from tests.unit.matching.roster import AS_OF, RULES, case, reviewer


def test_an_index_and_its_patched_successor_are_freed_without_the_collector() -> None:
    reviewers = [reviewer(n) for n in range(1, 60)]
    gc.collect()
    gc.disable()
    try:
        index = RosterIndex(reviewers, RULES)
        view = index.evaluate(case(), AS_OF, {r.id: r.open_cases for r in reviewers})
        assert list(view.ranked_rows()) and view.reason_counts() is not None
        patched = index.patched({reviewers[0].id: reviewers[0], reviewers[1].id: None})
        patched.evaluate(case(), AS_OF, {r.id: r.open_cases for r in reviewers}).reason_counts()
        gone = [weakref.ref(index.day(AS_OF)), weakref.ref(patched.day(AS_OF))]
        del index, view, patched
        assert [ref() for ref in gone] == [None, None], "freed by reference counting alone"
        assert gc.collect() == 0, "no cycles left for the collector"
    finally:
        gc.enable()
