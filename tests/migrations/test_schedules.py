"""Revision 0010 (schedules): physicians' time zones backfilled, holidays loaded, and undone by the downgrade."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from roster.db import close_engine, open_engine
from roster.db.migrate import downgrade, upgrade
from tests.conftest import BACKENDS, TempDatabase

pytestmark = pytest.mark.parametrize("temp_database", BACKENDS, indirect=True)

PHYSICIAN_ID = uuid.uuid4()
INSERT_PHYSICIAN = (
    "INSERT INTO physician (id, npi, first_name, last_name, former_last_names, date_of_birth, degree, languages, "
    "lines_of_business, specialties, clinical_practice_start, max_open_cases, status, npi_status, created_at, "
    "updated_at) VALUES ({}, '1000000012', 'Ada', 'Lovelace', {}, {}, 'MD', {}, {}, {}, {}, 20, 'active', "
    "'unknown', {}, {})"
)
INSERT_VERSION = (
    "INSERT INTO record_version (id, entity, entity_id, physician_id, recorded_from, deleted, data, roster_version) "
    "VALUES ({}, 'physician', {}, {}, {}, false, {}, 0)"
)


async def _run(settings: Any, *queries: tuple[str, tuple[Any, ...]]) -> list[list[dict[str, Any]]]:
    from roster.physicians.tables import Physician

    engine = await open_engine(settings, pool=False)
    try:
        return [await Physician.raw(sql, *args).run() for sql, args in queries]
    finally:
        await close_engine(engine)


def test_upgrade_backfills_time_zones_and_loads_holidays(
    temp_database: TempDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = temp_database.settings()
    upgrade(settings, "0009")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    document = json.dumps({"id": str(PHYSICIAN_ID), "first_name": "Ada"})
    asyncio.run(
        _run(
            settings,
            (INSERT_PHYSICIAN, (PHYSICIAN_ID, [], date(1970, 1, 1), ["en"], [], [], date(2000, 1, 1), now, now)),
            (INSERT_VERSION, (uuid.uuid4(), PHYSICIAN_ID, PHYSICIAN_ID, now, document)),
        )
    )
    monkeypatch.setenv("ROSTER_DEFAULT_TIME_ZONE", "America/Chicago")
    upgrade(settings)
    zones, versions, holidays = asyncio.run(
        _run(
            settings,
            ("SELECT time_zone FROM physician", ()),
            ("SELECT data FROM record_version WHERE entity = 'physician'", ()),
            ("SELECT day, name FROM holiday ORDER BY day", ()),
        )
    )
    assert zones == [{"time_zone": "America/Chicago"}]
    data = versions[0]["data"]
    assert '"time_zone"' in data and "America/Chicago" in data and "Ada" in data
    days = [str(h["day"]) for h in holidays]
    assert len(days) == 23 and days[0] == "2026-01-01" and days[-1] == "2027-12-31"
    assert {"2026-07-03", "2026-11-26", "2027-06-18", "2027-07-05", "2027-12-24"} <= set(days), "observed dates"
    assert "2026-07-04" not in days and "2027-07-04" not in days

    downgrade(settings, "0009")
    [versions] = asyncio.run(_run(settings, ("SELECT data FROM record_version WHERE entity = 'physician'", ())))
    assert "time_zone" not in versions[0]["data"] and "Ada" in versions[0]["data"]
    upgrade(settings)
