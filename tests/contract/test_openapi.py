"""Schemathesis over the whole OpenAPI schema: no server errors, no undocumented statuses or shapes."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import settings as hypothesis_settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from roster.app import create_app
from roster.cli import migrate_database
from roster.config import Settings
from roster.db import close_engine, open_engine
from roster.keys.service import create_key

# Schemathesis reads the schema at collection time, so the app (not its database) exists now;
# the database behind it is migrated by the fixture below, before the first case runs.
_DIR = Path(tempfile.mkdtemp(prefix="roster-contract-"))
# No index keeper: it runs in the app's lifespan, which these ASGI calls never start, so /ready would
# answer "warming" (503) for good; its warming answer has its own tests (tests/integration/test_readiness.py).
SETTINGS = replace(
    Settings(),
    database_url=f"sqlite:///{_DIR / 'contract.db'}",
    api_key_cache_seconds=0,
    data_dir=_DIR / "data",
    warm_index=False,
    index_poll_seconds=0,
)
# List downloads never leave the machine: every URL answers 404.
NO_NETWORK = httpx.MockTransport(lambda request: httpx.Response(404))
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(SETTINGS, http_transport=NO_NETWORK))


@pytest.fixture(scope="module")
def admin_key() -> Iterator[str]:
    migrate_database(SETTINGS)

    async def make() -> str:
        engine = await open_engine(SETTINGS, pool=False)
        try:
            return (await create_key(name="schemathesis", role="admin", actor="test")).key
        finally:
            await close_engine(engine)

    yield asyncio.run(make())
    shutil.rmtree(_DIR, ignore_errors=True)


@schema.parametrize()
@hypothesis_settings(max_examples=25)
def test_api_conforms_to_its_schema(case: schemathesis.Case, admin_key: str) -> None:
    # Positive-data acceptance is off: business rules (NPI check digit, known specialties, date
    # order) reject some schema-valid bodies with a documented 422, which is the contract.
    # A case whose headers were generated invalid on purpose (e.g. no Authorization) is sent as
    # generated, so the API's 401 is what gets checked.
    negative_headers = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    headers = {} if negative_headers else {"Authorization": f"Bearer {admin_key}"}
    case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
