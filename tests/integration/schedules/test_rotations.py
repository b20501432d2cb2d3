"""Rotations, overrides, on call (DST in New York, Phoenix and Honolulu), replay and iCalendar feeds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import reviewer
from tests.integration.schedules.helpers import (
    API,
    MISSING,
    PHYSICIANS,
    ROLES,
    ROTATIONS,
    WRITERS,
    create_rotation,
    layer,
    ok,
    on_call,
    physician,
    problem,
    rotation,
)


async def two(api: Api) -> tuple[str, str]:
    a, b = await physician(api, 1), await physician(api, 2)
    return a["id"], b["id"]


async def test_create_read_list_update_delete(api: Api) -> None:
    a, b = await two(api)
    body = rotation(
        [a, b],
        case={**{"state": "AZ", "line_of_business": "commercial"}, "specialty": "207RX0202X", "review_type": "initial"},
    )
    created = await ok(await api.post(ROTATIONS, role="credentialing", json=body), 201)
    assert created["name"] == "Pre-cert 24x7" and created["time_zone"] == "America/New_York"
    assert created["case"] == {
        "state": "AZ",
        "line_of_business": "commercial",
        "specialty": "medical_oncology",
        "review_type": "initial",
    }, "a NUCC code is stored as the slug"
    assert created["layers"] == [
        {
            "name": "primary",
            "priority": 1,
            "members": [a, b],
            "handoff_time": "07:00",
            "shift_hours": 12,
            "starts_on": "2027-03-10",
        }
    ]
    assert await ok(await api.get(f"{ROTATIONS}/{created['id']}", role="auditor")) == created
    assert [r["id"] for r in (await ok(await api.get(ROTATIONS, role="router")))["items"]] == [created["id"]]

    patched = await ok(
        await api.patch(
            f"{ROTATIONS}/{created['id']}",
            json={"name": "Nights", "case": None, "layers": [layer([b, a], name="nights", shift_hours=168)]},
        )
    )
    assert patched["name"] == "Nights" and patched["case"] is None
    assert [(x["name"], x["members"], x["shift_hours"]) for x in patched["layers"]] == [("nights", [b, a], 168)]
    assert patched["updated_at"] > created["updated_at"]
    renamed = await ok(await api.patch(f"{ROTATIONS}/{created['id']}", json={"time_zone": "America/Phoenix"}))
    assert renamed["layers"] == patched["layers"] and renamed["time_zone"] == "America/Phoenix"

    await ok(await api.delete(f"{ROTATIONS}/{created['id']}"), 204)
    problem(await api.get(f"{ROTATIONS}/{created['id']}"), 404)
    problem(await api.delete(f"{ROTATIONS}/{created['id']}"), 404)
    audit = await ok(await api.get(f"{API}/audit", params={"entity": "rotation", "entity_id": created["id"]}))
    assert sorted(e["action"] for e in audit["items"]) == ["create", "delete", "update", "update"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Atlantis/Capital"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"name": ""}, "name"),
        ({"layers": []}, "layers"),
        ({"layers": [layer(["{a}"], handoff_time="02:30")]}, "layers.0.handoff_time"),
        ({"layers": [layer(["{a}"], handoff_time="01:30")]}, "layers.0.handoff_time"),
        ({"layers": [layer(["{a}"], handoff_time="7:00")]}, "layers.0.handoff_time"),
        ({"layers": [layer(["{a}"], handoff_time="01:00", shift_hours=5)]}, "layers.0.handoff_time"),
        ({"layers": [layer(["{a}"], shift_hours=0)]}, "layers.0.shift_hours"),
        ({"layers": [layer(["{a}"], shift_hours=-12)]}, "layers.0.shift_hours"),
        ({"layers": [layer(["{a}"], priority=0)]}, "layers.0.priority"),
        ({"layers": [layer([])]}, "layers.0.members"),
        ({"layers": [layer(["{a}", "00000000-0000-4000-8000-000000000000"])]}, "layers.0.members.1"),
        ({"layers": [layer(["not-a-uuid"])]}, "layers.0.members.0"),
        ({"layers": [layer(["{a}"]), layer(["{a}"], priority=2)]}, "layers.1.name"),
        ({"layers": [layer(["{a}"], starts_on="2027-02-30")]}, "layers.0.starts_on"),
        (
            {
                "case": {
                    "state": "ZZ",
                    "line_of_business": "commercial",
                    "specialty": "cardiology",
                    "review_type": "initial",
                }
            },
            "case.state",
        ),
        (
            {
                "case": {
                    "state": "AZ",
                    "line_of_business": "commercial",
                    "specialty": "astrology",
                    "review_type": "initial",
                }
            },
            "case.specialty",
        ),
        (
            {
                "case": {
                    "state": "AZ",
                    "line_of_business": "dental",
                    "specialty": "cardiology",
                    "review_type": "initial",
                }
            },
            "case.line_of_business",
        ),
        ({"color": "red"}, "color"),
    ],
)
async def test_bad_rotations_are_422_naming_the_field(api: Api, change: dict[str, Any], field: str) -> None:
    a, _ = await two(api)

    def filled(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{a}", a)
        if isinstance(value, list):
            return [filled(v) for v in value]
        if isinstance(value, dict):
            return {k: filled(v) for k, v in value.items()}
        return value

    change = filled(change)
    problem(await api.post(ROTATIONS, json={**rotation([a]), **change}), 422, field)
    assert (await ok(await api.get(ROTATIONS)))["items"] == [], "nothing written"
    existing = await create_rotation(api, rotation([a]))
    if field not in ("color",):
        problem(await api.patch(f"{ROTATIONS}/{existing['id']}", json=change), 422, field)
    assert await ok(await api.get(f"{ROTATIONS}/{existing['id']}")) == existing, "nothing changed"


async def test_a_handoff_fine_in_phoenix_and_honolulu(api: Api) -> None:
    a, _ = await two(api)
    for zone in ("America/Phoenix", "Pacific/Honolulu"):
        created = await create_rotation(api, rotation([a], time_zone=zone, layers=[layer([a], handoff_time="02:30")]))
        assert created["layers"][0]["handoff_time"] == "02:30"
    # 03:00 never repeats or vanishes in New York: fine, and 12 hours later 15:00 too.
    await create_rotation(api, rotation([a], layers=[layer([a], handoff_time="03:00")]))


@pytest.mark.parametrize(
    ("zone", "at", "member", "start", "end", "hours"),
    [
        # Spring forward (2027-03-14): the night shift from 19:00 EST keeps its 07:00 EDT hand-off: 11 hours.
        ("America/New_York", "2027-03-14T08:00:00Z", 1, "2027-03-14T00:00:00Z", "2027-03-14T11:00:00Z", 11),
        ("America/New_York", "2027-03-14T11:00:00Z", 0, "2027-03-14T11:00:00Z", "2027-03-14T23:00:00Z", 12),
        # Fall back (2027-11-07): 19:00 EDT to 07:00 EST is 13 hours.
        ("America/New_York", "2027-11-07T06:30:00Z", 1, "2027-11-06T23:00:00Z", "2027-11-07T12:00:00Z", 13),
        # No DST in Phoenix or Honolulu: every shift is 12 hours, at the same UTC times all year.
        ("America/Phoenix", "2027-03-14T08:00:00Z", 1, "2027-03-14T02:00:00Z", "2027-03-14T14:00:00Z", 12),
        ("America/Phoenix", "2027-11-07T06:30:00Z", 1, "2027-11-07T02:00:00Z", "2027-11-07T14:00:00Z", 12),
        ("Pacific/Honolulu", "2027-03-14T08:00:00Z", 1, "2027-03-14T05:00:00Z", "2027-03-14T17:00:00Z", 12),
        ("Pacific/Honolulu", "2027-11-07T06:30:00Z", 1, "2027-11-07T05:00:00Z", "2027-11-07T17:00:00Z", 12),
    ],
)
async def test_on_call_across_dst(api: Api, zone: str, at: str, member: int, start: str, end: str, hours: int) -> None:
    a, b = await two(api)
    starts_on = "2027-03-10" if at.startswith("2027-03") else "2027-11-03"
    created = await create_rotation(api, rotation([a, b], time_zone=zone, layers=[layer([a, b], starts_on=starts_on)]))
    answer = await on_call(api, created["id"], at)
    assert answer["rotation"] == created["id"] and answer["at"] == at
    [entry] = answer["on_call"]
    assert entry["physician_id"] == (a, b)[member] and entry["layer"] == "primary"
    assert (entry["from"], entry["until"]) == (start, end)
    span = datetime.fromisoformat(entry["until"]) - datetime.fromisoformat(entry["from"])
    assert span == timedelta(hours=hours)
    assert entry["name"] == f"Ada Reviewer000{member + 1}"


async def test_priority_layers_and_overrides(api: Api) -> None:
    a, b = await two(api)
    c = (await physician(api, 3))["id"]
    body = rotation(
        [a],
        time_zone="UTC",
        layers=[
            layer([a], name="backup", priority=2, handoff_time="00:00", shift_hours=24, starts_on="2027-01-01"),
            layer([b], name="primary", priority=1, handoff_time="00:00", shift_hours=24, starts_on="2027-02-01"),
        ],
    )
    created = await create_rotation(api, body)
    assert (await on_call(api, created["id"], "2026-12-31T12:00:00Z"))["on_call"] == [], "no layer started yet"
    [before] = (await on_call(api, created["id"], "2027-01-15T12:00:00Z"))["on_call"]
    assert before["physician_id"] == a and before["layer"] == "backup"
    [after] = (await on_call(api, created["id"], "2027-02-15T12:00:00Z"))["on_call"]
    assert after["physician_id"] == b and after["layer"] == "primary"

    override = {"physician_id": c, "starts_at": "2027-02-15T10:00:00Z", "ends_at": "2027-02-15T14:00:00-00:00"}
    made = await ok(await api.post(f"{ROTATIONS}/{created['id']}/overrides", role="credentialing", json=override), 201)
    assert made["rotation_id"] == created["id"] and made["ends_at"] == "2027-02-15T14:00:00Z"
    [covered] = (await on_call(api, created["id"], "2027-02-15T12:00:00Z"))["on_call"]
    assert covered == {
        "physician_id": c,
        "name": "Ada Reviewer0003",
        "from": "2027-02-15T10:00:00Z",
        "until": "2027-02-15T14:00:00Z",
        "layer": "override",
    }
    assert (await on_call(api, created["id"], "2027-02-15T14:00:00Z"))["on_call"][0]["physician_id"] == b
    listed = await ok(await api.get(f"{ROTATIONS}/{created['id']}/overrides", role="auditor"))
    assert [o["id"] for o in listed["items"]] == [made["id"]]
    await ok(await api.delete(f"{API}/overrides/{made['id']}"), 204)
    assert (await on_call(api, created["id"], "2027-02-15T12:00:00Z"))["on_call"][0]["physician_id"] == b
    problem(await api.delete(f"{API}/overrides/{made['id']}"), 404)


async def test_bad_overrides(api: Api) -> None:
    a, b = await two(api)
    created = await create_rotation(api, rotation([a]))
    url = f"{ROTATIONS}/{created['id']}/overrides"
    span = {"starts_at": "2027-02-15T10:00:00Z", "ends_at": "2027-02-15T14:00:00Z"}
    problem(await api.post(url, json={**span, "physician_id": b, "ends_at": "2027-02-15T10:00:00Z"}), 422, "ends_at")
    problem(await api.post(url, json={**span, "physician_id": b, "ends_at": "2029-02-15T10:00:00Z"}), 422, "ends_at")
    problem(await api.post(url, json={**span, "physician_id": b, "starts_at": "2027-02-15T10:00:00"}), 422, "starts_at")
    problem(await api.post(url, json={**span, "physician_id": MISSING}), 422, "physician_id")
    problem(await api.post(url, json={**span}), 422, "physician_id")
    problem(await api.post(f"{ROTATIONS}/{MISSING}/overrides", json={**span, "physician_id": b}), 404)
    await ok(await api.delete(f"{PHYSICIANS}/{b}"))  # deactivated
    body = problem(await api.post(url, json={**span, "physician_id": b}), 409, "physician_id")
    assert [e["message"] for e in body["errors"]] == ["inactive"]
    assert (await ok(await api.get(url)))["items"] == []


async def test_an_override_to_a_reviewer_not_eligible_for_the_rotations_cases_is_409(api: Api) -> None:
    licensed = await reviewer(api, 1)
    elsewhere = await reviewer(api, 2, licenses=(factories.license("TX", "TX00002"),))
    case = {"state": "AZ", "line_of_business": "commercial", "specialty": "medical_oncology", "review_type": "initial"}
    created = await create_rotation(api, rotation([licensed["id"]], case=case))
    url = f"{ROTATIONS}/{created['id']}/overrides"
    span = {"starts_at": "2027-01-15T10:00:00Z", "ends_at": "2027-01-16T10:00:00Z"}
    body = problem(await api.post(url, json={**span, "physician_id": elsewhere["id"]}), 409, "physician_id")
    assert [e["message"] for e in body["errors"]] == ["no_license_in_state"]
    # A license that lapses during the override: eligible at its start, not at its end.
    lapsing = await reviewer(
        api,
        3,
        licenses=(factories.license("AZ", "AZ00003", expires_on=(date.today() + timedelta(days=60)).isoformat()),),
    )
    late = {
        "starts_at": f"{date.today() + timedelta(days=50)}T00:00:00Z",
        "ends_at": f"{date.today() + timedelta(days=70)}T00:00:00Z",
    }
    body = problem(await api.post(url, json={**late, "physician_id": lapsing["id"]}), 409)
    assert [e["message"] for e in body["errors"]] == ["license_expired"]
    await ok(await api.post(url, json={**span, "physician_id": lapsing["id"]}), 201)
    await ok(await api.post(url, json={**span, "physician_id": licensed["id"]}), 201)


async def test_on_call_input(api: Api) -> None:
    a, _ = await two(api)
    created = await create_rotation(api, rotation([a]))
    problem(await api.get(f"{API}/oncall"), 422, "rotation")
    problem(await api.get(f"{API}/oncall", params={"rotation": "nope"}), 422, "rotation")
    problem(await api.get(f"{API}/oncall", params={"rotation": created["id"], "at": "soon"}), 422, "at")
    problem(await api.get(f"{API}/oncall", params={"rotation": MISSING}), 404)
    problem(await api.get(f"{API}/oncall", params={"rotation": created["id"], "when": "now"}), 422, "when")
    now = await on_call(api, created["id"])
    assert now["on_call"] == [], "the layer starts in March 2027"
    assert datetime.fromisoformat(now["at"]) <= datetime.now(UTC)


async def test_a_past_instant_replays_the_rotation_as_it_stood(api: Api) -> None:
    a, b = await two(api)
    started = (date.today() - timedelta(days=3)).isoformat()
    body = rotation([a], time_zone="UTC", layers=[layer([a], handoff_time="00:00", shift_hours=24, starts_on=started)])
    created = await create_rotation(api, body)
    then = created["created_at"]
    await ok(
        await api.patch(
            f"{ROTATIONS}/{created['id']}",
            json={"layers": [layer([b], handoff_time="00:00", shift_hours=24, starts_on=started)]},
        )
    )
    override = {"physician_id": a, "starts_at": then, "ends_at": f"{date.today() + timedelta(days=1)}T00:00:00Z"}
    made = await ok(await api.post(f"{ROTATIONS}/{created['id']}/overrides", json=override), 201)
    assert (await on_call(api, created["id"], then))["on_call"][0]["physician_id"] == a, "the layer as it stood"
    assert (await on_call(api, created["id"]))["on_call"][0]["layer"] == "override"
    await ok(await api.delete(f"{API}/overrides/{made['id']}"), 204)
    assert (await on_call(api, created["id"]))["on_call"][0]["physician_id"] == b
    between = made["created_at"]
    assert (await on_call(api, created["id"], between))["on_call"][0]["layer"] == "override", (
        "the deleted override replays"
    )
    before = (datetime.fromisoformat(then) - timedelta(seconds=1)).isoformat()
    problem(await api.get(f"{API}/oncall", params={"rotation": created["id"], "at": before}), 404)
    await ok(await api.delete(f"{ROTATIONS}/{created['id']}"), 204)
    assert (await on_call(api, created["id"], between))["on_call"][0]["layer"] == "override", "deleted, still replayed"


def events(text: bytes) -> list[Any]:
    return Calendar.from_ical(text).walk("VEVENT")


async def test_calendar_feeds(api: Api) -> None:
    a, b = await two(api)
    started = (date.today() - timedelta(days=40)).isoformat()
    body = rotation([a, b], layers=[layer([a, b], handoff_time="08:00", shift_hours=24, starts_on=started)])
    created = await create_rotation(api, body)
    url = f"{ROTATIONS}/{created['id']}/calendar.ics"
    response = await api.get(url, role="router")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    assert str(cal["version"]) == "2.0" and "Roster" in str(cal["prodid"])
    shifts = events(response.content)
    assert 119 <= len(shifts) <= 122, "a shift a day, 30 days back to 90 ahead"
    uids = [str(e["uid"]) for e in shifts]
    assert len(set(uids)) == len(uids)
    assert uids == [str(e["uid"]) for e in events((await api.get(url)).content)], "stable UIDs"
    for event in shifts[:5]:
        assert event.decoded("dtend") - event.decoded("dtstart") in (
            timedelta(hours=23),
            timedelta(hours=24),
            timedelta(hours=25),
        )
        assert event.decoded("dtstart").astimezone().tzinfo is not None

    mine = await api.get(f"{PHYSICIANS}/{a}/calendar.ics", role="auditor")
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/calendar")
    own = events(mine.content)
    assert own and all("Pre-cert 24x7" in str(e["summary"]) for e in own)
    assert {str(e["uid"]) for e in own} < set(uids), "the reviewer's shifts are the rotation's, same UIDs"
    assert len(own) in (len(shifts) // 2, (len(shifts) + 1) // 2)
    lonely = await physician(api, 3)
    assert events((await api.get(f"{PHYSICIANS}/{lonely['id']}/calendar.ics")).content) == []
    problem(await api.get(f"{PHYSICIANS}/{MISSING}/calendar.ics"), 404)
    problem(await api.get(f"{ROTATIONS}/{MISSING}/calendar.ics"), 404)


@pytest.mark.parametrize("role", ROLES)
async def test_rotation_roles(api: Api, role: str) -> None:
    a, b = await two(api)
    existing = await create_rotation(api, rotation([a]))
    created = await api.post(ROTATIONS, role=role, json=rotation([a]))
    patched = await api.patch(f"{ROTATIONS}/{existing['id']}", role=role, json={"name": "Renamed"})
    span = {"physician_id": b, "starts_at": "2027-02-15T10:00:00Z", "ends_at": "2027-02-15T14:00:00Z"}
    overridden = await api.post(f"{ROTATIONS}/{existing['id']}/overrides", role=role, json=span)
    if role in WRITERS:
        assert (created.status_code, patched.status_code, overridden.status_code) == (201, 200, 201)
        await ok(await api.delete(f"{API}/overrides/{overridden.json()['id']}", role=role), 204)
        await ok(await api.delete(f"{ROTATIONS}/{created.json()['id']}", role=role), 204)
    else:
        for response in (created, patched, overridden):
            problem(response, 403)
        problem(await api.delete(f"{ROTATIONS}/{existing['id']}", role=role), 403)
        problem(await api.delete(f"{API}/overrides/{MISSING}", role=role), 403)
    for url in (
        ROTATIONS,
        f"{ROTATIONS}/{existing['id']}",
        f"{ROTATIONS}/{existing['id']}/overrides",
        f"{ROTATIONS}/{existing['id']}/calendar.ics",
        f"{PHYSICIANS}/{a}/calendar.ics",
    ):
        assert (await api.get(url, role=role)).status_code == 200, url
    assert (await api.get(f"{API}/oncall", role=role, params={"rotation": existing["id"]})).status_code == 200
    assert (await api.client.get(f"{API}/oncall", params={"rotation": existing["id"]})).status_code == 401
