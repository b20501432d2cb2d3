"""The clock's alerts (issues 14 and 15) at each boundary, as pure functions of facts and an instant or date."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.alerts.clock_rules import (
    ATTESTATION_DUE_DAYS,
    CME_JUDGED_AFTER_DAYS,
    DUE_SOON_HOURS,
    AssignmentFacts,
    GapFacts,
    KnownGap,
    PolicyUpdateFacts,
    attestation_alerts,
    cme_alert,
    deadline_alerts,
    due_soon_threshold,
    known_gap,
    minute_label,
    oncall_gap_alerts,
    risk_alert,
    update_label,
)
from roster.alerts.digest import threshold_days
from roster.availability.rules import Schedule, TimeOff, WorkingHours
from roster.credentialing.rules import CmeRequirement

NOW = datetime(2027, 1, 5, 15, 0, tzinfo=UTC)  # a Tuesday, 10:00 in New York
DOC = uuid.uuid4()
HOUR = timedelta(hours=1)
MIN_REVIEW = timedelta(minutes=60)
NEW_YORK = ZoneInfo("America/New_York")


def assignment(due_in: timedelta, **overrides: object) -> AssignmentFacts:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "physician_id": DOC,
        "case_id": "C-1",
        "review_type": "initial",
        "urgency": "expedited",
        "due_at": NOW + due_in,
    }
    fields.update(overrides)
    return AssignmentFacts(**fields)  # type: ignore[arg-type]


def labels(alerts: list) -> list[tuple[str, str]]:
    return [(a.kind, a.threshold) for a in alerts]


# -- due soon and overdue ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(hours=24, seconds=1), None),
        (timedelta(hours=24), 24),
        (timedelta(hours=4, seconds=1), 24),
        (timedelta(hours=4), 4),
        (timedelta(minutes=1), 4),
        (timedelta(0), 4),
        (timedelta(seconds=-1), None),
    ],
)
def test_due_soon_threshold_is_the_tightest_reached(left: timedelta, expected: int | None) -> None:
    assert due_soon_threshold(left) == expected


def test_due_soon_then_overdue_labels() -> None:
    due = NOW + timedelta(hours=30)
    case = assignment(due - NOW)
    assert deadline_alerts(case, NOW) == []
    [soon] = deadline_alerts(case, due - 24 * HOUR)
    assert (soon.kind, soon.threshold) == ("assignment_due_soon", "in24h@20270106")
    assert soon.subject_type == "assignment" and soon.subject_id == case.id and soon.physician_id == DOC
    assert soon.due_on == date(2027, 1, 6) and soon.detail["hours_left"] == 24.0
    assert soon.detail["case_id"] == "C-1" and soon.detail["due_at"] == "2027-01-06T21:00:00Z"
    assert labels(deadline_alerts(case, due - 5 * HOUR)) == [("assignment_due_soon", "in24h@20270106")]
    assert labels(deadline_alerts(case, due - 4 * HOUR)) == [("assignment_due_soon", "in4h@20270106")]
    assert labels(deadline_alerts(case, due)) == [("assignment_due_soon", "in4h@20270106")], "due, not yet late"
    [late] = deadline_alerts(case, due + timedelta(microseconds=1))
    assert (late.kind, late.threshold, late.due_on) == ("assignment_overdue", "overdue", date(2027, 1, 6))


def test_due_date_in_the_label_is_the_utc_date() -> None:
    late_evening_in_new_york = datetime(2027, 1, 6, 3, 30, tzinfo=UTC)
    case = assignment(late_evening_in_new_york - NOW)
    [soon] = deadline_alerts(case, late_evening_in_new_york - HOUR)
    assert soon.threshold == "in4h@20270106"


@given(st.integers(min_value=-100 * 3600, max_value=100 * 3600))
def test_deadline_labels_fit_the_column_and_never_read_as_days(seconds: int) -> None:
    for alert in deadline_alerts(assignment(timedelta(days=3)), NOW + timedelta(days=3, seconds=seconds)):
        assert len(alert.threshold) <= 16 and threshold_days(alert.threshold) is None


def test_due_soon_hours_are_data() -> None:
    assert DUE_SOON_HOURS == (24, 4)


# -- at risk ------------------------------------------------------------------------------------


def nine_to_five(*time_off: TimeOff) -> Schedule:
    weekdays = WorkingHours(frozenset(range(5)), time(9), time(17), NEW_YORK)
    return Schedule(physician_id=DOC, working_hours=(weekdays,), time_off=time_off)


def test_not_at_risk_with_enough_working_time_before_due() -> None:
    case = assignment(timedelta(hours=3))  # due 13:00 New York, working since 09:00
    assert risk_alert(case, nine_to_five(), NOW, MIN_REVIEW) is None


def test_at_risk_when_the_working_time_left_is_under_the_minimum_review() -> None:
    # Due at 17:30 New York; from 16:30 only 30 working minutes are left, though the clock has an hour.
    due = datetime(2027, 1, 5, 22, 30, tzinfo=UTC)
    case = assignment(due - NOW)
    at_1600 = datetime(2027, 1, 5, 21, 0, tzinfo=UTC)
    at_1630 = datetime(2027, 1, 5, 21, 30, tzinfo=UTC)
    assert risk_alert(case, nine_to_five(), at_1600, MIN_REVIEW) is None, "exactly the minimum is enough"
    alert = risk_alert(case, nine_to_five(), at_1630, MIN_REVIEW)
    assert alert is not None and (alert.kind, alert.threshold) == ("assignment_at_risk", "risk@20270105")
    assert alert.detail["available_minutes"] == 30.0 and alert.detail["minimum_review_minutes"] == 60.0
    assert alert.detail["on_leave"] is False and alert.subject_id == case.id


def test_at_risk_when_time_off_covers_the_rest_of_the_time_before_due() -> None:
    case = assignment(timedelta(hours=6))
    leave = TimeOff(NOW - HOUR, NOW + timedelta(days=2), "leave")
    alert = risk_alert(case, nine_to_five(leave), NOW, MIN_REVIEW)
    assert alert is not None and alert.detail["on_leave"] is True and alert.detail["available_minutes"] == 0


def test_on_leave_now_with_time_left_afterwards_is_not_at_risk() -> None:
    case = assignment(timedelta(days=2))
    half_day = TimeOff(NOW - HOUR, NOW + 2 * HOUR, "pto")
    assert risk_alert(case, nine_to_five(half_day), NOW, MIN_REVIEW) is None


def test_no_risk_alert_in_the_last_minimum_review_or_once_due() -> None:
    """There every case is short of time: the due-soon and overdue alerts say so."""
    case = assignment(timedelta(minutes=59))
    assert risk_alert(case, nine_to_five(), NOW, MIN_REVIEW) is None
    assert risk_alert(case, nine_to_five(), NOW + HOUR, MIN_REVIEW) is None


def test_an_unscheduled_reviewer_is_never_at_risk_unless_on_leave() -> None:
    case = assignment(timedelta(hours=2))
    assert risk_alert(case, Schedule(physician_id=DOC), NOW, MIN_REVIEW) is None
    away = Schedule(physician_id=DOC, time_off=(TimeOff(NOW, NOW + timedelta(hours=3)),))
    assert risk_alert(case, away, NOW, MIN_REVIEW) is not None


def test_holidays_take_the_working_day_away() -> None:
    case = assignment(timedelta(hours=6))
    assert risk_alert(case, nine_to_five(), NOW, MIN_REVIEW) is None
    assert risk_alert(case, nine_to_five(), NOW, MIN_REVIEW, frozenset({date(2027, 1, 5)})) is not None


# -- on-call gaps -------------------------------------------------------------------------------

ROTATION = uuid.uuid4()
WINDOW_END = NOW + timedelta(days=7)


def gap(start: datetime, end: datetime, reason: str = "nobody", physician: uuid.UUID | None = None) -> GapFacts:
    return GapFacts(ROTATION, "Pre-cert 24x7", start, end, reason, physician)


def test_each_gap_is_labelled_by_its_start() -> None:
    away = gap(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=4), "on_leave", DOC)
    alerts = oncall_gap_alerts([gap(NOW, NOW + 9 * HOUR), away], [], WINDOW_END)
    assert labels(alerts) == [("oncall_gap", "g@202701051500"), ("oncall_gap", "g@202701061500")]
    nobody, leave = alerts
    assert nobody.physician_id is None and nobody.subject_type == "rotation" and nobody.subject_id == ROTATION
    assert nobody.detail == {
        "rotation": "Pre-cert 24x7",
        "reason": "nobody",
        "starts_at": "2027-01-05T15:00:00Z",
        "ends_at": "2027-01-06T00:00:00Z",
        "hours": 9.0,
        "open_ended": False,
    }
    assert leave.physician_id == DOC and leave.detail["reason"] == "on_leave" and leave.due_on == date(2027, 1, 6)
    assert all(len(a.threshold) <= 16 and threshold_days(a.threshold) is None for a in alerts)


def test_a_gap_under_way_is_not_raised_again_as_its_start_moves_with_now() -> None:
    first = gap(NOW + HOUR, NOW + 9 * HOUR)
    [raised] = oncall_gap_alerts([first], [], WINDOW_END)
    known = [known_gap(ROTATION, None, raised.detail)]
    assert known[0] == KnownGap(ROTATION, first.starts_at, first.ends_at, "nobody", None)
    later = NOW + 2 * HOUR
    assert oncall_gap_alerts([gap(later, NOW + 9 * HOUR)], known, WINDOW_END + 2 * HOUR) == []  # type: ignore[list-item]
    # One reaching the end of the look-ahead is seen to run on: still the same gap.
    open_ended = gap(NOW, WINDOW_END)
    [long] = oncall_gap_alerts([open_ended], [], WINDOW_END)
    assert long.detail["open_ended"] is True
    again = [known_gap(ROTATION, None, long.detail)]
    assert oncall_gap_alerts([gap(NOW + timedelta(days=1), WINDOW_END + timedelta(days=1))], again, WINDOW_END) == []  # type: ignore[list-item]


def test_a_new_gap_is_raised_beside_a_known_one() -> None:
    known = [KnownGap(ROTATION, NOW, NOW + 4 * HOUR, "nobody")]
    later = gap(NOW + 5 * HOUR, NOW + 6 * HOUR)
    other_reason = gap(NOW + 2 * HOUR, NOW + 3 * HOUR, "on_leave", DOC)
    other_rotation = GapFacts(uuid.uuid4(), "Other", NOW, NOW + HOUR, "nobody")
    alerts = oncall_gap_alerts([later, other_reason, other_rotation], known, WINDOW_END)
    assert sorted(a.threshold for a in alerts if a.subject_id == ROTATION) == ["g@202701051700", "g@202701052000"]
    assert [a.subject_id for a in alerts if a.subject_id != ROTATION] == [other_rotation.rotation_id]


def test_touching_known_gap_counts_as_the_same_and_empty_gaps_are_ignored() -> None:
    known = [KnownGap(ROTATION, NOW, NOW + 4 * HOUR, "nobody")]
    assert oncall_gap_alerts([gap(NOW + 4 * HOUR, NOW + 5 * HOUR)], known, WINDOW_END) == []
    assert oncall_gap_alerts([gap(NOW, NOW)], [], WINDOW_END) == []


def test_unreadable_detail_is_no_known_gap() -> None:
    assert known_gap(ROTATION, None, {}) is None
    assert known_gap(ROTATION, None, {"starts_at": "soon", "ends_at": "x", "reason": "nobody"}) is None


def test_minute_label_is_utc_to_the_minute() -> None:
    assert minute_label("g", datetime(2027, 1, 5, 10, 0, 59, tzinfo=NEW_YORK)) == "g@202701051500"
    with pytest.raises(ValueError, match="naive"):
        minute_label("g", datetime(2027, 1, 5, 10))


# -- policy attestations ------------------------------------------------------------------------

TODAY = date(2027, 1, 5)


def update(attest_in: int) -> PolicyUpdateFacts:
    return PolicyUpdateFacts(
        uuid.uuid4(), "Cardiac MRI criteria", TODAY - timedelta(days=10), TODAY + timedelta(days=attest_in)
    )


@pytest.mark.parametrize(("attest_in", "raised"), [(15, False), (14, True), (1, True), (0, True), (-1, False)])
def test_attestation_due_within_14_days_until_the_day_itself(attest_in: int, raised: bool) -> None:
    found = update(attest_in)
    alerts = attestation_alerts(DOC, [found], frozenset(), TODAY)
    assert bool(alerts) is raised
    if raised:
        [alert] = alerts
        assert (alert.kind, alert.subject_type, alert.subject_id, alert.physician_id) == (
            "policy_attestation_due",
            "physician",
            DOC,
            DOC,
        )
        assert alert.threshold == "u" + found.id.hex[:15] and len(alert.threshold) == 16
        assert alert.due_on == found.attest_by and alert.detail["days_left"] == attest_in
        assert alert.detail["policy_update_id"] == str(found.id) and alert.detail["title"] == "Cardiac MRI criteria"


def test_attested_updates_raise_nothing_and_each_update_has_its_own_label() -> None:
    first, second = update(3), update(3)
    alerts = attestation_alerts(DOC, [first, second], frozenset({first.id}), TODAY)
    assert [a.detail["policy_update_id"] for a in alerts] == [str(second.id)]
    both = attestation_alerts(DOC, [first, second], frozenset(), TODAY)
    assert len({a.threshold for a in both}) == 2
    assert ATTESTATION_DUE_DAYS == 14


@given(st.uuids())
def test_update_labels_fit_and_never_read_as_days(update_id: uuid.UUID) -> None:
    label = update_label(update_id)
    assert len(label) == 16 and threshold_days(label) is None


# -- CME ---------------------------------------------------------------------------------------

TWO_YEARS = CmeRequirement(hours=50, cycle_months=24, anchor=date(2026, 1, 1))


def test_cme_short_when_the_rate_so_far_ends_the_cycle_short() -> None:
    # 2027-01-01 is day 366 of 730: half the cycle, so 25 hours is on pace, 24 is short.
    today = date(2027, 1, 1)
    on_pace = [(date(2026, 6, 1), 25.2)]
    assert cme_alert(DOC, TWO_YEARS, on_pace, today) is None
    alert = cme_alert(DOC, TWO_YEARS, [(date(2026, 6, 1), 20.0), (date(2026, 12, 31), 4.0)], today)
    assert alert is not None
    assert (alert.kind, alert.threshold, alert.subject_id, alert.due_on) == (
        "cme_short",
        "short@20271231",
        DOC,
        date(2027, 12, 31),
    )
    assert alert.detail == {
        "cycle_start": "2026-01-01",
        "cycle_end": "2027-12-31",
        "required_hours": 50,
        "earned_hours": 24.0,
        "projected_hours": 47.87,
    }


def test_cme_credits_outside_the_cycle_do_not_count() -> None:
    today = date(2027, 1, 1)
    assert cme_alert(DOC, TWO_YEARS, [(date(2025, 12, 31), 50.0)], today) is not None
    assert cme_alert(DOC, TWO_YEARS, [(date(2027, 1, 2), 50.0)], today) is not None, "not earned yet"


def test_cme_is_not_judged_early_in_a_cycle() -> None:
    start = date(2026, 1, 1)
    assert cme_alert(DOC, TWO_YEARS, [], start + timedelta(days=CME_JUDGED_AFTER_DAYS - 1)) is None
    late = cme_alert(DOC, TWO_YEARS, [], start + timedelta(days=CME_JUDGED_AFTER_DAYS))
    assert late is not None and late.threshold == "short@20271231"
    # The next cycle starts over.
    assert cme_alert(DOC, TWO_YEARS, [], date(2028, 1, 2)) is None
    assert cme_alert(DOC, TWO_YEARS, [], date(2028, 6, 1)).threshold == "short@20291231"  # type: ignore[union-attr]


def test_no_requirement_no_cme_alert() -> None:
    assert cme_alert(DOC, None, [], date(2027, 1, 1)) is None


def test_every_kind_the_jobs_raise_can_be_read_back() -> None:
    """One row of a kind missing from ``AlertKind`` would fail every alert listing and delivery."""
    from roster.alerts.clock_rules import CLOCK_KINDS, EDUCATION_KINDS
    from roster.alerts.rules import SWEPT_KINDS
    from roster.alerts.service import ALERT_KINDS

    assert set(CLOCK_KINDS) | set(EDUCATION_KINDS) | set(SWEPT_KINDS) <= set(ALERT_KINDS)
