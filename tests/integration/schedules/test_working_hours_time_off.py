"""Working hours, time off and holidays through HTTP: happy paths, every bad input, roles, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from tests.conftest import Api
from tests.integration.matching.roster import case, reviewer
from tests.integration.schedules.helpers import API, MISSING, PHYSICIANS, ROLES, WRITERS, ok, physician, problem

RULE = {"weekdays": ["fri", "mon", "mon"], "start": "09:00", "end": "17:30"}


def hours_url(physician_id: str) -> str:
    return f"{PHYSICIANS}/{physician_id}/working-hours"


def leave_url(physician_id: str) -> str:
    return f"{PHYSICIANS}/{physician_id}/time-off"


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def test_working_hours_round_trip_and_delete_keeps_history(api: Api) -> None:
    doc = await physician(api, 1, time_zone="America/Chicago")
    created = await ok(await api.post(hours_url(doc["id"]), role="credentialing", json=RULE), 201)
    assert created["weekdays"] == ["mon", "fri"], "deduplicated, in week order"
    assert (created["start"], created["end"], created["time_zone"]) == ("09:00", "17:30", "America/Chicago")
    assert created["effective_from"] is None and created["physician_id"] == doc["id"]
    overnight = await ok(
        await api.post(
            hours_url(doc["id"]),
            json={
                "weekdays": ["sat"],
                "start": "22:00",
                "end": "06:00",
                "effective_from": "2027-01-01",
                "effective_until": "2027-06-30",
            },
        ),
        201,
    )
    listed = await ok(await api.get(hours_url(doc["id"]), role="auditor"))
    assert [h["id"] for h in listed["items"]] == [created["id"], overnight["id"]]
    assert listed["next_cursor"] is None
    first = await ok(await api.get(hours_url(doc["id"]), params={"limit": 1}))
    second = await ok(await api.get(hours_url(doc["id"]), params={"limit": 1, "cursor": first["next_cursor"]}))
    assert [h["id"] for h in first["items"] + second["items"]] == [created["id"], overnight["id"]]

    await ok(await api.delete(f"{API}/working-hours/{created['id']}", role="credentialing"), 204)
    assert [h["id"] for h in (await ok(await api.get(hours_url(doc["id"]))))["items"]] == [overnight["id"]]
    problem(await api.delete(f"{API}/working-hours/{created['id']}"), 404)
    audit = await ok(await api.get(f"{API}/audit", params={"entity": "working_hours", "entity_id": created["id"]}))
    assert sorted(e["action"] for e in audit["items"]) == ["create", "delete"]

    from roster.history import service as history

    file = await history.physician_file_as_of(doc["id"], datetime.fromisoformat(created["created_at"]))
    assert [h["id"] for h in file["working_hours"]] == [created["id"]], "the deleted rule replays as it stood"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"start": "9:00"}, "start"),
        ({"start": "24:00"}, "start"),
        ({"end": "17:60"}, "end"),
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": ["monday"]}, "weekdays.0"),
        ({"effective_from": "2027-02-01", "effective_until": "2027-01-31"}, "effective_until"),
        ({"effective_from": "not a date"}, "effective_from"),
        ({"colour": "blue"}, "colour"),
        # 02:30 on a Sunday does not exist in New York on 2027-03-14 and is ambiguous... at 01:30 in November.
        ({"weekdays": ["sun"], "start": "02:30", "end": "09:00", "effective_from": "2027-01-01"}, "start"),
        ({"weekdays": ["sun"], "start": "01:30", "end": "09:00", "effective_from": "2027-06-01"}, "start"),
        ({"weekdays": ["sat"], "start": "22:00", "end": "02:15", "effective_from": "2027-01-01"}, "end"),
    ],
)
async def test_bad_working_hours_are_422_naming_the_field(api: Api, overrides: dict[str, Any], field: str) -> None:
    doc = await physician(api, 1)
    problem(await api.post(hours_url(doc["id"]), json={**RULE, **overrides}), 422, field)
    assert (await ok(await api.get(hours_url(doc["id"]))))["items"] == [], "nothing written"


async def test_local_times_depend_on_the_physicians_zone(api: Api) -> None:
    sunday_0230 = {"weekdays": ["sun"], "start": "02:30", "end": "09:00", "effective_from": "2027-01-01"}
    for zone in ("America/Phoenix", "Pacific/Honolulu"):
        doc = await physician(api, 2 if zone == "America/Phoenix" else 3, time_zone=zone)
        await ok(await api.post(hours_url(doc["id"]), json=sunday_0230), 201)
    new_york = await physician(api, 4)
    weekday_0230 = {**sunday_0230, "weekdays": ["mon", "tue"]}
    await ok(await api.post(hours_url(new_york["id"]), json=weekday_0230), 201)  # US clocks change on Sundays


async def test_unknown_physician_or_rule_is_404(api: Api) -> None:
    problem(await api.post(hours_url(MISSING), json=RULE), 404)
    problem(await api.get(hours_url(MISSING)), 404)
    problem(
        await api.post(
            leave_url(MISSING), json={"starts_at": "2027-01-01T00:00:00Z", "ends_at": "2027-01-02T00:00:00Z"}
        ),
        404,
    )
    problem(await api.get(leave_url(MISSING)), 404)
    problem(await api.delete(f"{API}/time-off/{MISSING}"), 404)


async def test_time_off_round_trip(api: Api) -> None:
    doc = await physician(api, 1)
    half_day = {"starts_at": "2027-01-04T14:00:00Z", "ends_at": "2027-01-04T18:00:00Z", "reason": "training"}
    created = await ok(await api.post(leave_url(doc["id"]), role="credentialing", json=half_day), 201)
    assert created["reason"] == "training" and created["at_risk"] == []
    assert created["starts_at"] == "2027-01-04T14:00:00Z" and created["ends_at"] == "2027-01-04T18:00:00Z"
    offset = {"starts_at": "2027-01-03T09:00:00-05:00", "ends_at": "2027-01-03T17:00:00-05:00"}
    other = await ok(await api.post(leave_url(doc["id"]), json=offset), 201)
    assert other["starts_at"] == "2027-01-03T14:00:00Z" and other["reason"] == "pto", "stored as UTC, pto default"
    listed = await ok(await api.get(leave_url(doc["id"]), role="router"))
    assert [t["id"] for t in listed["items"]] == [other["id"], created["id"]]
    await ok(await api.delete(f"{API}/time-off/{other['id']}"), 204)
    assert [t["id"] for t in (await ok(await api.get(leave_url(doc["id"]))))["items"]] == [created["id"]]
    audit = await ok(await api.get(f"{API}/audit", params={"entity": "time_off", "entity_id": other["id"]}))
    assert sorted(e["action"] for e in audit["items"]) == ["create", "delete"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_at": "2027-01-04T14:00:00Z", "ends_at": "2027-01-04T14:00:00Z"}, "ends_at"),
        ({"starts_at": "2027-01-04T14:00:00Z", "ends_at": "2027-01-04T13:00:00Z"}, "ends_at"),
        ({"starts_at": "2027-01-04T14:00:00", "ends_at": "2027-01-04T18:00:00Z"}, "starts_at"),
        ({"starts_at": "2027-01-04T14:00:00Z", "ends_at": "2027-01-04T18:00:00Z", "reason": "vacation"}, "reason"),
        ({"starts_at": "2027-01-04T14:00:00Z"}, "ends_at"),
        ({"starts_at": "yesterday", "ends_at": "2027-01-04T18:00:00Z"}, "starts_at"),
    ],
)
async def test_bad_time_off_is_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    doc = await physician(api, 1)
    problem(await api.post(leave_url(doc["id"]), json=body), 422, field)
    assert (await ok(await api.get(leave_url(doc["id"]))))["items"] == []


async def test_time_off_over_an_open_assignment_lists_it_at_risk_with_replacements(api: Api) -> None:
    busy = await reviewer(api, 1)
    spare = await reviewer(api, 2)
    now = datetime.now(UTC)
    due_soon = iso(now + timedelta(hours=30))
    due_later = iso(now + timedelta(days=20))
    for case_id, due in (("C-soon", due_soon), ("C-later", due_later)):
        body = {**case(), "case_id": case_id, "physician_id": busy["id"], "due_at": due}
        await ok(await api.post(f"{API}/assignments", role="router", json=body), 201)
    leave = {"starts_at": iso(now + timedelta(hours=1)), "ends_at": iso(now + timedelta(days=3)), "reason": "leave"}
    created = await ok(await api.post(leave_url(busy["id"]), json=leave), 201)
    [risk] = created["at_risk"]
    assert risk["case_id"] == "C-soon" and risk["due_at"] == due_soon.replace("Z", "Z")
    assert risk["replacements"] == [
        {"physician_id": spare["id"], "name": f"{spare['first_name']} {spare['last_name']}"}
    ]
    # The alert is raised with the time off, not at the next run of the 15-minute assignment clock.
    raised = await ok(await api.get(f"{API}/alerts", role="manager", params={"kind": "assignment_at_risk"}))
    assert [a["subject_id"] for a in raised["items"]] == [risk["assignment_id"]]
    # An hour off just before the due time leaves too little time for a reviewer who works only then.
    short = await ok(
        await api.post(
            leave_url(spare["id"]),
            json={"starts_at": iso(now + timedelta(days=10)), "ends_at": iso(now + timedelta(days=10, hours=1))},
        ),
        201,
    )
    assert short["at_risk"] == [], "no open assignment of this reviewer"


@pytest.mark.parametrize("role", ROLES)
async def test_roles(api: Api, role: str) -> None:
    doc = await physician(api, 1)
    leave = {"starts_at": "2027-01-04T14:00:00Z", "ends_at": "2027-01-04T18:00:00Z"}
    holiday = {"date": "2027-08-02", "name": "Founders' Day"}
    writes = [
        await api.post(hours_url(doc["id"]), role=role, json=RULE),
        await api.post(leave_url(doc["id"]), role=role, json=leave),
        await api.post(f"{API}/holidays", role=role, json=holiday),
    ]
    if role in WRITERS:
        assert [w.status_code for w in writes] == [201, 201, 201]
        hours_id, leave_id = writes[0].json()["id"], writes[1].json()["id"]
        await ok(await api.delete(f"{API}/working-hours/{hours_id}", role=role), 204)
        await ok(await api.delete(f"{API}/time-off/{leave_id}", role=role), 204)
    else:
        for response in writes:
            problem(response, 403)
        problem(await api.delete(f"{API}/working-hours/{MISSING}", role=role), 403)
        problem(await api.delete(f"{API}/time-off/{MISSING}", role=role), 403)
    for url in (hours_url(doc["id"]), leave_url(doc["id"]), f"{API}/holidays", f"{API}/turnaround-clocks"):
        assert (await api.get(url, role=role)).status_code == 200, url
    assert (await api.client.get(hours_url(doc["id"]))).status_code == 401


async def test_holidays(api: Api) -> None:
    created = await ok(await api.post(f"{API}/holidays", json={"date": "2027-08-02", "name": " Founders' Day "}), 201)
    assert created["date"] == "2027-08-02" and created["name"] == "Founders' Day"
    await ok(await api.post(f"{API}/holidays", json={"date": "2028-01-17", "name": "MLK Day"}), 201)
    body = problem(await api.post(f"{API}/holidays", json={"date": "2027-08-02", "name": "Again"}), 409, "date")
    assert "Founders' Day" in body["detail"]
    problem(await api.post(f"{API}/holidays", json={"date": "2027-02-30", "name": "No such day"}), 422, "date")
    problem(await api.post(f"{API}/holidays", json={"date": "2027-08-03", "name": " "}), 422, "name")
    problem(await api.post(f"{API}/holidays", json={"date": "2027-08-03"}), 422, "name")
    in_2027 = await ok(await api.get(f"{API}/holidays", params={"year": 2027}))
    assert [h["date"] for h in in_2027["items"]] == ["2027-08-02"]
    everything = await ok(await api.get(f"{API}/holidays"))
    assert [h["date"] for h in everything["items"]] == ["2027-08-02", "2028-01-17"]
    problem(await api.get(f"{API}/holidays", params={"year": "next"}), 422, "year")
    problem(await api.get(f"{API}/holidays", params={"year": 99999}), 422, "year")
    audit = await ok(await api.get(f"{API}/audit", params={"entity": "holiday"}))
    assert len(audit["items"]) == 2


async def test_turnaround_clocks(api: Api) -> None:
    from roster.availability.clocks import load_clocks

    body = await ok(await api.get(f"{API}/turnaround-clocks", role="router"))
    assert len(body["items"]) == len(load_clocks())
    expedited = next(
        c
        for c in body["items"]
        if (c["line_of_business"], c["review_type"], c["urgency"]) == ("medicare_advantage", "initial", "expedited")
    )
    assert expedited["unit"] == "hours" and expedited["amount"] == 72 and expedited["citation"]
    assert set(expedited) == {
        "line_of_business",
        "review_type",
        "urgency",
        "unit",
        "amount",
        "extension_days",
        "citation",
    }


async def test_schedule_of_replays_a_past_instant(api: Api) -> None:
    from roster.schedules.service import schedule_of
    from tests.integration.schedules.helpers import create_rotation, layer, rotation

    doc = await physician(api, 1, time_zone="America/Phoenix")
    rule = await ok(await api.post(hours_url(doc["id"]), json=RULE), 201)
    leave = await ok(
        await api.post(
            leave_url(doc["id"]), json={"starts_at": "2027-01-04T14:00:00Z", "ends_at": "2027-01-05T00:00:00Z"}
        ),
        201,
    )
    rota = await create_rotation(api, rotation([doc["id"]], layers=[layer([doc["id"]], starts_on="2027-01-01")]))
    then = datetime.fromisoformat(rota["created_at"])
    await ok(await api.delete(f"{API}/working-hours/{rule['id']}"), 204)
    await ok(await api.delete(f"{API}/time-off/{leave['id']}"), 204)
    await ok(await api.delete(f"{API}/rotations/{rota['id']}"), 204)

    now = await schedule_of(doc["id"])
    assert not now.scheduled and now.time_off == ()
    past = await schedule_of(doc["id"], then)
    assert past.scheduled and past.in_rotation
    [hours] = past.working_hours
    assert hours.zone.key == "America/Phoenix" and sorted(hours.weekdays) == [0, 4]
    assert [(t.starts_at.isoformat(), t.reason) for t in past.time_off] == [("2027-01-04T14:00:00+00:00", "pto")]
    assert [r.id for r in past.rotations] == [UUID(rota["id"])]
