"""The credentialing file service's pure parts: file sniffing, the facts a decision is judged on, date checks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from roster.config import Settings
from roster.credentialing import rules
from roster.credentialing.service import check_fact_date, judge, sniff, verification_windows
from roster.errors import InvalidInput

WINDOWS = rules.load_windows()
DECIDED = date(2027, 3, 1)
REQUIRED = [e for e in rules.ELEMENTS if e != "dea_cds"]


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"%PDF-1.4\n", "application/pdf"),
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"%PDF", None),
        (b"\x89PNG\r\n", None),
        (b"GIF89a", None),
        (b"", None),
        (b"\xef\xbb\xbf%PDF-1.4", None),  # a BOM first: not a PDF by its magic
    ],
)
def test_sniff(head: bytes, content_type: str | None) -> None:
    assert sniff(head) == content_type


def _all(on: date, *, extra: tuple[str, ...] = ()) -> list[rules.Verification]:
    return [rules.Verification(e, on, "verified") for e in (*REQUIRED, *extra)]


def test_dea_cds_is_required_once_the_physician_has_any_verification_of_it() -> None:
    without = judge("initial", DECIDED, _all(DECIDED - timedelta(days=5)), [], WINDOWS)
    assert without.timely
    # A registration verified only after the decision still shows the physician holds one: the file lacked it.
    later = [*_all(DECIDED - timedelta(days=5)), rules.Verification("dea_cds", DECIDED + timedelta(days=1), "verified")]
    judged = judge("initial", DECIDED, later, [], WINDOWS)
    assert [(e.element, e.verified_on) for e in judged.late_elements] == [("dea_cds", None)]


def test_the_previous_approval_opens_the_cycle() -> None:
    decisions = [
        rules.Decision(date(2024, 1, 10), "approved"),
        rules.Decision(date(2024, 6, 1), "denied"),
        rules.Decision(date(2027, 3, 1), "approved"),  # the same day: not a previous approval
    ]
    judged = judge("recredentialing", DECIDED, _all(DECIDED), decisions, WINDOWS)
    assert judged.cycle_due_on == date(2027, 1, 10) and judged.cycle_met is False and not judged.timely
    assert judge("initial", DECIDED, _all(DECIDED), decisions, WINDOWS).cycle_due_on is None


def test_check_fact_date() -> None:
    born, today = date(1970, 5, 17), date(2027, 3, 1)
    check_fact_date("decided_on", today, date_of_birth=born, today=today)
    check_fact_date("decided_on", born + timedelta(days=1), date_of_birth=born, today=today)
    for bad in (today + timedelta(days=1), born, born - timedelta(days=1)):
        with pytest.raises(InvalidInput) as refused:
            check_fact_date("decided_on", bad, date_of_birth=born, today=today)
        assert [e.field for e in refused.value.errors] == ["decided_on"]


def test_the_windows_table_is_read_once_per_process() -> None:
    settings = Settings()
    first = verification_windows(settings)
    assert first is verification_windows(settings)
    assert dict(first) == WINDOWS
    with pytest.raises(TypeError):
        first["license"] = WINDOWS["education"]  # type: ignore[index]
