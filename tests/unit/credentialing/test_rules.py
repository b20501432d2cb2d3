"""Credentialing-file rules (rules.md §6): timeliness, monitoring gaps, IRR, attestations, CME."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.compliance.dates import add_months
from roster.credentialing.rules import (
    ELEMENTS,
    CmeRequirement,
    Decision,
    LateElement,
    Monitored,
    MonitoringRun,
    PolicyUpdate,
    Verification,
    WindowTableError,
    attestations_due,
    cme_cycle,
    cme_requirement_for,
    cme_standing,
    credentialed_on,
    irr_passed,
    irr_passed_on,
    judge_decision,
    load_cme_requirements,
    load_windows,
    monitoring_gaps,
    months_between,
    overdue_attestations,
    previous_approval,
)

WINDOWS = load_windows()
DECIDED = date(2026, 9, 30)
ALL_BUT_DEA = [e for e in ELEMENTS if e != "dea_cds"]


def full_file(days_before: int = 30, **older: int) -> list[Verification]:
    """One verification per element, ``days_before`` the decision (``older`` overrides per element)."""
    return [
        Verification(e, DECIDED - timedelta(days=older.get(e, days_before)), "verified")
        for e in [*ALL_BUT_DEA, "dea_cds"]
    ]


# -- the table --------------------------------------------------------------------------------


def test_shipped_windows_cover_every_element_with_a_citation() -> None:
    assert set(WINDOWS) == set(ELEMENTS)
    for element in ("license", "board_certification", "work_history", "malpractice_history", "sanctions"):
        assert WINDOWS[element].window_days == 120, element  # NCQA, files from 2025-07-01
        assert "NCQA" in WINDOWS[element].citation
    assert WINDOWS["education"].rule == "once" and WINDOWS["education"].window_days is None
    assert WINDOWS["dea_cds"].required == "if_held"


@pytest.mark.parametrize(
    ("line", "fault"),
    [
        ("license,always,within_days,0,x", "column window_days"),
        ("license,always,within_days,abc,x", "column window_days"),
        ("education,always,once,30,x", "column window_days"),
        ("license,sometimes,within_days,120,x", "column required"),
        ("license,always,weekly,120,x", "column rule"),
        ("licence,always,within_days,120,x", "column element"),
        ("license,always,within_days,120,", "column citation"),
    ],
)
def test_a_bad_windows_row_is_refused_naming_row_and_column(tmp_path: Path, line: str, fault: str) -> None:
    path = tmp_path / "windows.csv"
    path.write_text("element,required,rule,window_days,citation\n" + line + "\n", encoding="utf-8")
    with pytest.raises(WindowTableError, match=f"row 2, {fault}"):
        load_windows(path)


def test_a_windows_table_missing_an_element_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "windows.csv"
    path.write_text("element,required,rule,window_days,citation\nlicense,always,within_days,120,x\n", encoding="utf-8")
    with pytest.raises(WindowTableError, match="no row for board_certification"):
        load_windows(path)


# -- decisions ----------------------------------------------------------------------------------


def test_a_file_verified_within_every_window_is_timely() -> None:
    judged = judge_decision("initial", DECIDED, full_file(), WINDOWS)
    assert judged.timely and judged.late_elements == ()


def test_day_120_is_in_the_window_and_day_121_is_late() -> None:
    assert judge_decision("initial", DECIDED, full_file(license=120), WINDOWS).timely
    late = judge_decision("initial", DECIDED, full_file(license=121), WINDOWS)
    assert not late.timely
    assert late.late_elements == (LateElement("license", DECIDED - timedelta(days=121), 120),)


def test_a_missing_element_is_late_with_no_date() -> None:
    file = [v for v in full_file() if v.element != "sanctions"]
    judged = judge_decision("initial", DECIDED, file, WINDOWS)
    assert judged.late_elements == (LateElement("sanctions", None, 120),)


def test_a_verification_after_the_decision_does_not_count() -> None:
    file = [v for v in full_file() if v.element != "work_history"]
    file.append(Verification("work_history", DECIDED + timedelta(days=1), "verified"))
    judged = judge_decision("initial", DECIDED, file, WINDOWS)
    assert judged.late_elements == (LateElement("work_history", None, 120),)


def test_the_latest_verification_before_the_decision_is_the_one_judged() -> None:
    file = full_file(license=400)
    file.append(Verification("license", DECIDED - timedelta(days=10), "discrepancy"))
    assert judge_decision("initial", DECIDED, file, WINDOWS).timely


def test_education_is_verified_once_with_no_limit() -> None:
    assert judge_decision("initial", DECIDED, full_file(education=20 * 365), WINDOWS).timely


def test_dea_is_required_only_of_a_physician_who_holds_one() -> None:
    file = [v for v in full_file() if v.element != "dea_cds"]
    assert judge_decision("initial", DECIDED, file, WINDOWS).timely
    held = judge_decision("initial", DECIDED, file, WINDOWS, holds=frozenset({"dea_cds"}))
    assert held.late_elements == (LateElement("dea_cds", None, 1095),)


def test_recredentialing_within_36_months_meets_the_cycle_and_on_the_due_day_does_not() -> None:
    previous = add_months(DECIDED, -36) + timedelta(days=1)
    met = judge_decision("recredentialing", DECIDED, full_file(), WINDOWS, previous_approval=previous)
    assert met.timely and met.cycle_met and met.cycle_due_on == DECIDED + timedelta(days=1)
    missed = judge_decision(
        "recredentialing", DECIDED, full_file(), WINDOWS, previous_approval=add_months(DECIDED, -36)
    )
    assert not missed.timely and not missed.cycle_met and missed.late_elements == ()


def test_recredentialing_with_no_earlier_approval_does_not_meet_the_cycle() -> None:
    judged = judge_decision("recredentialing", DECIDED, full_file(), WINDOWS)
    assert not judged.timely and not judged.cycle_met


@given(
    ages=st.fixed_dictionaries({e: st.integers(min_value=-5, max_value=400) for e in ELEMENTS}),
    decided=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
)
def test_late_elements_are_exactly_those_outside_their_window(ages: dict[str, int], decided: date) -> None:
    file = [Verification(e, decided - timedelta(days=age), "verified") for e, age in ages.items()]
    judged = judge_decision("initial", decided, file, WINDOWS, holds=frozenset({"dea_cds"}))
    expected = set()
    for element, age in ages.items():
        window = WINDOWS[element]
        if age < 0 or (window.window_days is not None and age > window.window_days):
            expected.add(element)
    assert {late.element for late in judged.late_elements} == expected
    assert judged.timely == (not expected)


def test_credentialed_on_is_the_latest_approval() -> None:
    decisions = [
        Decision(date(2020, 1, 5), "approved"),
        Decision(date(2023, 1, 4), "approved"),
        Decision(date(2024, 6, 1), "deferred"),
        Decision(date(2024, 7, 1), "denied"),
    ]
    assert credentialed_on(decisions) == date(2023, 1, 4)
    assert previous_approval(decisions, date(2023, 1, 4)) == date(2020, 1, 5)
    assert credentialed_on([Decision(date(2024, 7, 1), "denied")]) is None


# -- monitoring ---------------------------------------------------------------------------------

A, B = uuid.UUID(int=1), uuid.UUID(int=2)


def run(source: str, ran: date, loaded: date | None = None) -> MonitoringRun:
    return MonitoringRun(source, ran, loaded or ran)


def test_months_between_spans_years() -> None:
    assert months_between(date(2025, 11, 15), date(2026, 2, 1)) == [(2025, 11), (2025, 12), (2026, 1), (2026, 2)]
    assert months_between(date(2026, 2, 1), date(2026, 1, 1)) == []


def test_every_month_with_a_run_on_that_months_list_leaves_no_gap() -> None:
    runs = [run(s, date(2026, m, 10)) for s in ("oig_leie", "sam") for m in (1, 2, 3)]
    gaps = monitoring_gaps(
        date(2026, 1, 1), date(2026, 3, 31), [Monitored(A, date(2020, 1, 1))], runs, ("oig_leie", "sam")
    )
    assert gaps == []


def test_a_run_against_last_months_list_is_no_proof_for_this_month() -> None:
    runs = [run("oig_leie", date(2026, 1, 10)), run("oig_leie", date(2026, 2, 3), loaded=date(2026, 1, 28))]
    gaps = monitoring_gaps(date(2026, 1, 1), date(2026, 2, 28), [Monitored(A, date(2020, 1, 1))], runs, ("oig_leie",))
    assert [(g.source, g.month) for g in gaps] == [("oig_leie", "2026-02")]


def test_gaps_cover_only_the_months_a_physician_was_on_the_roster() -> None:
    physicians = [Monitored(A, date(2026, 2, 20)), Monitored(B, date(2020, 1, 1), left_on=date(2026, 2, 1))]
    gaps = monitoring_gaps(date(2026, 1, 1), date(2026, 3, 31), physicians, [], ("sam",))
    assert [(g.physician_id, g.month) for g in gaps] == [(A, "2026-02"), (A, "2026-03"), (B, "2026-01")]


@given(
    ran=st.lists(st.integers(min_value=0, max_value=11), max_size=12),
    start=st.integers(min_value=0, max_value=11),
    length=st.integers(min_value=0, max_value=11),
)
def test_gap_months_are_the_period_months_without_a_run(ran: list[int], start: int, length: int) -> None:
    first = add_months(date(2026, 1, 1), start)
    last = add_months(first, length + 1) - timedelta(days=1)
    runs = [run("sam", add_months(date(2026, 1, 15), k)) for k in ran]
    gaps = monitoring_gaps(first, last, [Monitored(A, date(2000, 1, 1))], runs, ("sam",))
    period = {f"{d.year:04d}-{d.month:02d}" for d in (add_months(first, k) for k in range(length + 1))}
    done = {f"{d.year:04d}-{d.month:02d}" for d in (add_months(date(2026, 1, 15), k) for k in ran)}
    assert {g.month for g in gaps} == period - done


# -- IRR, attestations, CME --------------------------------------------------------------------


def test_irr_passes_at_the_mark() -> None:
    assert irr_passed(90.0, 90.0) and not irr_passed(89.9, 90.0)
    assert irr_passed_on([(date(2026, 1, 1), True), (date(2026, 6, 1), False), (date(2025, 6, 1), True)]) == date(
        2026, 1, 1
    )
    assert irr_passed_on([(date(2026, 6, 1), False)]) is None


def test_an_update_is_overdue_the_day_after_its_attest_by_date_unless_attested() -> None:
    u1 = PolicyUpdate(uuid.UUID(int=10), date(2026, 10, 1), date(2026, 10, 31))
    u2 = PolicyUpdate(uuid.UUID(int=11), date(2026, 11, 1), date(2026, 11, 30))
    assert overdue_attestations([u1, u2], frozenset(), date(2026, 10, 31)) == []
    assert overdue_attestations([u1, u2], frozenset(), date(2026, 11, 1)) == [u1.id]
    assert overdue_attestations([u1, u2], frozenset({u1.id}), date(2026, 12, 1)) == [u2.id]
    assert attestations_due([u1, u2], frozenset(), date(2026, 11, 20), 14) == [u2.id]


REQ = CmeRequirement(50, 24, date(2026, 1, 1))


@given(as_of=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_the_cme_cycle_contains_the_day_and_lasts_its_months(as_of: date) -> None:
    for requirement in (REQ, CmeRequirement(30, 12, date(2025, 1, 31))):
        start, end = cme_cycle(requirement, as_of)
        assert start <= as_of < end
        assert end == add_months(start, requirement.cycle_months) or requirement.anchor.day > 28


def test_cme_projection_at_the_rate_so_far() -> None:
    # a quarter of the cycle gone, 10 hours earned: 40 projected of 50 → short
    as_of = date(2026, 7, 1) - timedelta(days=1)
    standing = cme_standing(REQ, [(date(2026, 2, 1), 6), (date(2026, 5, 1), 4), (date(2025, 12, 31), 99)], as_of)
    assert standing.earned_hours == 10 and standing.cycle_start == date(2026, 1, 1)
    assert standing.projected_hours == pytest.approx(10 * 730 / 181)
    assert standing.short
    assert not cme_standing(REQ, [(date(2026, 2, 1), 20)], as_of).short


def test_the_strictest_state_row_applies_else_the_default() -> None:
    rows = [REQ, CmeRequirement(40, 24, date(2026, 1, 1), "NY"), CmeRequirement(50, 12, date(2026, 1, 1), "TX")]
    assert cme_requirement_for(rows, ["NY", "TX"]).state == "TX"
    assert cme_requirement_for(rows, ["NY"]).state == "NY"
    assert cme_requirement_for(rows, ["CA"]) is REQ


def test_shipped_cme_table_has_a_default(tmp_path: Path) -> None:
    assert any(r.state is None for r in load_cme_requirements())
    path = tmp_path / "cme.csv"
    path.write_text("state,hours,cycle_months,anchor,citation\nNY,40,24,2026-01-01,x\n", encoding="utf-8")
    with pytest.raises(WindowTableError, match="no default row"):
        load_cme_requirements(path)
    path.write_text("state,hours,cycle_months,anchor,citation\n,0,24,2026-01-01,x\n", encoding="utf-8")
    with pytest.raises(WindowTableError, match="row 2"):
        load_cme_requirements(path)
