"""The digest email: urgency from kind and threshold, most urgent first, text and HTML alike."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from email import message_from_bytes, policy

import pytest

from roster.alerts.digest import DigestItem, compose, most_urgent, urgency

NOW = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "threshold", "expected"),
    [
        ("license_expired", "expired", "now"),
        ("license_expired", "once", "now"),
        ("certification_lapsed", "not_meeting", "now"),
        ("certification_lapsed", "expired@20261130", "now"),
        ("exclusion_hit", "pending", "now"),
        ("exclusion_hit", "confirmed", "now"),
        ("preclusion_hit", "pending", "now"),
        ("npi_deactivated", "once", "now"),
        ("recredentialing_due", "overdue", "now"),
        ("irr_due", "overdue", "now"),
        ("license_expiring", "7", "7"),
        ("license_expiring", "7d@20261208", "7"),
        ("certification_expiring", "30d@20261231", "30"),
        ("irr_due", "30d@20261231", "30"),
        ("recredentialing_due", "30", "30"),
        ("license_expiring", "60d@20270130", "90"),
        ("license_expiring", "90d@20270301", "90"),
        ("recredentialing_due", "90d@20270301", "90"),
        # A happened-kind stays urgent even when its label carries a number of days.
        ("license_expired", "0d@20261130", "now"),
    ],
)
def test_urgency_from_kind_and_threshold(kind: str, threshold: str, expected: str) -> None:
    assert urgency(kind, threshold) == expected


def item(kind: str, threshold: str, name: str | None = "Ada Reviewer", due: date | None = None, **kw) -> DigestItem:  # type: ignore[no-untyped-def]
    return DigestItem(
        alert_id=uuid.uuid4(),
        kind=kind,
        threshold=threshold,
        due_on=due,
        created_at=NOW,
        physician_name=name,
        npi="1234567893" if name else None,
        **kw,
    )


def test_most_urgent_orders_by_urgency_then_due_date_and_counts_the_rest() -> None:
    later = item("license_expiring", "90d", due=date(2027, 3, 1))
    soon = item("license_expiring", "7d", due=date(2026, 12, 8))
    sooner = item("certification_expiring", "7d", due=date(2026, 12, 5))
    hit = item("exclusion_hit", "pending")
    month = item("irr_due", "30d", due=date(2026, 12, 31))
    chosen, left = most_urgent([later, soon, month, hit, sooner], 4)
    assert chosen == [hit, sooner, soon, month]
    assert left == 1
    assert most_urgent([later], 10) == ([later], 0)


def parts(message) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Round-trip through bytes, as a mail client would read it."""
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_compose_groups_sections_in_urgency_order_in_both_parts() -> None:
    items = [
        item("license_expiring", "90d@20270301", name="Zed Ninety", due=date(2027, 3, 1), detail={"state": "AZ"}),
        item("exclusion_hit", "confirmed", name="Eve Excluded", detail={"source": "oig_leie", "score": 1.0}),
        item("license_expiring", "7d@20261208", name="Sam Seven", due=date(2026, 12, 8)),
        item("irr_due", "30d@20261231", name="Tia Thirty", due=date(2026, 12, 31)),
    ]
    message = compose(items, sender="Roster <roster@plan.example>", recipient="boss@plan.example", now=NOW)
    assert message["To"] == "boss@plan.example"
    assert message["From"] == "Roster <roster@plan.example>"
    assert message["Subject"] == "Roster: 4 new alerts, 1 need action now (2026-12-01)"
    assert message["Message-ID"].endswith("@plan.example>")
    text, html = parts(message)

    headings = ["ACT NOW", "DUE WITHIN 7 DAYS", "DUE WITHIN 30 DAYS", "DUE WITHIN 60 TO 90 DAYS"]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions), text
    names = ["Eve Excluded", "Sam Seven", "Tia Thirty", "Zed Ninety"]
    assert [text.index(n) for n in names] == sorted(text.index(n) for n in names)
    assert "Exclusion list hit: Eve Excluded (NPI 1234567893) - score: 1.0; source: oig_leie" in text
    assert "License expiring in 7 days: Sam Seven (NPI 1234567893) - due 2026-12-08" in text
    assert "Inter-rater reliability test due in 30 days" in text

    html_headings = ["Act now", "Due within 7 days", "Due within 30 days", "Due within 60 to 90 days"]
    html_positions = [html.index(f"<h2>{h}") for h in html_headings]
    assert html_positions == sorted(html_positions), html
    assert [html.index(n) for n in names] == sorted(html.index(n) for n in names)


def test_compose_leaves_out_empty_sections_and_says_what_follows() -> None:
    message = compose(
        [item("license_expiring", "30d")],
        sender="roster@plan.example",
        recipient="m@plan.example",
        now=NOW,
        left_over=3,
    )
    text, html = parts(message)
    assert "DUE WITHIN 30 DAYS (1)" in text
    assert "ACT NOW" not in text and "7 DAYS" not in text
    assert "3 more open alerts will follow in the next digest." in text
    assert "3 more open alerts will follow" in html
    assert message["Subject"] == "Roster: 1 new alert (2026-12-01)"


def test_html_escapes_what_people_typed() -> None:
    hostile = item("license_expired", "expired", name="<script>alert(1)</script>", detail={"note": "a & b <i>"})
    text, html = parts(compose([hostile], sender="roster@plan.example", recipient="m@plan.example", now=NOW))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &amp; b &lt;i&gt;" in html
    assert "<script>alert(1)</script>" in text, "plain text is shown as is"


def test_alert_without_a_physician_is_still_listed() -> None:
    text, _ = parts(
        compose([item("npi_deactivated", "once", name=None)], sender="r@plan.example", recipient="m@p.example", now=NOW)
    )
    assert "NPI deactivated: (no physician)" in text
