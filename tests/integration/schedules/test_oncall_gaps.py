"""GET /api/v1/reports/oncall-gaps: who is missing from the 24x7 rotation over the next days."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import time_machine

from tests.conftest import Api
from tests.integration.schedules.helpers import (
    API,
    PHYSICIANS,
    create_rotation,
    layer,
    ok,
    physician,
    problem,
    rotation,
)

REPORT = f"{API}/reports/oncall-gaps"
NOW = datetime(2027, 1, 4, 6, tzinfo=UTC)  # Phoenix 2027-01-03 23:00


def phoenix(day: int, hour: int) -> str:
    return (datetime(2027, 1, day, hour, tzinfo=UTC) + timedelta(hours=7)).isoformat().replace("+00:00", "Z")


async def test_gaps_before_the_first_shift_and_while_the_reviewer_on_call_is_away(api: Api) -> None:
    with time_machine.travel(NOW, tick=False):
        a = await physician(api, 1)
        b = await physician(api, 2)
        body = rotation(
            [a["id"], b["id"]],
            time_zone="America/Phoenix",
            layers=[layer([a["id"], b["id"]], handoff_time="08:00", shift_hours=12, starts_on="2027-01-04")],
        )
        made = await create_rotation(api, body)
        pto = {"starts_at": phoenix(4, 22), "ends_at": phoenix(5, 2), "reason": "pto"}
        await ok(await api.post(f"{PHYSICIANS}/{b['id']}/time-off", json=pto), 201)
        report = await ok(await api.get(REPORT, params={"days": 2, "rotation": made["id"]}, role="manager"))
        table = await api.get(REPORT, params={"days": 2}, headers={"Accept": "text/csv"})
    assert report["from"].startswith("2027-01-04T06:00:00") and report["days"] == 2
    gaps = [
        (g["reason"], g["starts_at"][:16], g["ends_at"][:16], g["hours"], g["physician_id"]) for g in report["gaps"]
    ]
    assert gaps == [
        ("nobody", "2027-01-04T06:00", "2027-01-04T15:00", 9.0, None),  # the layer starts at 08:00 Phoenix
        ("on_leave", "2027-01-05T05:00", "2027-01-05T09:00", 4.0, b["id"]),
    ]
    assert report["gaps"][1]["name"] and report["gaps"][0]["rotation"] == "Pre-cert 24x7"
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [(r["reason"], r["hours"]) for r in rows] == [("nobody", "9.0"), ("on_leave", "4.0")]
    # An override closes the gap.
    with time_machine.travel(NOW, tick=False):
        cover = {"physician_id": a["id"], "starts_at": pto["starts_at"], "ends_at": pto["ends_at"]}
        await ok(await api.post(f"{API}/rotations/{made['id']}/overrides", json=cover), 201)
        after = await ok(await api.get(REPORT, params={"days": 2}))
    assert [g["reason"] for g in after["gaps"]] == ["nobody"]


async def test_bad_input_and_roles(api: Api) -> None:
    problem(await api.get(REPORT, params={"days": 0}), 422)
    problem(await api.get(REPORT, params={"days": 400}), 422)
    problem(await api.get(REPORT, params={"rotation": "not-a-uuid"}), 422)
    problem(await api.get(REPORT, params={"rotation": "00000000-0000-4000-8000-000000000000"}), 404)
    problem(await api.get(REPORT, role="router"), 403)
