"""``roster_schedules``: everyone's schedule in three queries gives each reviewer the availability their own
``schedule_of`` gives (what the matcher's availability book is built from)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import time_machine

from roster.availability.book import build_book, instant, kinds, positions_in, with_unscheduled
from roster.availability.rules import availability
from roster.schedules.service import roster_schedules, schedule_of
from tests.conftest import Api
from tests.integration.schedules.helpers import PHYSICIANS, ROTATIONS, create_rotation, layer, ok, physician, rotation
from tests.unit.availability.test_book import of_kinds

NOW = datetime(2027, 3, 8, 15, tzinfo=UTC)
MIN_REVIEW = timedelta(hours=1)


async def test_roster_schedules_agree_with_each_physicians_schedule(api: Api) -> None:
    with time_machine.travel(NOW, tick=False):
        day = await physician(api, 1, time_zone="America/New_York")
        night = await physician(api, 2, time_zone="America/Phoenix")
        away = await physician(api, 3)
        free = await physician(api, 4)
        await ok(
            await api.post(
                f"{PHYSICIANS}/{day['id']}/working-hours",
                json={"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"},
            ),
            201,
        )
        await ok(
            await api.post(
                f"{PHYSICIANS}/{night['id']}/working-hours",
                json={"weekdays": ["sat", "sun"], "start": "20:00", "end": "06:00"},
            ),
            201,
        )
        await ok(
            await api.post(
                f"{PHYSICIANS}/{away['id']}/time-off",
                json={"starts_at": "2027-03-09T00:00:00Z", "ends_at": "2027-03-12T00:00:00Z", "reason": "pto"},
            ),
            201,
        )
        made = await create_rotation(
            api, rotation([day["id"], night["id"]], layers=[layer([day["id"], night["id"]], starts_on="2027-03-01")])
        )
        await ok(
            await api.post(
                f"{ROTATIONS}/{made['id']}/overrides",
                json={
                    "physician_id": away["id"],
                    "starts_at": "2027-03-13T00:00:00Z",
                    "ends_at": "2027-03-14T00:00:00Z",
                },
            ),
            201,
        )
        start, end = NOW - timedelta(days=1), NOW + timedelta(days=40)
        schedules = await roster_schedules(start, end)
        ids = [UUID(p["id"]) for p in (day, night, away, free)]
        assert {s.physician_id for s in schedules} == set(ids[:3]), "the unscheduled physician is left out"
        book = build_book(schedules, frozenset(), start, end)
        rows = {pid: row for row, pid in enumerate(ids)}
        kind, _ = kinds(book, positions_in(book, rows), len(ids))
        singles = {pid: await schedule_of(pid) for pid in ids}
        for hours in range(0, 24 * 9, 5):
            at = NOW + timedelta(hours=hours)
            due = at + timedelta(hours=72)
            answers = of_kinds(with_unscheduled(book.query_groups(at, due, MIN_REVIEW), at, due, MIN_REVIEW), kind)
            for pid, row in rows.items():
                expected = availability(singles[pid], at, due, MIN_REVIEW)
                got_from = None if answers.available_from[row] < 0 else instant(answers.available_from[row])
                assert (bool(answers.available_now[row]), bool(answers.on_leave[row]), got_from) == (
                    expected.available_now,
                    expected.on_leave,
                    expected.available_from,
                ), (pid, at)
        only = await roster_schedules(start, end, [ids[2]])
        assert [s.physician_id for s in only] == [ids[2]] and only[0].in_rotation
