"""Credentialing decisions: judged timely or not over the file as it stood; credentialed_on derived."""

from __future__ import annotations

from datetime import timedelta

import pytest

from roster.audit.tables import AuditEvent
from roster.compliance.dates import add_months
from roster.credentialing.tables import CredentialingDecision
from tests.conftest import Api
from tests.integration.credentialing.helpers import (
    MISSING,
    PHYSICIANS,
    TODAY,
    ago,
    decide,
    ok,
    physician,
    problem,
    verify,
    verify_all,
)


async def physician_doc(api: Api, physician_id: str) -> dict:
    return await ok(await api.get(f"{PHYSICIANS}/{physician_id}", role="router"))


async def test_a_timely_initial_approval_sets_credentialed_on(api: Api) -> None:
    doc = await physician(api)
    await verify_all(api, doc["id"], ago(30))
    decided_on = ago(10)
    created = await decide(api, doc["id"], "initial", decided_on)
    assert created["timely"] is True and created["late_elements"] == []
    assert created["kind"] == "initial" and created["decision"] == "approved"
    assert created["decided_on"] == decided_on.isoformat() and created["decided_by"] == "test-credentialing"
    assert created["cycle_due_on"] is None and created["cycle_met"] is None
    assert (await physician_doc(api, doc["id"]))["credentialed_on"] == decided_on.isoformat()

    url = f"{PHYSICIANS}/{doc['id']}/credentialing-decisions"
    for role in ("admin", "credentialing", "manager", "auditor"):
        assert await ok(await api.get(url, role=role)) == {"items": [created], "next_cursor": None}

    # The physician's change is recorded like a PATCH: audited as the caller, versioned.
    events = await AuditEvent.select().where(AuditEvent.entity_id == doc["id"]).output(load_json=True).run()
    [update] = [e for e in events if e["action"] == "update"]
    assert update["actor"] == "test-credentialing"
    assert update["after"]["credentialed_on"] == decided_on.isoformat()
    [decision_event] = await AuditEvent.select().where(AuditEvent.entity_id == created["id"]).run()
    assert decision_event["entity"] == "credentialing_decision"


async def test_day_120_is_timely_and_day_121_is_late(api: Api) -> None:
    decided_on = ago(5)
    on_time = await physician(api, 1)
    await verify_all(api, on_time["id"], decided_on - timedelta(days=120))
    assert (await decide(api, on_time["id"], "initial", decided_on))["timely"] is True

    late = await physician(api, 2)
    await verify_all(api, late["id"], decided_on - timedelta(days=30), skip=("license",))
    day_121 = decided_on - timedelta(days=121)
    await verify(api, late["id"], "license", day_121)
    judged = await decide(api, late["id"], "initial", decided_on)
    assert judged["timely"] is False
    assert judged["late_elements"] == [{"element": "license", "verified_on": day_121.isoformat(), "window_days": 120}]
    # An approval is an approval, timely or not: credentialed_on follows it.
    assert (await physician_doc(api, late["id"]))["credentialed_on"] == decided_on.isoformat()


async def test_a_missing_element_is_listed_without_a_date(api: Api) -> None:
    doc = await physician(api)
    decided_on = ago(5)
    await verify_all(api, doc["id"], ago(20), skip=("work_history", "education"))
    # Verified after the decision: not something the committee relied on.
    await verify(api, doc["id"], "work_history", ago(1))
    judged = await decide(api, doc["id"], "initial", decided_on, decision="deferred")
    assert judged["timely"] is False
    assert judged["late_elements"] == [
        {"element": "work_history", "verified_on": None, "window_days": 120},
        {"element": "education", "verified_on": None, "window_days": None},
    ]


async def test_education_counts_once_and_any_outcome_counts(api: Api) -> None:
    doc = await physician(api)
    await verify_all(api, doc["id"], ago(40), skip=("education", "sanctions"))
    await verify(api, doc["id"], "education", ago(9000))
    await verify(api, doc["id"], "sanctions", ago(40), outcome="discrepancy")
    assert (await decide(api, doc["id"], "initial", ago(2)))["timely"] is True


async def test_dea_cds_is_required_only_of_a_holder(api: Api) -> None:
    decided_on = ago(2)
    holder = await physician(api, 1)
    await verify_all(api, holder["id"], ago(30))
    stale = decided_on - timedelta(days=1096)
    await verify(api, holder["id"], "dea_cds", stale, source="DEA Diversion Control", method="other")
    judged = await decide(api, holder["id"], "initial", decided_on)
    assert judged["late_elements"] == [{"element": "dea_cds", "verified_on": stale.isoformat(), "window_days": 1095}]

    other = await physician(api, 2)
    await verify_all(api, other["id"], ago(30))
    assert (await decide(api, other["id"], "initial", decided_on))["timely"] is True


async def test_recredentialing_within_36_months_is_timely(api: Api) -> None:
    doc = await physician(api)
    initial_on = add_months(TODAY, -35)
    await decide(api, doc["id"], "initial", initial_on)
    await verify_all(api, doc["id"], ago(20))
    judged = await decide(api, doc["id"], "recredentialing", ago(3))
    assert judged["timely"] is True and judged["cycle_met"] is True
    assert judged["cycle_due_on"] == add_months(initial_on, 36).isoformat()
    assert (await physician_doc(api, doc["id"]))["credentialed_on"] == ago(3).isoformat()


async def test_recredentialing_after_36_months_is_late(api: Api) -> None:
    doc = await physician(api)
    initial_on = add_months(TODAY, -37)
    await decide(api, doc["id"], "initial", initial_on)
    await verify_all(api, doc["id"], ago(20))
    judged = await decide(api, doc["id"], "recredentialing", ago(1))
    assert judged["timely"] is False and judged["late_elements"] == []
    assert judged["cycle_met"] is False and judged["cycle_due_on"] == add_months(initial_on, 36).isoformat()


async def test_recredentialing_without_a_previous_approval_misses_the_cycle(api: Api) -> None:
    doc = await physician(api)
    await decide(api, doc["id"], "initial", add_months(TODAY, -20), decision="denied")
    await verify_all(api, doc["id"], ago(20))
    judged = await decide(api, doc["id"], "recredentialing", ago(1))
    assert judged["timely"] is False and judged["cycle_met"] is False and judged["cycle_due_on"] is None


async def test_credentialed_on_is_the_latest_approval(api: Api) -> None:
    doc = await physician(api, credentialed_on=None)
    assert doc["credentialed_on"] is None
    await decide(api, doc["id"], "initial", ago(400), decision="denied")
    assert (await physician_doc(api, doc["id"]))["credentialed_on"] is None, "a denial credentials nobody"
    await decide(api, doc["id"], "initial", ago(300))
    await decide(api, doc["id"], "recredentialing", ago(100), decision="deferred")
    await decide(api, doc["id"], "initial", ago(350))  # recorded late, older: the latest approval stands
    assert (await physician_doc(api, doc["id"]))["credentialed_on"] == ago(300).isoformat()
    url = f"{PHYSICIANS}/{doc['id']}/credentialing-decisions"
    listed = await ok(await api.get(url, params={"limit": 3}))
    assert [d["decided_on"] for d in listed["items"]] == [ago(n).isoformat() for n in (400, 350, 300)]
    rest = await ok(await api.get(url, params={"cursor": listed["next_cursor"]}))
    assert [d["decided_on"] for d in rest["items"]] == [ago(100).isoformat()]

    # The field stays writable (imports, PATCH) as before.
    patched = await api.patch(
        f"{PHYSICIANS}/{doc['id']}", role="credentialing", json={"credentialed_on": ago(50).isoformat()}
    )
    assert patched.status_code == 200 and patched.json()["credentialed_on"] == ago(50).isoformat()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "annual"}, "kind"),
        ({"decision": "maybe"}, "decision"),
        ({"decided_on": "yesterday"}, "decided_on"),
        ({"decided_on": (TODAY + timedelta(days=1)).isoformat()}, "decided_on"),
        ({"decided_on": "1970-05-17"}, "decided_on"),  # the physician's birthday
        ({"timely": True}, "timely"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(api: Api, overrides: dict, field: str) -> None:
    doc = await physician(api)
    body = {"kind": "initial", "decided_on": ago(1).isoformat(), "decision": "approved", **overrides}
    url = f"{PHYSICIANS}/{doc['id']}/credentialing-decisions"
    problem(await api.post(url, role="credentialing", json=body), 422, field)
    assert await CredentialingDecision.count().run() == 0
    assert (await physician_doc(api, doc["id"]))["credentialed_on"] == doc["credentialed_on"]


async def test_unknown_physician_is_404(api: Api) -> None:
    url = f"{PHYSICIANS}/{MISSING}/credentialing-decisions"
    body = {"kind": "initial", "decided_on": ago(1).isoformat(), "decision": "approved"}
    problem(await api.post(url, role="credentialing", json=body), 404)
    problem(await api.get(url), 404)


async def test_roles(api: Api) -> None:
    doc = await physician(api)
    url = f"{PHYSICIANS}/{doc['id']}/credentialing-decisions"
    body = {"kind": "initial", "decided_on": ago(1).isoformat(), "decision": "approved"}
    for role in ("router", "manager", "auditor"):
        problem(await api.post(url, role=role, json=body), 403)
    problem(await api.get(url, role="router"), 403)
    assert await CredentialingDecision.count().run() == 0
    assert (await ok(await api.post(url, role="admin", json=body), 201))["decided_by"] == "test-admin"
