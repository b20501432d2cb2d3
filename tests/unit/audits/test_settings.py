"""``ROSTER_AUDIT_SAMPLE_*``: read from the environment; a bad value stops start-up naming the variable."""

from __future__ import annotations

import pytest

from roster.config import Settings


def test_the_sample_rule_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (Settings().audit_sample_percent, Settings().audit_sample_max, Settings().audit_sample_min_per_kind) == (
        5.0,
        50,
        10,
    )
    monkeypatch.setenv("ROSTER_AUDIT_SAMPLE_PERCENT", "2.5")
    monkeypatch.setenv("ROSTER_AUDIT_SAMPLE_MAX", "30")
    monkeypatch.setenv("ROSTER_AUDIT_SAMPLE_MIN_PER_KIND", "8")
    settings = Settings.from_env()
    assert (settings.audit_sample_percent, settings.audit_sample_max, settings.audit_sample_min_per_kind) == (
        2.5,
        30,
        8,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROSTER_AUDIT_SAMPLE_PERCENT", "0"),
        ("ROSTER_AUDIT_SAMPLE_PERCENT", "101"),
        ("ROSTER_AUDIT_SAMPLE_PERCENT", "five"),
        ("ROSTER_AUDIT_SAMPLE_MAX", "0"),
        ("ROSTER_AUDIT_SAMPLE_MIN_PER_KIND", "-1"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        Settings.from_env()
