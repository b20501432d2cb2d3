"""``policy_attestation_overdue`` (rules.md §6): an update unattested past its attest-by date makes a reviewer
ineligible, in compliance and in matching, until the attestation is recorded."""

from __future__ import annotations

from datetime import timedelta

from tests import factories
from tests.conftest import Api
from tests.integration.matching.roster import PHYSICIANS, match, ok, reviewer

UPDATES = "/api/v1/policy-updates"
TODAY = factories.TODAY


async def test_an_overdue_attestation_excludes_until_it_is_recorded(api: Api) -> None:
    ada = await reviewer(api, 1)
    bo = await reviewer(api, 2)
    update = await ok(
        await api.post(
            UPDATES,
            json={
                "title": "Oncology imaging criteria 2027",
                "effective_on": (TODAY - timedelta(days=20)).isoformat(),
                "attest_by": (TODAY - timedelta(days=1)).isoformat(),
            },
            role="manager",
        ),
        201,
    )
    await ok(
        await api.post(
            f"{UPDATES}/{update['id']}/attestations",
            json={"physician_id": bo["id"], "attested_on": (TODAY - timedelta(days=5)).isoformat()},
        ),
        201,
    )
    result = await match(api, explain=True)
    assert [e["physician_id"] for e in result["eligible"]] == [bo["id"]]
    assert result["ineligible"] == [
        {
            "physician_id": ada["id"],
            "name": ada["first_name"] + " " + ada["last_name"],
            "reasons": ["policy_attestation_overdue"],
        }
    ]
    report = await ok(await api.get(f"{PHYSICIANS}/{ada['id']}/compliance"))
    check = next(c for c in report["checks"] if c["check"] == "policy_attestation")
    assert check["ok"] is False and check["reason"] == "policy_attestation_overdue"
    # Recorded today: eligible on the next match (the index reloads Ada alone).
    await ok(
        await api.post(
            f"{UPDATES}/{update['id']}/attestations",
            json={"physician_id": ada["id"], "attested_on": TODAY.isoformat()},
        ),
        201,
    )
    assert sorted(e["physician_id"] for e in (await match(api))["eligible"]) == sorted([ada["id"], bo["id"]])


async def test_an_update_not_yet_due_is_in_force_until_its_attest_by_date(api: Api) -> None:
    ada = await reviewer(api, 1)
    attest_by = TODAY + timedelta(days=10)
    await ok(
        await api.post(
            UPDATES,
            json={
                "title": "Sleep study criteria",
                "effective_on": TODAY.isoformat(),
                "attest_by": attest_by.isoformat(),
            },
            role="manager",
        ),
        201,
    )
    report = await ok(await api.get(f"{PHYSICIANS}/{ada['id']}/compliance"))
    check = next(c for c in report["checks"] if c["check"] == "policy_attestation")
    assert check["ok"] is True and check["expires_on"] == attest_by.isoformat()
    later = await ok(
        await api.get(
            f"{PHYSICIANS}/{ada['id']}/compliance", params={"as_of": (attest_by + timedelta(days=1)).isoformat()}
        )
    )
    assert "policy_attestation_overdue" in [c.get("reason") for c in later["checks"] if not c["ok"]]
