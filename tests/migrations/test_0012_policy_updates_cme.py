"""0012 adds the policy-update, attestation and CME tables on each backend, and its downgrade removes them."""

from __future__ import annotations

import asyncio

import pytest

from roster.credentialing.tables import CmeCredit, PolicyAttestation, PolicyUpdate
from roster.db import close_engine, open_engine
from roster.db.migrate import check, downgrade, upgrade
from tests.conftest import BACKENDS, TempDatabase

pytestmark = pytest.mark.parametrize("temp_database", BACKENDS, indirect=True)
TABLES = (PolicyUpdate, PolicyAttestation, CmeCredit)


def present(database: TempDatabase) -> list[bool]:
    async def probe() -> list[bool]:
        engine = await open_engine(database.settings(), pool=False)
        try:
            return [await table.table_exists().run() for table in TABLES]
        finally:
            await close_engine(engine)

    return asyncio.run(probe())


def test_0012_upgrade_and_downgrade(temp_database: TempDatabase) -> None:
    settings = temp_database.settings()
    upgrade(settings, "0011")
    assert present(temp_database) == [False] * len(TABLES)
    upgrade(settings, "0012")
    assert present(temp_database) == [True] * len(TABLES)
    downgrade(settings, "0011")
    assert present(temp_database) == [False] * len(TABLES)
    upgrade(settings)
    check(settings)
