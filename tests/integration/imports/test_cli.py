"""``roster import FILE [--dry-run]``: loads all or nothing, prints per-row errors, exits non-zero on errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from roster.cli import main
from roster.config import PROJECT_ROOT
from roster.db import close_engine, open_engine
from roster.physicians.tables import Physician
from tests.conftest import BACKENDS, TempDatabase
from tests.integration.imports import roster_files as files

TEMPLATES = PROJECT_ROOT / "fixtures" / "templates"


def invoke(database: TempDatabase, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"ROSTER_DATABASE_URL": database.url})
    return result.exit_code, result.output


def physician_count(database: TempDatabase) -> int:
    async def count() -> int:
        engine = await open_engine(database.settings(), pool=False)
        try:
            return await Physician.count().run()
        finally:
            await close_engine(engine)

    return asyncio.run(count())


@pytest.mark.parametrize("temp_database", BACKENDS, indirect=True)
def test_import_templates_then_reimport(temp_database: TempDatabase) -> None:
    assert invoke(temp_database, "migrate")[0] == 0
    code, output = invoke(temp_database, "import", str(TEMPLATES / "roster_template.xlsx"))
    assert code == 0, output
    assert "physicians: 3 new, 0 updated, 0 unchanged" in output
    assert "imported: 3 physicians, 4 licenses, 3 certifications from roster_template.xlsx" in output
    code, output = invoke(temp_database, "import", str(TEMPLATES / "roster_template.csv"))
    assert code == 0, output
    assert "licenses: 0 new, 0 updated, 4 unchanged" in output
    assert physician_count(temp_database) == 3


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_dry_run_writes_nothing(temp_database: TempDatabase, tmp_path: Path) -> None:
    invoke(temp_database, "migrate")
    roster = tmp_path / "roster.csv"
    roster.write_bytes(files.csv_bytes(files.roster_rows(5)))
    code, output = invoke(temp_database, "import", str(roster), "--dry-run")
    assert code == 0, output
    assert "physicians: 5 new" in output and "checked (dry run, nothing written)" in output
    assert physician_count(temp_database) == 0


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_errors_are_printed_per_row_and_nothing_is_loaded(temp_database: TempDatabase, tmp_path: Path) -> None:
    invoke(temp_database, "migrate")
    rows = files.roster_rows(3)
    rows[3]["date_of_birth"] = "1970-13-01"
    rows[5]["board"] = "ABR"
    roster = tmp_path / "roster.csv"
    roster.write_bytes(files.csv_bytes(rows))
    code, output = invoke(temp_database, "import", str(roster))
    assert code == 1
    lines = output.strip().splitlines()
    assert lines[-3:] == [
        "row 5: date_of_birth: '1970-13-01' is not a date; use YYYY-MM-DD, MM/DD/YYYY (or M/D/YYYY) or YYYYMMDD",
        "row 7: board: ABR does not certify medical_oncology; boards: ABIM, AOBIM",
        "nothing was imported: 2 error(s) in roster.csv",
    ]
    assert physician_count(temp_database) == 0


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_a_missing_file_is_a_usage_error(temp_database: TempDatabase, tmp_path: Path) -> None:
    code, output = invoke(temp_database, "import", str(tmp_path / "nope.csv"))
    assert code == 2 and "does not exist" in output
