"""The ``roster`` command line, run in-process with click's runner against real databases."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from roster import clock
from roster.cli import main
from roster.compliance import service as compliance
from roster.compliance.facts import CompliancePolicy
from roster.config import Settings
from roster.db import close_engine, open_engine
from roster.keys.service import authenticate
from roster.physicians.tables import Physician
from tests.conftest import BACKENDS, TempDatabase


def run(settings: Settings, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"ROSTER_DATABASE_URL": settings.database_url})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.mark.parametrize("temp_database", BACKENDS, indirect=True)
def test_migrate_is_idempotent_and_keys_work(temp_database: TempDatabase) -> None:
    settings = temp_database.settings()
    assert "56 state rules" in run(settings, "migrate")
    assert "56 state rules" in run(settings, "migrate")
    key = run(settings, "keys", "create", "--name", "ops", "--role", "manager").strip().splitlines()[-1]
    assert key.startswith("rst_")

    async def who() -> object:
        engine = await open_engine(settings)
        try:
            return await authenticate(key)
        finally:
            await close_engine(engine)

    principal = asyncio.run(who())
    assert principal is not None and principal.name == "ops" and principal.role.value == "manager"


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_keys_create_rejects_an_unknown_role(temp_database: TempDatabase) -> None:
    settings = temp_database.settings()
    run(settings, "migrate")
    result = CliRunner().invoke(
        main,
        ["keys", "create", "--name", "x", "--role", "superuser"],
        env={"ROSTER_DATABASE_URL": settings.database_url},
    )
    assert result.exit_code == 2 and "superuser" in result.output


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_demo_loads_a_roster_where_every_rule_has_a_live_example(temp_database: TempDatabase) -> None:
    settings = temp_database.settings()
    output = run(settings, "demo")
    assert "220 physicians" in output
    assert "screened against oig_leie, sam, cms_preclusion: 12 matches, 12 new hits" in output
    keys = [
        line.split()[-1]
        for line in output.splitlines()
        if line.strip().startswith(("admin", "credentialing", "router", "manager", "auditor"))
    ]
    assert len(keys) == 5 and all(k.startswith("rst_") for k in keys)
    assert "0 physicians" in run(settings, "demo") and "220 already present" in run(settings, "demo")

    async def reasons() -> Counter[str]:
        engine = await open_engine(settings)
        try:
            seen: Counter[str] = Counter()
            policy = CompliancePolicy(required_sources=())
            for row in await Physician.select(Physician.id).run():
                report = await compliance.report(row["id"], clock.today(), policy)
                seen.update(set(report.reasons))
                seen["compliant"] += report.compliant
            return seen
        finally:
            await close_engine(engine)

    seen = asyncio.run(reasons())
    for reason in (
        "inactive",
        "license_expired",
        "license_restricted",
        "no_board_certification",
        "certification_lapsed",
        "recredentialing_overdue",
        "irr_overdue",
        "insufficient_experience",
    ):
        assert seen[reason] >= 1, f"no demo physician illustrates {reason}"
    assert seen["compliant"] >= 100, "most of the demo roster is compliant apart from screening"


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_screen_loads_a_list_file_and_runs(temp_database: TempDatabase, tmp_path: Path) -> None:
    settings = temp_database.settings()
    env = {"ROSTER_DATABASE_URL": settings.database_url, "ROSTER_DATA_DIR": str(settings.data_dir)}
    run(settings, "migrate")
    leie = settings.fixtures_dir / "lists" / "UPDATED.csv"
    first = CliRunner().invoke(main, ["screen", "--source", "oig_leie", "--file", str(leie)], env=env)
    assert first.exit_code == 0, first.output
    assert "oig_leie: loaded snapshot" in first.output and "screened 0 physicians" in first.output
    again = CliRunner().invoke(main, ["screen", "--source", "oig_leie", "--file", str(leie)], env=env)
    assert again.exit_code == 0 and "already loaded" in again.output

    broken = tmp_path / "UPDATED.csv"
    broken.write_bytes(leie.read_bytes().replace(b"WVRSTATE", b"WAIVERSTATE"))
    bad = CliRunner().invoke(main, ["screen", "--source", "oig_leie", "--file", str(broken)], env=env)
    assert bad.exit_code == 1 and "WAIVERSTATE" in bad.output
    both = CliRunner().invoke(main, ["screen", "--file", str(leie)], env=env)
    assert both.exit_code == 2, "a file needs exactly one --source"
