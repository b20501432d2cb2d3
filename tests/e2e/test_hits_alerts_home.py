"""Home, the hit review queue (decided from the keyboard) and alerts, in a real Chromium."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from tests.e2e.conftest import DemoServer, assert_accessible, shot, sign_in


def test_home_shows_the_counts(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "manager")
    page.goto("/")
    assert page.get_by_role("heading", name="Compliance").is_visible()
    for count in ("count-total", "count-compliant", "count-at-risk", "count-non-compliant"):
        assert re.fullmatch(r"\d+", page.locator(f"#{count} strong").inner_text()), count
    assert page.locator("#count-pending-hits").is_visible()
    assert page.get_by_role("heading", name=re.compile("Coverage gaps")).is_visible()
    with demo_server.api("manager") as api:
        total = 0
        cursor = None
        while True:
            params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            body = api.get("/physicians", params=params).json()
            total += len(body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                break
    assert int(page.locator("#count-total strong").inner_text()) == total
    shot(page, "home")
    assert_accessible(page)


def _lone_pending_hit(demo_server: DemoServer) -> dict[str, Any]:
    """A pending hit whose physician has no other pending hit on that list (deciding it settles the check)."""
    with demo_server.api("credentialing") as api:
        hits = api.get("/screening/hits", params={"status": "pending", "limit": 500}).json()["items"]
    per_check = Counter((h["physician_id"], h["source"]) for h in hits)
    return next(h for h in hits if per_check[(h["physician_id"], h["source"])] == 1)


def _check(demo_server: DemoServer, physician_id: str, source: str) -> dict[str, Any]:
    name = {"oig_leie": "oig_exclusion", "sam": "sam_exclusion", "cms_preclusion": "cms_preclusion"}[source]
    with demo_server.api("credentialing") as api:
        report = api.get(f"/physicians/{physician_id}/compliance").json()
    return next(c for c in report["checks"] if c["check"] == name)


def test_decide_a_hit_from_the_keyboard(page: Any, demo_server: DemoServer) -> None:
    hit = _lone_pending_hit(demo_server)
    assert _check(demo_server, hit["physician_id"], hit["source"])["reason"] == "screening_pending"
    sign_in(page, demo_server, "credentialing")
    page.goto("/hits?status=pending&limit=500")
    assert page.get_by_role("heading", name="Screening hits").is_visible()
    shot(page, "hits")
    assert_accessible(page)

    rows = page.locator("[data-keyrow]")
    position = rows.evaluate_all("(rows, id) => rows.findIndex(r => r.id === 'hit-' + id)", hit["id"])
    assert position >= 0
    page.locator("body").focus()
    for _ in range(position + 1):
        page.keyboard.press("j")
    row = page.locator(f"#hit-{hit['id']}")
    assert row.get_attribute("aria-selected") == "true"

    page.keyboard.press("d")  # opens the dismiss form of the selected hit, its note focused; decides nothing
    note = row.get_by_label(re.compile("dismiss this hit"))
    note.wait_for()
    assert note.evaluate("el => el === document.activeElement")
    page.keyboard.press("c")  # typed into the note, not a shortcut
    with demo_server.api("credentialing") as api:
        assert api.get(f"/screening/hits/{hit['id']}").json()["status"] == "pending"
    assert_accessible(page)
    note.fill("")
    page.keyboard.type("Different date of birth and middle name on the state license")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.locator(f"#hit-{hit['id']}").get_by_text("Dismissed by").wait_for()

    with demo_server.api("credentialing") as api:
        decided = api.get(f"/screening/hits/{hit['id']}").json()
    assert decided["status"] == "dismissed" and decided["decided_by"] == demo_server.users["credentialing"][0]
    assert _check(demo_server, hit["physician_id"], hit["source"]).get("reason") != "screening_pending"
    assert_accessible(page)


def test_acknowledge_an_alert(page: Any, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, "manager")
    page.goto("/alerts?status=open")
    assert page.get_by_role("heading", name="Alerts").is_visible()
    assert_accessible(page)
    box = page.locator('#alerts input[type="checkbox"]').first
    alert_id = box.get_attribute("value")
    box.check()
    shot(page, "alerts")
    page.get_by_role("button", name="Acknowledge selected").click()
    page.wait_for_load_state()
    assert page.locator(f"#alert-{alert_id}").count() == 0, "acknowledged alerts leave the open list"
    with demo_server.api("manager") as api:
        items = api.get("/alerts", params={"status": "acknowledged", "limit": 500}).json()["items"]
    acknowledged = next(a for a in items if a["id"] == alert_id)
    assert acknowledged["acknowledged_by"] == demo_server.users["manager"][0]
    assert_accessible(page)
