"""The clock's alerts through HTTP (issues 14 and 15): ``assignment_clock`` raises due-soon, overdue and
at-risk assignments and on-call gaps, ``education_sweep`` policy attestations due and CME cycles running
short; each run on a frozen clock through ``POST /api/v1/jobs/{name}/run``, read back from
``GET /api/v1/alerts``. Running again raises nothing new, and an acknowledged alert stays acknowledged."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine

from roster.config import Settings
from tests import factories
from tests.conftest import Api, TempDatabase
from tests.integration.matching.roster import case

API = "/api/v1"
PHYSICIANS = f"{API}/physicians"
#: A Tuesday, 10:00 in New York (the physicians' default zone): every instant below is relative to it.
T0 = datetime(2027, 1, 5, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
#: Dates that hold whatever day the suite runs on (the factories' defaults follow the suite's today).
FILE_DATES = {"credentialed_on": "2026-06-01", "irr_passed_on": "2026-10-01"}
LICENSE_DATES = {"issued_on": "2010-01-01", "expires_on": "2028-06-30", "verified_on": "2026-12-01"}
NINE_TO_FIVE = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    """No screening list required, so eligibility turns on the other rules (as in the matching tests)."""
    return migrated.settings(required_sources=())


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if status != 204 else None


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def reviewer(api: Api, n: int, *, hours: bool = True) -> dict[str, Any]:
    """An AZ-licensed medical oncologist, working 09:00-17:00 New York on weekdays."""
    doc = await ok(await api.post(PHYSICIANS, json=factories.physician(n, **FILE_DATES)), 201)
    body = factories.license(number=f"MD{n:05d}", **LICENSE_DATES)
    await ok(await api.post(f"{PHYSICIANS}/{doc['id']}/licenses", json=body), 201)
    await ok(await api.post(f"{PHYSICIANS}/{doc['id']}/certifications", json=factories.certification()), 201)
    if hours:
        await ok(await api.post(f"{PHYSICIANS}/{doc['id']}/working-hours", json=NINE_TO_FIVE), 201)
    return doc


async def assign(api: Api, physician: dict[str, Any], case_id: str, due_at: datetime) -> dict[str, Any]:
    body = {
        **case(),
        "case_id": case_id,
        "physician_id": physician["id"],
        "urgency": "expedited",
        "received_at": iso(T0 - HOUR),
        "due_at": iso(due_at),
    }
    return await ok(await api.post(f"{API}/assignments", role="router", json=body), 201)


async def run(api: Api, job: str, at: datetime, role: str = "manager") -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        response = await api.post(f"{API}/jobs/{job}/run", role=role, params={"wait": "true"})
    finished = await ok(response, 201)
    assert finished["outcome"] == "succeeded", finished
    return finished["counts"]


async def alerts(api: Api, kind: str) -> list[dict[str, Any]]:
    page = await ok(await api.get(f"{API}/alerts", role="manager", params={"kind": kind, "limit": 200}))
    return sorted(page["items"], key=lambda a: (a["subject_id"], a["threshold"]))


async def keys(api: Api, kind: str) -> list[tuple[str, str]]:
    return [(a["subject_id"], a["threshold"]) for a in await alerts(api, kind)]


async def acknowledge(api: Api, alert: dict[str, Any]) -> None:
    await ok(await api.post(f"{API}/alerts/{alert['id']}/acknowledge", role="manager"))


# -- assignment_clock ------------------------------------------------------------------------------


async def test_assignment_clock_raises_due_soon_overdue_at_risk_and_gaps_once(api: Api) -> None:
    with time_machine.travel(T0, tick=False):
        a = await reviewer(api, 1)
        b = await reviewer(api, 2)
        c = await reviewer(api, 3, hours=False)
        a1 = await assign(api, a, "C-A1", T0 + 30 * HOUR)  # Wednesday 16:00 New York
        b1 = await assign(api, b, "C-B1", T0 + 48 * HOUR)
        leave = {"starts_at": iso(T0), "ends_at": iso(T0 + timedelta(days=4)), "reason": "leave"}
        created = await ok(await api.post(f"{PHYSICIANS}/{b['id']}/time-off", json=leave), 201)
        assert [r["assignment_id"] for r in created["at_risk"]] == [b1["id"]]
        assert [a["subject_id"] for a in await alerts(api, "assignment_at_risk")] == [b1["id"]], "raised at once"
        # C is on call from Thursday 07:00 New York (12:00 UTC): nobody is before.
        layer = {
            "name": "primary",
            "priority": 1,
            "members": [c["id"]],
            "handoff_time": "07:00",
            "shift_hours": 24,
            "starts_on": "2027-01-07",
        }
        body = {"name": "Pre-cert 24x7", "time_zone": "America/New_York", "layers": [layer]}
        rotation = await ok(await api.post(f"{API}/rotations", json=body), 201)

    counts = await run(api, "assignment_clock", T0)
    assert counts["raised"] == 1 and counts["due"] == 2 and counts["assignments"] == 2, "the gap; the risk was raised"
    [risk] = await alerts(api, "assignment_at_risk")
    assert (risk["subject_id"], risk["threshold"], risk["physician_id"]) == (b1["id"], "risk@20270107", b["id"])
    assert risk["subject_type"] == "assignment" and risk["due_on"] == "2027-01-07"
    assert risk["detail"]["on_leave"] is True and risk["detail"]["case_id"] == "C-B1"
    [gap] = await alerts(api, "oncall_gap")
    assert (gap["subject_type"], gap["subject_id"], gap["threshold"]) == ("rotation", rotation["id"], "g@202701051500")
    assert gap["physician_id"] is None and gap["detail"]["reason"] == "nobody"
    assert gap["detail"]["ends_at"] == "2027-01-07T12:00:00Z"
    assert await alerts(api, "assignment_due_soon") == [] and await alerts(api, "assignment_overdue") == []

    # Again, and a quarter of an hour later: the gap under way is the same gap.
    assert (await run(api, "assignment_clock", T0))["raised"] == 0
    later = await run(api, "assignment_clock", T0 + timedelta(minutes=15))
    assert later["raised"] == 0 and later["gaps"] == 1 and later["due"] == 1, "the gap seen again is not due again"

    # 24 hours before A's due time.
    assert (await run(api, "assignment_clock", T0 + 6 * HOUR))["raised"] == 1
    [soon] = await alerts(api, "assignment_due_soon")
    assert (soon["subject_id"], soon["threshold"], soon["physician_id"]) == (a1["id"], "in24h@20270106", a["id"])
    await acknowledge(api, soon)
    assert (await run(api, "assignment_clock", T0 + 7 * HOUR))["raised"] == 0
    [still] = await alerts(api, "assignment_due_soon")
    assert still["id"] == soon["id"] and still["status"] == "acknowledged", "an acknowledged alert is not raised again"

    # C takes Saturday afternoon off during a shift: a gap with C named.
    with time_machine.travel(T0 + 20 * HOUR, tick=False):
        away = {"starts_at": "2027-01-09T12:00:00Z", "ends_at": "2027-01-09T18:00:00Z", "reason": "pto"}
        await ok(await api.post(f"{PHYSICIANS}/{c['id']}/time-off", json=away), 201)
    # 4 hours before A's due time, 22 before B's, and the new gap.
    assert (await run(api, "assignment_clock", T0 + 26 * HOUR))["raised"] == 3
    assert await keys(api, "assignment_due_soon") == sorted(
        [(a1["id"], "in24h@20270106"), (a1["id"], "in4h@20270106"), (b1["id"], "in24h@20270107")]
    )
    gaps = {g["threshold"]: g for g in await alerts(api, "oncall_gap")}
    assert set(gaps) == {"g@202701051500", "g@202701091200"}
    assert gaps["g@202701091200"]["physician_id"] == c["id"] and gaps["g@202701091200"]["detail"]["hours"] == 6.0

    # Past A's due time: overdue, once. B's case is cancelled: nothing more about it.
    assert (await run(api, "assignment_clock", T0 + 30 * HOUR + timedelta(minutes=1)))["raised"] == 1
    [overdue] = await alerts(api, "assignment_overdue")
    assert (overdue["subject_id"], overdue["threshold"]) == (a1["id"], "overdue")
    with time_machine.travel(T0 + 31 * HOUR, tick=False):
        await ok(await api.patch(f"{API}/assignments/{b1['id']}", role="router", json={"status": "cancelled"}))
    final = await run(api, "assignment_clock", T0 + 50 * HOUR)
    assert final["raised"] == 0 and final["assignments"] == 1
    assert await keys(api, "assignment_overdue") == [(a1["id"], "overdue")]


async def test_the_jobs_api_lists_the_new_jobs(api: Api) -> None:
    with time_machine.travel(datetime(2027, 1, 5, 15, 7, tzinfo=UTC), tick=False):
        jobs = {job["name"]: job for job in await ok(await api.get(f"{API}/jobs", role="manager"))}
    clock_job = jobs["assignment_clock"]
    assert clock_job["schedule"] == "*/15 * * * *" and clock_job["catch_up"] is False
    assert clock_job["next_run"] == "2027-01-05T15:15:00Z"
    education = jobs["education_sweep"]
    assert education["schedule"] == "45 2 * * *" and education["catch_up"] is True
    assert education["next_run"] == "2027-01-06T02:45:00Z"


async def test_the_clock_job_with_nothing_to_watch_raises_nothing(api: Api) -> None:
    counts = await run(api, "assignment_clock", T0, role="admin")
    assert counts == {"assignments": 0, "gaps": 0, "due": 0, "raised": 0}


# -- education_sweep -------------------------------------------------------------------------------

D0 = date(2027, 1, 5)


def sweep_time(day: date) -> datetime:
    return datetime.combine(day, time(2, 45), tzinfo=UTC)


async def publish(api: Api, title: str, effective_on: str, attest_by: str) -> dict[str, Any]:
    body = {"title": title, "effective_on": effective_on, "attest_by": attest_by}
    return await ok(await api.post(f"{API}/policy-updates", role="manager", json=body), 201)


async def test_education_sweep_raises_attestations_due_and_cme_short_once(api: Api) -> None:
    with time_machine.travel(sweep_time(D0) - HOUR, tick=False):
        p1 = await ok(await api.post(PHYSICIANS, json=factories.physician(11, **FILE_DATES)), 201)
        p2 = await ok(await api.post(PHYSICIANS, json=factories.physician(12, **FILE_DATES)), 201)
        p3 = await ok(await api.post(PHYSICIANS, json=factories.physician(13, **FILE_DATES)), 201)
        await ok(await api.delete(f"{PHYSICIANS}/{p3['id']}"))  # inactive: never swept
        u1 = await publish(api, "Cardiac MRI criteria", "2026-12-20", "2027-01-15")  # 10 days left
        u2 = await publish(api, "PET-CT criteria", "2027-01-01", "2027-01-25")  # 20 days left
        await publish(api, "Oncology 2nd line", "2026-11-01", "2027-01-01")  # past: overdue, not due
        attestation = {"physician_id": p1["id"], "attested_on": "2027-01-04"}
        await ok(await api.post(f"{API}/policy-updates/{u1['id']}/attestations", json=attestation), 201)
        # The default requirement: 50 hours over 2026-2027. By 2027-01-05 (day 370 of 730) P1's 30 hours
        # project to 59; P2 has none.
        credit = {"completed_on": "2026-06-01", "activity": "ASCO Annual Meeting", "hours": 30, "category": "ama_pra_1"}
        await ok(await api.post(f"{PHYSICIANS}/{p1['id']}/cme", role="credentialing", json=credit), 201)

    counts = await run(api, "education_sweep", sweep_time(D0))
    assert counts["raised"] == 2 and counts["due"] == 2 and counts["physicians"] == 2
    u1_label = "u" + u1["id"].replace("-", "")[:15]
    [due] = await alerts(api, "policy_attestation_due")
    assert (due["subject_type"], due["subject_id"], due["threshold"]) == ("physician", p2["id"], u1_label)
    assert due["physician_id"] == p2["id"] and due["due_on"] == "2027-01-15"
    assert due["detail"]["policy_update_id"] == u1["id"] and due["detail"]["days_left"] == 10
    [short] = await alerts(api, "cme_short")
    assert (short["subject_id"], short["threshold"], short["due_on"]) == (p2["id"], "short@20271231", "2027-12-31")
    assert short["detail"]["earned_hours"] == 0 and short["detail"]["required_hours"] == 50

    again = await run(api, "education_sweep", sweep_time(D0))
    assert again["raised"] == 0 and again["due"] == 2
    await acknowledge(api, short)

    # A week on, the second update is due for both; P2's cycle is still short, but acknowledged.
    assert (await run(api, "education_sweep", sweep_time(D0 + timedelta(days=7))))["raised"] == 2
    u2_label = "u" + u2["id"].replace("-", "")[:15]
    assert await keys(api, "policy_attestation_due") == sorted(
        [(p2["id"], u1_label), (p1["id"], u2_label), (p2["id"], u2_label)]
    )
    [still] = await alerts(api, "cme_short")
    assert still["id"] == short["id"] and still["status"] == "acknowledged"
    # Past the first update's attest-by date: nothing new (the reviewer is overdue in matching instead).
    assert (await run(api, "education_sweep", sweep_time(date(2027, 1, 16))))["raised"] == 0
