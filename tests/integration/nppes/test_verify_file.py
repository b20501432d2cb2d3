"""Monthly NPPES verification from the dissemination file (``verify_file`` and ``roster nppes verify``).

The demo roster is checked against ``fixtures/nppes/npidata_pfile_20050523-20261108.csv``, whose
planted cases are listed in ``fixtures/nppes/README.md``; broken files must leave every physician
and table as it was.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner

from roster import clock
from roster.alerts.tables import Alert
from roster.cli import main
from roster.config import Settings
from roster.db import close_engine, open_engine
from roster.demo.service import load_demo
from roster.errors import InvalidInput
from roster.nppes import service
from roster.nppes.tables import NpiVerification
from roster.physicians import service as physicians
from roster.physicians.schemas import PhysicianCreate
from roster.physicians.tables import Physician
from roster.sources.nppes import NPPES_HEADER
from tests import factories
from tests.conftest import Api, TempDatabase

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
SAMPLE = FIXTURES / "nppes" / "npidata_pfile_20050523-20261108.csv"
DEACTIVATED, REACTIVATED, ABSENT = "1019421514", "1041685821", "1057961603"


def quoted(values: list[str] | tuple[str, ...]) -> str:
    return ",".join(f'"{value}"' for value in values)


def nppes_file(path: Path, records: dict[str, str], *, header: tuple[str, ...] = NPPES_HEADER) -> Path:
    """A dissemination file with one record per NPI: ``{npi: deactivation date or ""}``."""
    lines = [quoted(header)]
    for npi, deactivated_on in records.items():
        row = dict.fromkeys(NPPES_HEADER, "")
        row.update({"NPI": npi, "NPI Deactivation Date": deactivated_on})
        if not deactivated_on:
            row.update({"Entity Type Code": "1", "Provider Last Name (Legal Name)": "REVIEWER"})
        lines.append(quoted([row[name] for name in NPPES_HEADER]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def statuses() -> dict[str, str]:
    return {row["npi"]: row["npi_status"] for row in await Physician.select(Physician.npi, Physician.npi_status)}


async def npi_alerts() -> set[str]:
    rows = await Alert.select(Alert.physician.npi.as_alias("npi")).where(Alert.kind == "npi_deactivated")
    return {row["npi"] for row in rows}


async def test_the_demo_roster_against_the_sample_file(api: Api, settings: Settings) -> None:
    loaded = await load_demo(FIXTURES / "demo", clock.today())
    said: list[str] = []
    counts = await service.verify_file(settings, SAMPLE, progress=said.append)
    assert counts == {
        "physicians": loaded.physicians,
        "checked": loaded.physicians,
        "verified": loaded.physicians - 2,
        "deactivated": 1,
        "not_found": 1,
        "error": 0,
        "changed": loaded.physicians,
        "skipped": 0,
    }
    assert said[0].startswith(f"scanning {SAMPLE.name}") and f"{loaded.physicians - 1} of" in said[1]
    now = await statuses()
    assert now[DEACTIVATED] == now[ABSENT] == "deactivated"
    assert now[REACTIVATED] == "active"
    assert {npi for npi, status in now.items() if status != "active"} == {DEACTIVATED, ABSENT}
    assert await npi_alerts() == {DEACTIVATED, ABSENT}

    rows = await NpiVerification.select().where(NpiVerification.npi == DEACTIVATED).output(load_json=True)
    [row] = rows
    assert (row["method"], row["outcome"], row["npi_status"]) == ("file", "deactivated", "deactivated")
    assert row["details"]["deactivated_on"] == "2026-09-14"

    physician = (await api.get(f"/api/v1/physicians/npi/{DEACTIVATED}")).json()
    report = (await api.get(f"/api/v1/physicians/{physician['id']}/compliance")).json()
    npi_check = next(c for c in report["checks"] if c["check"] == "npi_active")
    assert npi_check["ok"] is False and "npi_deactivated" in report["reasons"]


async def test_a_weekly_increment_leaves_absent_npis_alone(api: Api, settings: Settings, tmp_path: Path) -> None:
    people = []
    for n in (1, 2, 3):
        response = await api.post("/api/v1/physicians", json=factories.physician(n))
        people.append(response.json()["npi"])
    increment = nppes_file(tmp_path / "npidata_pfile_20261102-20261108.csv", {people[0]: "11/01/2026"})
    counts = await service.verify_file(settings, increment, full=False)
    assert (counts["deactivated"], counts["checked"], counts["not_found"]) == (1, 1, 0)
    assert await statuses() == {people[0]: "deactivated", people[1]: "unknown", people[2]: "unknown"}


def _cut(path: Path) -> Path:
    data = SAMPLE.read_bytes()
    path.write_bytes(data[: data.rfind(b'","', 0, len(data) // 2) + 1])
    return path


def _v1(path: Path) -> Path:
    header = tuple("Provider Gender Code" if n == "Provider Sex Code" else n for n in NPPES_HEADER)
    return nppes_file(path, {}, header=header[:-1])


def _weekly_as_full(path: Path) -> Path:
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        first = next(csv.DictReader(f))["NPI"]
    return nppes_file(path, {first: ""})


@pytest.mark.parametrize(
    ("broken", "message"),
    [(_cut, "truncated file"), (_v1, "V1 NPPES file"), (_weekly_as_full, "not a full monthly NPPES file")],
    ids=["truncated", "v1-header", "increment-read-as-full"],
)
async def test_a_bad_file_changes_nothing(
    api: Api, settings: Settings, tmp_path: Path, broken: Any, message: str
) -> None:
    await load_demo(FIXTURES / "demo", clock.today())
    await service.verify_file(settings, SAMPLE)
    before = await statuses()
    verifications = await NpiVerification.count()
    with pytest.raises(InvalidInput) as raised:
        await service.verify_file(settings, broken(tmp_path / "npidata_pfile.csv"))
    assert [e.field for e in raised.value.errors] == ["file"] and message in raised.value.detail
    assert await statuses() == before
    assert await NpiVerification.count() == verifications


# -- the command line ------------------------------------------------------------------------------


def _with_engine(settings: Settings, work: Any) -> Any:
    async def run() -> Any:
        engine = await open_engine(settings, pool=False)
        try:
            return await work()
        finally:
            await close_engine(engine)

    return asyncio.run(run())


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_cli_verify(temp_database: TempDatabase, tmp_path: Path) -> None:
    settings = temp_database.settings()
    env = {"ROSTER_DATABASE_URL": settings.database_url}
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"], env=env).exit_code == 0
    npis = [factories.npi(n) for n in (1, 2, 3)]

    async def create() -> None:
        for n in (1, 2, 3):
            await physicians.create(msgspec.convert(factories.physician(n), PhysicianCreate, strict=False), actor="t")

    _with_engine(settings, create)
    monthly = nppes_file(tmp_path / "npidata_pfile.csv", {npis[0]: "", npis[1]: "10/01/2026", npis[2]: ""})
    result = runner.invoke(main, ["nppes", "verify", "--file", str(monthly)], env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "scanning npidata_pfile.csv" in result.output
    assert "checked 3 of 3 physicians: 2 active, 1 deactivated, 0 not in the file, 0 unreadable" in result.output

    bad = _v1(tmp_path / "v1.csv")
    result = runner.invoke(main, ["nppes", "verify", "--file", str(bad)], env=env)
    assert result.exit_code == 1 and "V1 NPPES file" in result.output
    missing = runner.invoke(main, ["nppes", "verify", "--file", str(tmp_path / "nope.csv")], env=env)
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert _with_engine(settings, statuses) == {npis[0]: "active", npis[1]: "deactivated", npis[2]: "active"}
