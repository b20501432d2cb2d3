"""GET /api/v1/physicians/{id}/compliance through HTTP: current records, future and past ``as_of``.

A past ``as_of`` replays the append-only history as recorded at the end of that day; later edits and
deletions never change a past answer (api.md, Matching and assignment).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import pytest
import time_machine

from tests import factories
from tests.conftest import Api

BASE = "/api/v1/physicians"
TODAY = factories.TODAY

NON_SCREENING = [
    "active",
    "license",
    "board_certification",
    "npi_active",
    "recredentialing",
    "irr",
    "clinical_experience",
]
SCREENING = ["oig_exclusion", "sam_exclusion", "cms_preclusion"]
ALL_CHECKS = [
    "active",
    "license",
    "board_certification",
    *SCREENING,
    "npi_active",
    "recredentialing",
    "irr",
    "clinical_experience",
    "policy_attestation",
]


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def credentialed_physician(api: Api, n: int = 1, **overrides: Any) -> dict[str, Any]:
    """Valid license, current certification, credentialed and IRR recently, practising since 2001."""
    physician = await ok(await api.post(BASE, json=factories.physician(n, **overrides)), 201)
    pid = physician["id"]
    physician["license"] = await ok(await api.post(f"{BASE}/{pid}/licenses", json=factories.license()), 201)
    physician["certification"] = await ok(
        await api.post(f"{BASE}/{pid}/certifications", json=factories.certification()), 201
    )
    return physician


async def compliance(
    api: Api, physician_id: str, as_of: date | str | None = None, role: str = "admin"
) -> dict[str, Any]:
    params = {} if as_of is None else {"as_of": str(as_of)}
    return await ok(await api.get(f"{BASE}/{physician_id}/compliance", role=role, params=params))


def by_check(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in report["checks"]}


async def test_compliant_except_screening(api: Api) -> None:
    physician = await credentialed_physician(api)
    report = await compliance(api, physician["id"])

    assert report["physician_id"] == physician["id"]
    assert report["as_of"] == TODAY.isoformat(), "as_of defaults to today"
    assert [c["check"] for c in report["checks"]] == ALL_CHECKS
    checks = by_check(report)
    for name in NON_SCREENING:
        assert checks[name]["ok"] is True, checks[name]
        assert "reason" not in checks[name]
    for name in SCREENING:
        assert checks[name]["ok"] is False
        assert checks[name]["reason"] == "screening_stale"
        assert "never screened" in checks[name]["detail"]
    assert report["compliant"] is False
    assert report["reasons"] == ["screening_stale", "screening_stale", "screening_stale"]

    assert checks["license"]["expires_on"] == physician["license"]["expires_on"]
    assert "AZ" in checks["license"]["detail"]
    assert "expires_on" not in checks["board_certification"], "a certificate without an end date never expires"
    irr_passed = date.fromisoformat(physician["irr_passed_on"])
    assert checks["irr"]["expires_on"] == (irr_passed + timedelta(days=365)).isoformat()


@pytest.mark.parametrize("role", ["admin", "credentialing", "router", "manager", "auditor"])
async def test_every_role_reads_compliance(api: Api, role: str) -> None:
    physician = await credentialed_physician(api)
    assert (await compliance(api, physician["id"], role=role))["reasons"] == ["screening_stale"] * 3


async def test_today_as_of_is_the_default(api: Api) -> None:
    physician = await credentialed_physician(api)
    assert await compliance(api, physician["id"], TODAY) == await compliance(api, physician["id"])


async def test_future_as_of_uses_current_records(api: Api) -> None:
    physician = await credentialed_physician(api, irr_passed_on=TODAY.isoformat())
    expires = date.fromisoformat(physician["license"]["expires_on"])

    on_expiry_day = await compliance(api, physician["id"], expires)
    assert by_check(on_expiry_day)["license"]["ok"] is True, "a license is valid through its expiry day"

    after = await compliance(api, physician["id"], expires + timedelta(days=1))
    assert after["as_of"] == (expires + timedelta(days=1)).isoformat()
    license_check = by_check(after)["license"]
    assert license_check["ok"] is False and license_check["reason"] == "license_expired"
    assert after["reasons"] == [
        "license_expired",
        "screening_stale",
        "screening_stale",
        "screening_stale",
        "irr_overdue",
    ]

    # A license added now is part of the current records, so it counts for any future date.
    await ok(
        await api.post(
            f"{BASE}/{physician['id']}/licenses",
            json=factories.license("TX", "TX1", expires_on=(expires + timedelta(days=30)).isoformat()),
        ),
        201,
    )
    later = by_check(await compliance(api, physician["id"], expires + timedelta(days=1)))["license"]
    assert later["ok"] is True and later["expires_on"] == (expires + timedelta(days=30)).isoformat()


async def test_current_edits_show_at_once(api: Api) -> None:
    physician = await credentialed_physician(api)
    patched = await api.patch(f"/api/v1/licenses/{physician['license']['id']}", json={"restricted": True})
    assert patched.status_code == 200, patched.text
    report = await compliance(api, physician["id"])
    assert by_check(report)["license"]["reason"] == "license_restricted"
    assert report["reasons"][0] == "license_restricted"


@pytest.mark.parametrize("as_of", ["2026-13-01", "yesterday", "2025-02-30", "20250101", ""])
async def test_bad_as_of_is_422_naming_it(api: Api, as_of: str) -> None:
    physician = await credentialed_physician(api)
    response = await api.get(f"{BASE}/{physician['id']}/compliance", params={"as_of": as_of})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == ["as_of"]


async def test_unknown_physician_is_404(api: Api) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for as_of in (None, TODAY - timedelta(days=30), TODAY + timedelta(days=30)):
        params = {} if as_of is None else {"as_of": as_of.isoformat()}
        response = await api.get(f"{BASE}/{missing}/compliance", params=params)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


# --- History replay -------------------------------------------------------------------------------

JAN_10 = datetime(2025, 1, 10, 12, tzinfo=UTC)
JUN_01 = datetime(2025, 6, 1, 12, tzinfo=UTC)
AUG_01 = datetime(2025, 8, 1, 12, tzinfo=UTC)


async def physician_recorded_on_jan_10(api: Api) -> dict[str, Any]:
    """Created while the clock reads 2025-01-10: every date is valid relative to that day."""
    with time_machine.travel(JAN_10, tick=False):
        physician = await ok(
            await api.post(
                BASE,
                json=factories.physician(
                    42,
                    credentialed_on="2024-06-01",
                    irr_passed_on="2024-12-01",
                    clinical_practice_start="2001-07-01",
                ),
            ),
            201,
        )
        pid = physician["id"]
        physician["license"] = await ok(
            await api.post(
                f"{BASE}/{pid}/licenses",
                json=factories.license(expires_on="2027-12-31", verified_on="2025-01-09"),
            ),
            201,
        )
        physician["certification"] = await ok(
            await api.post(f"{BASE}/{pid}/certifications", json=factories.certification(verified_on="2025-01-09")),
            201,
        )
    assert physician["created_at"].startswith("2025-01-10"), "the traveled clock is the service's clock"
    return physician


async def test_history_replays_a_license_suspension(api: Api) -> None:
    physician = await physician_recorded_on_jan_10(api)
    pid, license_id = physician["id"], physician["license"]["id"]
    with time_machine.travel(JUN_01, tick=False):
        suspended = await ok(await api.patch(f"/api/v1/licenses/{license_id}", json={"status": "suspended"}))
        assert suspended["status"] == "suspended"

    march = await compliance(api, pid, "2025-03-01")
    assert march["as_of"] == "2025-03-01"
    license_march = by_check(march)["license"]
    assert license_march["ok"] is True, license_march
    assert license_march["expires_on"] == "2027-12-31"
    assert march["reasons"] == ["screening_stale"] * 3, "everything else held on 2025-03-01"

    july = await compliance(api, pid, "2025-07-01")
    license_july = by_check(july)["license"]
    assert license_july["ok"] is False and license_july["reason"] == "license_restricted"
    assert july["reasons"] == ["license_restricted", "screening_stale", "screening_stale", "screening_stale"]

    # The day of a change sees it (end of day); the day before does not.
    assert by_check(await compliance(api, pid, "2025-05-31"))["license"]["ok"] is True
    assert by_check(await compliance(api, pid, "2025-06-01"))["license"]["reason"] == "license_restricted"
    # Today uses the current records, which are suspended too.
    assert by_check(await compliance(api, pid))["license"]["reason"] == "license_restricted"


async def test_before_the_physician_existed_is_404(api: Api) -> None:
    physician = await physician_recorded_on_jan_10(api)
    response = await api.get(f"{BASE}/{physician['id']}/compliance", params={"as_of": "2024-12-01"})
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "2024-12-01" in response.json()["detail"]
    # The day it was added is replayable.
    assert (await compliance(api, physician["id"], "2025-01-10"))["as_of"] == "2025-01-10"
    day_before = await api.get(f"{BASE}/{physician['id']}/compliance", params={"as_of": "2025-01-09"})
    assert day_before.status_code == 404


async def test_deleting_a_certification_later_keeps_the_past_answer(api: Api) -> None:
    physician = await physician_recorded_on_jan_10(api)
    pid, cert_id = physician["id"], physician["certification"]["id"]
    before = await compliance(api, pid, "2025-03-01")
    assert by_check(before)["board_certification"]["ok"] is True

    with time_machine.travel(AUG_01, tick=False):
        response = await api.delete(f"/api/v1/certifications/{cert_id}")
        assert response.status_code == 204, response.text

    assert await compliance(api, pid, "2025-03-01") == before, "a later deletion never changes a past answer"
    assert by_check(await compliance(api, pid, "2025-07-31"))["board_certification"]["ok"] is True
    gone = by_check(await compliance(api, pid, "2025-08-02"))["board_certification"]
    assert gone["ok"] is False and gone["reason"] == "no_board_certification"
    now = by_check(await compliance(api, pid))["board_certification"]
    assert now["ok"] is False and now["reason"] == "no_board_certification"


async def test_deleting_a_certification_now_keeps_yesterdays_answer(api: Api) -> None:
    physician = await physician_recorded_on_jan_10(api)
    pid = physician["id"]
    yesterday = TODAY - timedelta(days=1)
    before = await compliance(api, pid, yesterday)
    assert by_check(before)["board_certification"]["ok"] is True

    assert (await api.delete(f"/api/v1/certifications/{physician['certification']['id']}")).status_code == 204

    assert await compliance(api, pid, yesterday) == before
    assert by_check(await compliance(api, pid))["board_certification"]["reason"] == "no_board_certification"


async def test_past_answer_ignores_later_physician_edits(api: Api) -> None:
    physician = await physician_recorded_on_jan_10(api)
    pid = physician["id"]
    march = await compliance(api, pid, "2025-03-01")
    with time_machine.travel(JUN_01, tick=False):
        await ok(await api.patch(f"{BASE}/{pid}", json={"irr_passed_on": None}))
        await ok(await api.delete(f"{BASE}/{pid}"))

    assert await compliance(api, pid, "2025-03-01") == march
    july = await compliance(api, pid, "2025-07-01")
    assert july["reasons"][0] == "inactive"
    assert "irr_overdue" in july["reasons"]


async def test_todays_report_from_the_roster_index_matches_the_records(api: Api) -> None:
    """Today's answer is read from the roster index (no per-physician queries); it must be the answer the
    records give, for a compliant physician, a restricted license, a lapsed certification and a deactivated
    physician, after edits made through the API."""
    from roster.compliance import service as compliance_service
    from roster.credentialing.service import cme_requirements
    from roster.matching.service import roster_cache

    app = api.client._transport.app  # type: ignore[attr-defined]
    ok_one = await credentialed_physician(api, 1)
    restricted = await credentialed_physician(api, 2)
    await ok(await api.patch(f"/api/v1/licenses/{restricted['license']['id']}", json={"restricted": True}))
    lapsed = await credentialed_physician(api, 3)
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    await ok(await api.patch(f"/api/v1/certifications/{lapsed['certification']['id']}", json={"expires_on": yesterday}))
    gone = await credentialed_physician(api, 4)
    await ok(await api.delete(f"{BASE}/{gone['id']}"))
    cme = cme_requirements(app.state["settings"])
    cache = roster_cache(app.state)
    await cache.current()  # the index (built at start-up when served; on first use here)
    served = {}
    for physician in (ok_one, restricted, lapsed, gone):
        assert await cache.current_if_fresh() is not None  # so the answer below is the index's
        served[physician["id"]] = await compliance(api, physician["id"])
        recorded = await compliance_service.report(UUID(physician["id"]), None, app.state["policy"], cme)
        assert served[physician["id"]] == msgspec.to_builtins(recorded), physician["id"]
    assert all(by_check(served[ok_one["id"]])[check]["ok"] for check in NON_SCREENING)
    assert "license_restricted" in served[restricted["id"]]["reasons"]
    assert by_check(served[lapsed["id"]])["board_certification"]["ok"] is False
    assert by_check(served[gone["id"]])["active"]["ok"] is False


async def test_while_the_index_is_behind_a_write_the_report_is_read_from_the_records(api: Api) -> None:
    """A write moves the roster version; the next compliance read does not wait for the index's refresh,
    and still shows the write."""
    from roster.matching.service import roster_cache

    app = api.client._transport.app  # type: ignore[attr-defined]
    physician = await credentialed_physician(api)
    cache = roster_cache(app.state)
    await cache.current()
    await ok(await api.patch(f"/api/v1/licenses/{physician['license']['id']}", json={"restricted": True}))
    assert await cache.current_if_fresh() is None
    report = await compliance(api, physician["id"])
    assert "license_restricted" in report["reasons"]
    assert await cache.current_if_fresh() is None  # the read did not refresh the index either


async def test_an_unknown_physician_is_404_from_the_roster_index_too(api: Api) -> None:
    from roster.matching.service import roster_cache

    await credentialed_physician(api)
    cache = roster_cache(api.client._transport.app.state)  # type: ignore[attr-defined]
    await cache.current()
    assert await cache.current_if_fresh() is not None
    response = await api.get(f"{BASE}/00000000-0000-4000-8000-000000000000/compliance")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    bad = await api.get(f"{BASE}/not-a-uuid/compliance")  # the path does not match the route at all
    assert bad.status_code == 404, bad.text
