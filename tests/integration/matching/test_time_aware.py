"""POST /api/v1/match with time (rules.md §5): working hours, time off, on call, due_at, replay, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import PHYSICIANS, case, ok, reviewer

NY = ZoneInfo("America/New_York")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
#: The first Monday after the suite's today: dated credentials stay valid, weekdays are fixed.
MONDAY = factories.TODAY + timedelta(days=7 - factories.TODAY.weekday())


def ny(days: int, hour: int, minute: int = 0) -> datetime:
    """``days`` after that Monday, at a New York wall-clock time, in UTC."""
    return datetime.combine(MONDAY + timedelta(days=days), time(hour, minute), NY).astimezone(UTC)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def hours(api: Api, physician: dict[str, Any], start: str, end: str, weekdays: list[str] = WEEKDAYS) -> None:
    body = {"weekdays": weekdays, "start": start, "end": end}
    await ok(await api.post(f"{PHYSICIANS}/{physician['id']}/working-hours", json=body), 201)


async def time_off(api: Api, physician: dict[str, Any], starts: datetime, ends: datetime) -> None:
    body = {"starts_at": iso(starts), "ends_at": iso(ends), "reason": "pto"}
    await ok(await api.post(f"{PHYSICIANS}/{physician['id']}/time-off", json=body), 201)


async def time_match(api: Api, **overrides: Any) -> dict[str, Any]:
    body = case(**{"line_of_business": "medicare_advantage", "urgency": "expedited", "explain": True, **overrides})
    return await ok(await api.post("/api/v1/match", json=body, role="router"))


def ids(result: dict[str, Any]) -> list[str]:
    return [e["physician_id"] for e in result["eligible"]]


def reasons(result: dict[str, Any]) -> dict[str, list[str]]:
    return {r["physician_id"]: r["reasons"] for r in result["ineligible"]}


@pytest.fixture
async def team(api: Api) -> dict[str, dict[str, Any]]:
    """Day (Mon-Fri 9-5 New York), free (no schedule), away (9-5, PTO all Monday), brief (Mondays 9:00-9:30)."""
    day = await reviewer(api, 1, time_zone="America/New_York")
    free = await reviewer(api, 2)
    away = await reviewer(api, 3, time_zone="America/New_York")
    brief = await reviewer(api, 4, time_zone="America/New_York")
    await hours(api, day, "09:00", "17:00")
    await hours(api, away, "09:00", "17:00")
    await hours(api, brief, "09:00", "09:30", ["mon"])
    await time_off(api, away, ny(0, 0), ny(1, 0))
    return {"day": day, "free": free, "away": away, "brief": brief}


async def test_on_leave_and_cannot_meet_due_exclude_and_due_at_follows_the_clock(
    api: Api, team: dict[str, dict[str, Any]]
) -> None:
    with time_machine.travel(ny(0, 10), tick=False):
        result = await time_match(api)
    assert datetime.fromisoformat(result["at"].replace("Z", "+00:00")) == ny(0, 10)
    due = datetime.fromisoformat(result["due_at"].replace("Z", "+00:00"))
    assert due == ny(0, 10) + timedelta(hours=72), "MA expedited: 72 hours (CMS-0057-F)"
    assert ids(result) == [team["day"]["id"], team["free"]["id"]]
    assert all(e["available_now"] and e.get("available_from") is None for e in result["eligible"])
    found = reasons(result)
    assert found[team["away"]["id"]] == ["on_leave"]
    assert found[team["brief"]["id"]] == ["cannot_meet_due"]
    # Without explain the same reasons are counted.
    with time_machine.travel(ny(0, 10), tick=False):
        counts = await time_match(api, explain=False)
    assert counts["ineligible"] == {"on_leave": 1, "cannot_meet_due": 1}


async def test_off_shift_ranks_after_those_available_now_unless_they_are_required(
    api: Api, team: dict[str, dict[str, Any]]
) -> None:
    saturday = ny(5, 12)
    with time_machine.travel(saturday, tick=False):
        result = await time_match(api)
        strict = await time_match(api, available_now=True)
    assert ids(result)[:2] == [team["free"]["id"], team["day"]["id"]], "available now ranks first"
    later = next(e for e in result["eligible"] if e["physician_id"] == team["day"]["id"])
    assert later["available_now"] is False
    assert datetime.fromisoformat(later["available_from"].replace("Z", "+00:00")) == ny(7, 9), "Monday 09:00"
    assert team["day"]["id"] not in ids(strict)
    off = next(r for r in strict["ineligible"] if r["physician_id"] == team["day"]["id"])
    assert off["reasons"] == ["off_shift"]
    assert datetime.fromisoformat(off["available_from"].replace("Z", "+00:00")) == ny(7, 9)


async def test_an_expedited_case_out_of_hours_ranks_on_call_first(api: Api) -> None:
    free = await reviewer(api, 1)
    on_call = await reviewer(api, 2, time_zone="America/New_York")
    layer = {
        "name": "nights",
        "priority": 1,
        "members": [on_call["id"]],
        "handoff_time": "07:00",
        "shift_hours": 24,
        "starts_on": (MONDAY - timedelta(days=7)).isoformat(),
    }
    await ok(
        await api.post("/api/v1/rotations", json={"name": "24x7", "time_zone": "America/New_York", "layers": [layer]}),
        201,
    )
    with time_machine.travel(ny(5, 3), tick=False):  # Saturday 03:00: out of hours
        expedited = await time_match(api)
        standard = await time_match(api, urgency="standard")
    assert ids(expedited) == [on_call["id"], free["id"]]
    assert ids(standard) == [free["id"], on_call["id"]], "a standard case keeps the usual order"


async def test_a_past_at_replays_schedules_as_they_stood(api: Api, team: dict[str, dict[str, Any]]) -> None:
    with time_machine.travel(ny(1, 10, 30), tick=False):  # Tuesday: PTO entered after the fact
        await time_off(api, team["day"], ny(1, 9), ny(1, 11))
    with time_machine.travel(ny(1, 10, 45), tick=False):
        live = await time_match(api, at=iso(ny(1, 10, 40)))
        replayed = await time_match(api, at=iso(ny(1, 10)))
    assert reasons(live)[team["day"]["id"]] == ["on_leave"]
    assert team["day"]["id"] in ids(replayed), "at 10:00 the PTO was not on file yet"


async def test_a_past_at_reads_every_candidates_schedule_at_once(
    api: Api, team: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from roster.schedules import repository, service

    calls: dict[str, int] = {}

    def counted(name: str) -> None:
        real = getattr(repository, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] = calls.get(name, 0) + 1
            return await real(*args, **kwargs)

        monkeypatch.setattr(repository, name, call)

    with time_machine.travel(ny(1, 10, 30), tick=False):
        await time_off(api, team["day"], ny(1, 9), ny(1, 11))
    with time_machine.travel(ny(1, 10, 45), tick=False):
        live = {pid: await service.schedule_of(pid) for pid in (UUID(p["id"]) for p in team.values())}
        for name in ("owned_versions_at", "versions_at", "time_zones", "physician"):
            counted(name)
        replayed = await time_match(api, at=iso(ny(1, 10, 40)))
        recorded = await service.schedules_as_recorded(list(live), ny(1, 10, 40))
    assert reasons(replayed)[team["day"]["id"]] == ["on_leave"]
    assert calls == {"owned_versions_at": 2, "versions_at": 4, "time_zones": 2}, "one read per kind, not per physician"
    assert recorded == live, "the history replays what the tables hold"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"at": "2027-03-08T10:00:00"}, "at"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"urgency": "urgent"}, "urgency"),
        ({"available_now": "sometimes"}, "available_now"),
    ],
)
async def test_bad_time_input_is_422_naming_the_field(api: Api, overrides: dict[str, Any], field: str) -> None:
    response = await api.post("/api/v1/match", json=case(**overrides), role="router")
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_schedule_writes_are_seen_by_the_next_match(api: Api) -> None:
    """The availability book moves with working hours, time off, rotations, overrides and holidays."""
    free = await reviewer(api, 1)
    day = await reviewer(api, 2, time_zone="America/New_York")
    night = await reviewer(api, 3, time_zone="America/New_York")
    with time_machine.travel(ny(0, 10), tick=False):
        assert ids(await time_match(api)) == [free["id"], day["id"], night["id"]]
        await hours(api, day, "09:00", "17:00")
        await hours(api, night, "20:00", "06:00")
        result = await time_match(api, urgency="standard")
        assert ids(result) == [free["id"], day["id"], night["id"]]
        assert [e["available_now"] for e in result["eligible"]] == [True, True, False]
        await time_off(api, day, ny(0, 9), ny(0, 12))
        assert reasons(await time_match(api))[day["id"]] == ["on_leave"]
    layer = {
        "name": "primary",
        "priority": 1,
        "members": [free["id"]],
        "handoff_time": "08:00",
        "shift_hours": 24,
        "starts_on": (MONDAY - timedelta(days=7)).isoformat(),
    }
    with time_machine.travel(ny(5, 3), tick=False):  # Saturday 03:00, out of hours
        rotation = await ok(
            await api.post(
                "/api/v1/rotations", json={"name": "cover", "time_zone": "America/New_York", "layers": [layer]}
            ),
            201,
        )
        # Saturday 03:00 is inside night's Friday shift (20:00-06:00) and free is on call.
        assert ids(await time_match(api))[0] == free["id"]
        override = {"physician_id": night["id"], "starts_at": iso(ny(5, 0)), "ends_at": iso(ny(5, 6))}
        await ok(await api.post(f"/api/v1/rotations/{rotation['id']}/overrides", json=override), 201)
        assert ids(await time_match(api))[0] == night["id"], "the override's physician is on call now"


async def assign(api: Api, physician: dict[str, Any], **overrides: Any) -> Any:
    body = case(
        **{
            "line_of_business": "medicare_advantage",
            "case_id": f"PA-{physician['npi']}",
            "physician_id": physician["id"],
            **overrides,
        }
    )
    return await api.post("/api/v1/assignments", json=body, role="router")


async def test_an_assignment_gets_its_due_at_and_is_refused_for_time_reasons(
    api: Api, team: dict[str, dict[str, Any]]
) -> None:
    with time_machine.travel(ny(0, 10), tick=False):
        created = await ok(await assign(api, team["day"], urgency="expedited"), 201)
        refused = await assign(api, team["away"], urgency="expedited")
        short = await assign(api, team["brief"], urgency="expedited")
        given = await ok(await assign(api, team["free"], due_at=iso(ny(2, 17))), 201)
    assert datetime.fromisoformat(created["due_at"].replace("Z", "+00:00")) == ny(0, 10) + timedelta(hours=72)
    assert created["evidence"]["availability"]["available_now"] is True
    assert refused.status_code == 409 and [e["message"] for e in refused.json()["errors"]] == ["on_leave"]
    assert short.status_code == 409 and [e["message"] for e in short.json()["errors"]] == ["cannot_meet_due"]
    assert datetime.fromisoformat(given["due_at"].replace("Z", "+00:00")) == ny(2, 17), "a given due_at is kept"
    with time_machine.travel(ny(5, 12), tick=False):  # Saturday: off shift, refused only when asked
        assert (await assign(api, team["day"], case_id="PA-2", urgency="expedited")).status_code == 201
        off = await assign(api, team["day"], case_id="PA-3", urgency="expedited", available_now=True)
    assert off.status_code == 409 and [e["message"] for e in off.json()["errors"]] == ["off_shift"]
