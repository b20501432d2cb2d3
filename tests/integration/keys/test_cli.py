"""``roster keys create | list | revoke`` against a real database, in-process with click's runner."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from click.testing import CliRunner, Result

from roster import clock
from roster.cli import main
from roster.config import Settings
from roster.db import close_engine, open_engine
from roster.keys.schemas import Principal
from roster.keys.service import authenticate, hash_key
from tests.conftest import BACKENDS, TempDatabase


def invoke(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"ROSTER_DATABASE_URL": settings.database_url})


def run(settings: Settings, *args: str) -> str:
    result = invoke(settings, *args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def who(settings: Settings, key: str) -> Principal | None:
    async def work() -> Principal | None:
        engine = await open_engine(settings, pool=False)
        try:
            return await authenticate(key)
        finally:
            await close_engine(engine)

    return asyncio.run(work())


@pytest.mark.parametrize("temp_database", BACKENDS, indirect=True)
def test_create_list_revoke(temp_database: TempDatabase) -> None:
    settings = temp_database.settings()
    run(settings, "migrate")
    last_day = clock.today() + timedelta(days=90)
    output = run(settings, "keys", "create", "--name", "etl", "--role", "credentialing", "--expires-on", str(last_day))
    assert f"valid through {last_day.isoformat()} UTC" in output
    key = output.strip().splitlines()[-1]
    assert key.startswith("rst_")
    principal = who(settings, key)
    assert principal is not None and principal.name == "etl"

    listing = run(settings, "keys", "list")
    assert key not in listing and hash_key(key) not in listing and key[:12] not in listing
    [row] = [line.split("\t") for line in listing.splitlines()[1:]]
    assert row[0] == str(principal.key_id) and row[1:3] == ["etl", "credentialing"]
    assert row[4] == last_day.isoformat() and row[6] == "-"

    revoked = run(settings, "keys", "revoke", row[0])
    assert f"revoked credentialing key 'etl' ({principal.key_id}) at " in revoked
    assert who(settings, key) is None
    assert run(settings, "keys", "revoke", row[0]) == revoked, "idempotent: the first revocation's time stands"
    assert run(settings, "keys", "list", "--live").splitlines()[1:] == []
    assert run(settings, "keys", "list", "--name", "etl").splitlines()[1].split("\t")[6] != "-"


@pytest.mark.parametrize("temp_database", ["sqlite"], indirect=True)
def test_bad_input_exits_non_zero_with_the_reason(temp_database: TempDatabase) -> None:
    settings = temp_database.settings()
    run(settings, "migrate")
    yesterday = str(clock.today() - timedelta(days=1))
    past = invoke(settings, "keys", "create", "--name", "x", "--role", "router", "--expires-on", yesterday)
    assert past.exit_code == 1 and "expires_on" in past.output and "past" in past.output
    bad_date = invoke(settings, "keys", "create", "--name", "x", "--role", "router", "--expires-on", "2026-02-30")
    assert bad_date.exit_code == 2 and "--expires-on" in bad_date.output
    unknown = invoke(settings, "keys", "revoke", "00000000-0000-4000-8000-000000000000")
    assert unknown.exit_code == 1 and "no API key" in unknown.output
    assert invoke(settings, "keys", "revoke", "not-an-id").exit_code == 2
    assert run(settings, "keys", "list").splitlines()[1:] == []
