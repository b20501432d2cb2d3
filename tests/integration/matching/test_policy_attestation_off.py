"""``ROSTER_REQUIRE_POLICY_ATTESTATION=false``: an overdue attestation is shown, not a reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import PHYSICIANS, match, ok, reviewer


@pytest.fixture
def settings(migrated: Any) -> Any:
    return migrated.settings(required_sources=(), require_policy_attestation=False)


async def test_an_overdue_attestation_is_informational_when_not_required(api: Api) -> None:
    ada = await reviewer(api, 1)
    body = {
        "title": "Oncology imaging criteria 2027",
        "effective_on": (factories.TODAY - timedelta(days=20)).isoformat(),
        "attest_by": (factories.TODAY - timedelta(days=1)).isoformat(),
    }
    await ok(await api.post("/api/v1/policy-updates", json=body, role="manager"), 201)
    assert [e["physician_id"] for e in (await match(api))["eligible"]] == [ada["id"]]
    report = await ok(await api.get(f"{PHYSICIANS}/{ada['id']}/compliance"))
    check = next(c for c in report["checks"] if c["check"] == "policy_attestation")
    assert check["ok"] is True and "not required" in check["detail"]
