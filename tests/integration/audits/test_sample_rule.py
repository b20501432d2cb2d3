"""The default sample is the organization's configuration (``ROSTER_AUDIT_SAMPLE_*``), not code."""

from __future__ import annotations

import pytest

from roster.config import Settings
from tests.conftest import Api, TempDatabase
from tests.integration.audits.test_files import FILES, PERIOD, roster
from tests.integration.credentialing.helpers import ok


@pytest.fixture
def settings(migrated: TempDatabase) -> Settings:
    return migrated.settings(audit_sample_percent=10, audit_sample_max=2, audit_sample_min_per_kind=1)


async def test_the_configured_rule_sizes_the_default_sample(api: Api) -> None:
    await roster(api)
    body = await ok(await api.get(FILES, role="auditor", params={**PERIOD, "seed": 4}))
    # 10% of 6 is 1, raised to one of each kind; the default rule would take all six.
    assert body["population"] == 6 and len(body["sample"]) == 2
    assert sorted(f["kind"] for f in body["sample"]) == ["initial", "recredentialing"]
    # sample= still overrides it.
    assert len((await ok(await api.get(FILES, role="auditor", params={**PERIOD, "sample": 5})))["sample"]) == 5
