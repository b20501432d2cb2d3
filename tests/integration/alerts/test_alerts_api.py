"""GET /api/v1/alerts and POST /api/v1/alerts/{id}/acknowledge (api.md "Alerts, jobs, reports")."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from roster import clock
from roster.alerts.service import alert_row, raise_alerts
from roster.db import write_tx
from tests import factories
from tests.conftest import Api

BASE = "/api/v1/alerts"
MISSING = "00000000-0000-4000-8000-000000000000"


async def physician(api: Api, n: int = 1) -> str:
    response = await api.post("/api/v1/physicians", json=factories.physician(n))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def raise_alert(
    physician_id: str | None, kind: str = "license_expiring", threshold: str = "30d", **detail: Any
) -> str:
    """Raise an alert the way the sweep and screening do: ``alert_row`` + ``raise_alerts`` in a transaction."""
    row = alert_row(
        kind=kind,
        physician_id=uuid.UUID(physician_id) if physician_id else None,
        subject_type="license",
        subject_id=uuid.uuid4(),
        threshold=threshold,
        due_on=clock.today() + timedelta(days=30),
        detail=detail,
    )
    async with write_tx(roster_change=False):
        await raise_alerts([row])
    return str(row["id"])


async def listed(api: Api, role: str = "manager", **params: Any) -> list[dict[str, Any]]:
    response = await api.get(BASE, role=role, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    if field is not None:
        assert [e["field"] for e in problem["errors"]] == [field], problem
    return problem


async def alert_audit(api: Api, alert_id: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/audit", params={"entity": "alert", "entity_id": alert_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_lists_alerts_newest_first_with_their_fields(api: Api) -> None:
    doc = await physician(api)
    first = await raise_alert(doc, "license_expiring", "30d", state="AZ", number="MD1")
    second = await raise_alert(doc, "exclusion_hit", "pending", source="oig_leie")
    items = await listed(api)
    assert [a["id"] for a in items] == [second, first]
    alert = items[1]
    assert alert["kind"] == "license_expiring"
    assert alert["physician_id"] == doc
    assert alert["threshold"] == "30d"
    assert alert["status"] == "open"
    assert alert["detail"] == {"state": "AZ", "number": "MD1"}
    assert alert["due_on"] == (clock.today() + timedelta(days=30)).isoformat()
    assert alert["acknowledged_at"] is None and alert["acknowledged_by"] is None


async def test_filters_by_status_kind_and_physician(api: Api) -> None:
    one, two = await physician(api, 1), await physician(api, 2)
    a = await raise_alert(one, "license_expiring")
    b = await raise_alert(one, "irr_due", "overdue")
    c = await raise_alert(two, "license_expiring", "7d")
    assert (await api.post(f"{BASE}/{b}/acknowledge", role="manager")).status_code == 200

    assert {x["id"] for x in await listed(api, status="open")} == {a, c}
    assert [x["id"] for x in await listed(api, status="acknowledged")] == [b]
    assert {x["id"] for x in await listed(api, kind="license_expiring")} == {a, c}
    assert {x["id"] for x in await listed(api, physician_id=one)} == {a, b}
    assert [x["id"] for x in await listed(api, physician_id=one, kind="license_expiring", status="open")] == [a]
    assert await listed(api, kind="npi_deactivated") == []


async def test_pages_through_every_alert_once(api: Api) -> None:
    doc = await physician(api)
    raised = [await raise_alert(doc, threshold=f"{n}d") for n in range(7)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await api.get(BASE, role="auditor", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(raised)), "newest first, no gaps, no repeats"


async def test_acknowledging_records_who_when_and_audits_it(api: Api) -> None:
    alert_id = await raise_alert(await physician(api))
    response = await api.post(f"{BASE}/{alert_id}/acknowledge", role="manager")
    assert response.status_code == 200, response.text
    acknowledged = response.json()
    assert acknowledged["id"] == alert_id
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_by"] == "test-manager", "the key's name is the actor"
    assert acknowledged["acknowledged_at"] is not None
    assert (await listed(api, status="acknowledged"))[0] == acknowledged, "what was returned is what is stored"

    [event] = await alert_audit(api, alert_id)
    assert event["actor"] == "test-manager"
    assert event["action"] == "acknowledge"
    assert event["before"] == {"status": "open"}
    assert event["after"]["status"] == "acknowledged"


async def test_acknowledging_twice_is_idempotent(api: Api) -> None:
    """A retried acknowledgement is a 200 that changes nothing: the first one's actor and time stay."""
    alert_id = await raise_alert(await physician(api))
    first = await api.post(f"{BASE}/{alert_id}/acknowledge", role="manager")
    again = await api.post(f"{BASE}/{alert_id}/acknowledge", role="credentialing")
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert len(await alert_audit(api, alert_id)) == 1, "only the first acknowledgement is audited"


async def test_concurrent_acknowledgements_audit_once(api: Api) -> None:
    alert_id = await raise_alert(await physician(api))
    responses = await asyncio.gather(
        *(api.post(f"{BASE}/{alert_id}/acknowledge", role=role) for role in ("manager", "credentialing", "admin"))
    )
    assert [r.status_code for r in responses] == [200, 200, 200]
    bodies = [r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies), "every caller sees the one acknowledgement that won"
    [event] = await alert_audit(api, alert_id)
    assert event["actor"] == bodies[0]["acknowledged_by"]


async def test_acknowledging_an_unknown_alert_is_404(api: Api) -> None:
    problem = assert_problem(await api.post(f"{BASE}/{MISSING}/acknowledge", role="manager"), 404)
    assert MISSING in problem["detail"]
    assert await alert_audit(api, MISSING) == []


async def test_acknowledging_a_malformed_id_is_not_found(api: Api) -> None:
    assert_problem(await api.post(f"{BASE}/not-a-uuid/acknowledge", role="manager"), 404)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"status": "OPEN"}, "status"),
        ({"kind": "license_expiring_soon"}, "kind"),
        ({"physician_id": "12345"}, "physician_id"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"physican_id": MISSING}, "physican_id"),
    ],
)
async def test_bad_query_is_422_naming_the_parameter(api: Api, params: dict[str, str], field: str) -> None:
    await raise_alert(await physician(api))
    assert_problem(await api.get(BASE, role="manager", params=params), 422, field)


@pytest.mark.parametrize(
    ("role", "reads", "acknowledges"),
    [
        ("admin", True, True),
        ("manager", True, True),
        ("credentialing", True, True),
        ("auditor", True, False),
        ("router", False, False),
    ],
)
async def test_who_may_read_and_acknowledge(api: Api, role: str, reads: bool, acknowledges: bool) -> None:
    alert_id = await raise_alert(await physician(api))
    assert (await api.get(BASE, role=role)).status_code == (200 if reads else 403)
    response = await api.post(f"{BASE}/{alert_id}/acknowledge", role=role)
    assert response.status_code == (200 if acknowledges else 403), response.text
    if not acknowledges:
        assert (await listed(api))[0]["status"] == "open", "a refused acknowledgement changes nothing"
        assert await alert_audit(api, alert_id) == []


async def test_alerts_from_screening_are_listed(api: Api) -> None:
    """Alerts raised by another part of the service (a screening hit) come through the same list."""
    body = factories.physician(5)
    doc = (await api.post("/api/v1/physicians", json=body)).json()["id"]
    header = (
        "LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,GENERAL,SPECIALTY,UPIN,NPI,DOB,ADDRESS,CITY,STATE,ZIP,"
        "EXCLTYPE,EXCLDATE,REINDATE,WAIVERDATE,WVRSTATE"
    )
    row = [body["last_name"], "ADA", "", "", "", "", "", body["npi"], "", "", "", "AZ", "", "1128b4", "20240101"]
    leie = header + "\n" + ",".join(f'"{v}"' for v in [*row, "00000000", "00000000", ""]) + "\n"
    files = {"file": ("UPDATED.csv", leie.encode(), "text/csv")}
    assert (await api.post("/api/v1/screening/oig_leie/snapshots", files=files)).status_code == 201
    assert (await api.post("/api/v1/screening/runs", json={})).status_code == 201
    [alert] = await listed(api, kind="exclusion_hit", physician_id=doc)
    assert alert["threshold"] == "pending" and alert["detail"]["source"] == "oig_leie"
    assert date.fromisoformat(alert["created_at"][:10]) == clock.today()
