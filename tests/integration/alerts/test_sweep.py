"""The daily expiration sweep on a frozen clock: every kind at its threshold boundaries, run twice,
and (Postgres) from two processes at once, never duplicating an alert."""

from __future__ import annotations

import ast
import asyncio
import sys
import textwrap
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import time_machine

from roster.alerts.sweep import run_sweep
from roster.alerts.tables import Alert
from roster.compliance.dates import add_months
from roster.config import Settings
from tests import factories, suite_clock
from tests.conftest import Api

BASE = "/api/v1/physicians"
#: The day the roster is recorded; every due date below is relative to it.
RECORDED = date(2025, 1, 10)


def at(day: date) -> datetime:
    return datetime.combine(day, time(2, 15), tzinfo=UTC)


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


async def record(api: Api, n: int, **physician: Any) -> dict[str, Any]:
    """A physician recorded on RECORDED, whose own dates fall due only when a test says so."""
    physician.setdefault("credentialed_on", "2024-12-01")
    physician.setdefault("irr_passed_on", "2024-12-20")
    with time_machine.travel(at(RECORDED), tick=False):
        return await created(await api.post(BASE, json=factories.physician(n, **physician)))


async def add_license(api: Api, doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    fields.setdefault("verified_on", RECORDED.isoformat())
    with time_machine.travel(at(RECORDED), tick=False):
        return await created(await api.post(f"{BASE}/{doc['id']}/licenses", json=factories.license(**fields)))


async def sweep_on(day: date, settings: Settings) -> dict[str, int]:
    with time_machine.travel(at(day), tick=False):
        async with httpx.AsyncClient() as http:
            return await run_sweep(settings, http)


async def alerts() -> list[tuple[str, str, str]]:
    rows = await Alert.select(Alert.kind, Alert.subject_id, Alert.threshold).order_by(Alert.created_at).run()
    return [(row["kind"], row["subject_id"], row["threshold"].split("@")[0]) for row in rows]


async def walk(days: list[tuple[date, list[str]]], settings: Settings, subject: str) -> None:
    """Sweep on each day; the alerts about ``subject`` must then be exactly the listed thresholds so far."""
    for day, expected in days:
        await sweep_on(day, settings)
        got = [threshold for _, subject_id, threshold in await alerts() if subject_id == subject]
        assert got == expected, f"on {day}: {got} != {expected}"


async def test_license_expiring_at_90_60_30_7_days_then_expired(api: Api, settings: Settings) -> None:
    doc = await record(api, 1)
    expires = date(2025, 9, 30)
    lic = await add_license(api, doc, expires_on=expires.isoformat())

    def before(days: int) -> date:
        return expires - timedelta(days=days)

    await walk(
        [
            (before(days=91), []),
            (before(days=90), ["90d"]),
            (before(days=89), ["90d"]),
            (before(days=61), ["90d"]),
            (before(days=60), ["90d", "60d"]),
            (before(days=30), ["90d", "60d", "30d"]),
            (before(days=8), ["90d", "60d", "30d"]),
            (before(days=7), ["90d", "60d", "30d", "7d"]),
            (expires, ["90d", "60d", "30d", "7d"]),
            (expires + timedelta(days=1), ["90d", "60d", "30d", "7d", "expired"]),
            (expires + timedelta(days=40), ["90d", "60d", "30d", "7d", "expired"]),
        ],
        settings,
        lic["id"],
    )
    kinds = {kind for kind, subject, _ in await alerts() if subject == lic["id"]}
    assert kinds == {"license_expiring", "license_expired"}
    [row] = await Alert.select().where(Alert.threshold.like("expired@%")).run()
    assert row["physician"] == doc["id"] or str(row["physician"]) == doc["id"]
    assert row["due_on"] == expires and row["subject_type"] == "license" and row["status"] == "open"


async def test_certification_expiring_then_lapsed(api: Api, settings: Settings) -> None:
    doc = await record(api, 2)
    expires = date(2025, 12, 31)
    with time_machine.travel(at(RECORDED), tick=False):
        cert = await created(
            await api.post(
                f"{BASE}/{doc['id']}/certifications", json=factories.certification(expires_on=expires.isoformat())
            )
        )
    await walk(
        [
            (expires - timedelta(days=91), []),
            (expires - timedelta(days=90), ["90d"]),
            (expires - timedelta(days=60), ["90d", "60d"]),
            (expires - timedelta(days=31), ["90d", "60d"]),
            (expires - timedelta(days=30), ["90d", "60d", "30d"]),
            (expires - timedelta(days=7), ["90d", "60d", "30d", "7d"]),
            (expires, ["90d", "60d", "30d", "7d"]),
            (expires + timedelta(days=1), ["90d", "60d", "30d", "7d", "expired"]),
        ],
        settings,
        cert["id"],
    )


async def test_moc_not_meeting_raises_a_lapse_once(api: Api, settings: Settings) -> None:
    doc = await record(api, 3)
    with time_machine.travel(at(RECORDED), tick=False):
        cert = await created(
            await api.post(f"{BASE}/{doc['id']}/certifications", json=factories.certification(moc_status="not_meeting"))
        )
    await walk([(RECORDED, ["not_meeting"]), (RECORDED + timedelta(days=1), ["not_meeting"])], settings, cert["id"])
    assert [kind for kind, subject, _ in await alerts() if subject == cert["id"]] == ["certification_lapsed"]


async def test_recredentialing_due_at_90_and_30_days_then_overdue(api: Api, settings: Settings) -> None:
    credentialed = date(2024, 6, 1)
    doc = await record(api, 4, credentialed_on=credentialed.isoformat(), irr_passed_on=None)
    due = add_months(credentialed, 36)
    await walk(
        [
            (due - timedelta(days=91), []),
            (due - timedelta(days=90), ["90d"]),
            (due - timedelta(days=31), ["90d"]),
            (due - timedelta(days=30), ["90d", "30d"]),
            (due - timedelta(days=1), ["90d", "30d"]),
            (due, ["90d", "30d", "overdue"]),
            (due + timedelta(days=100), ["90d", "30d", "overdue"]),
        ],
        settings,
        doc["id"],
    )
    assert {kind for kind, subject, _ in await alerts() if subject == doc["id"]} == {"recredentialing_due"}


async def test_irr_due_at_30_days_then_overdue(api: Api, settings: Settings) -> None:
    passed = date(2024, 12, 1)
    doc = await record(api, 5, irr_passed_on=passed.isoformat(), credentialed_on=None)
    last_day = passed + timedelta(days=365)
    await walk(
        [
            (last_day - timedelta(days=31), []),
            (last_day - timedelta(days=30), ["30d"]),
            (last_day, ["30d"]),
            (last_day + timedelta(days=1), ["30d", "overdue"]),
        ],
        settings,
        doc["id"],
    )


async def test_inactive_physicians_are_not_swept(api: Api, settings: Settings) -> None:
    doc = await record(api, 6, irr_passed_on="2024-01-02")
    await add_license(api, doc, expires_on="2025-02-01")
    with time_machine.travel(at(RECORDED), tick=False):
        deactivated = await api.delete(f"{BASE}/{doc['id']}")
        assert deactivated.status_code == 200 and deactivated.json()["status"] == "inactive"
    counts = await sweep_on(date(2025, 3, 1), settings)
    assert await alerts() == []
    assert counts["due"] == 0 and counts["raised"] == 0


async def roster_with_one_of_each(api: Api) -> None:
    """One physician with every kind of alert due on 2025-06-01."""
    doc = await record(api, 7, credentialed_on="2022-07-15", irr_passed_on="2024-06-20")
    for number, expires in (("A1", "2025-06-20"), ("A2", "2025-05-01")):
        await add_license(api, doc, number=number, expires_on=expires)
    with time_machine.travel(at(RECORDED), tick=False):
        await created(
            await api.post(f"{BASE}/{doc['id']}/certifications", json=factories.certification(expires_on="2025-08-01"))
        )


SWEEP_DAY = date(2025, 6, 1)
EXPECTED_KINDS = ["certification_expiring", "irr_due", "license_expired", "license_expiring", "recredentialing_due"]


async def test_sweeping_twice_raises_nothing_new(api: Api, settings: Settings) -> None:
    await roster_with_one_of_each(api)
    first = await sweep_on(SWEEP_DAY, settings)
    after_first = sorted(await alerts())
    assert sorted(kind for kind, _, _ in after_first) == EXPECTED_KINDS
    assert first["raised"] == first["due"] == 5
    second = await sweep_on(SWEEP_DAY, settings)
    assert second["due"] == 5 and second["raised"] == 0
    assert sorted(await alerts()) == after_first


SWEEPER = textwrap.dedent(
    """
    import asyncio, sys, time
    from dataclasses import replace
    from datetime import date

    import time_machine

    from tests import suite_clock

    suite_clock.follow()

    from roster.alerts.sweep import sweep
    from roster.config import Settings
    from roster.db import close_engine, open_engine

    async def main() -> None:
        settings = replace(Settings(), database_url=sys.argv[1])
        engine = await open_engine(settings)
        try:
            while time.time() < float(sys.argv[2]):  # start together
                await asyncio.sleep(0.005)
            with time_machine.travel(date.fromisoformat(sys.argv[3]), tick=False):
                print(await sweep(date.fromisoformat(sys.argv[3])))
        finally:
            await close_engine(engine)

    asyncio.run(main())
    """
)


async def run_sweepers(url: str, day: date, copies: int) -> list[str]:
    start = str(datetime.now(UTC).timestamp() + 3)  # the suite's clock, which the sweepers follow
    env = suite_clock.environ()
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SWEEPER,
            url,
            start,
            day.isoformat(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        for _ in range(copies)
    ]
    outputs = []
    for proc in procs:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, err.decode()
        outputs.append(out.decode())
    return outputs


async def test_two_processes_sweeping_at_once_raise_each_alert_once(api: Api, settings: Settings) -> None:
    """Two workers whose lock failed (or two sweeps by hand): the unique key alone keeps alerts single."""
    await roster_with_one_of_each(api)
    for n in range(1, 20):
        await record(api, 100 + n, credentialed_on="2022-07-01", irr_passed_on="2024-06-10")
    outputs = await run_sweepers(settings.database_url, SWEEP_DAY, copies=2)
    rows = await alerts()
    assert len(rows) == len(set(rows)) == 5 + 19 * 2
    raised = [ast.literal_eval(out.strip().splitlines()[-1])["raised"] for out in outputs]
    assert sum(raised) == len(rows), outputs


def test_backfill_ids_are_version_7_uuids_in_increasing_order() -> None:
    from roster.alerts.sweep import time_ordered_ids

    moment = datetime(2026, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        ids = time_ordered_ids(3000)
    assert ids == sorted(ids) and len(set(ids)) == 3000
    assert {i.version for i in ids} == {7} and {i.variant for i in ids} == {"specified in RFC 4122"}
    assert ids[0].int >> 80 == int(moment.timestamp() * 1000), "the first 48 bits are the Unix time in ms"
    assert time_ordered_ids(0) == []
