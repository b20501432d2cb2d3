"""Alert delivery settings from the environment: a half-configured channel fails at start-up, naming the variable."""

from __future__ import annotations

import base64
import re

import pytest

from roster.config import Settings

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
NAMES = (
    "ROSTER_SMTP_HOST",
    "ROSTER_SMTP_PORT",
    "ROSTER_SMTP_USER",
    "ROSTER_SMTP_PASSWORD",
    "ROSTER_SMTP_STARTTLS",
    "ROSTER_ALERT_FROM",
    "ROSTER_MANAGER_EMAILS",
    "ROSTER_WEBHOOK_URLS",
    "ROSTER_WEBHOOK_SECRET",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_nothing_configured_means_no_delivery() -> None:
    settings = Settings.from_env()
    assert settings.smtp_host is None and settings.manager_emails == ()
    assert settings.webhook_urls == () and settings.webhook_secret is None


def test_full_configuration_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROSTER_SMTP_HOST", "smtp.plan.example")
    monkeypatch.setenv("ROSTER_SMTP_PORT", "587")
    monkeypatch.setenv("ROSTER_SMTP_USER", "roster")
    monkeypatch.setenv("ROSTER_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("ROSTER_SMTP_STARTTLS", "true")
    monkeypatch.setenv("ROSTER_ALERT_FROM", "Roster <roster@plan.example>")
    monkeypatch.setenv("ROSTER_MANAGER_EMAILS", " a@plan.example, b@plan.example ,a@plan.example,")
    monkeypatch.setenv("ROSTER_WEBHOOK_URLS", "https://hooks.plan.example/roster,http://10.0.0.5:8080/in")
    monkeypatch.setenv("ROSTER_WEBHOOK_SECRET", SECRET)
    settings = Settings.from_env()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_user) == ("smtp.plan.example", 587, "roster")
    assert settings.smtp_password == "hunter2" and settings.smtp_starttls is True
    assert settings.alert_from == "Roster <roster@plan.example>"
    assert settings.manager_emails == ("a@plan.example", "b@plan.example"), "trimmed, de-duplicated, in order"
    assert settings.webhook_urls == ("https://hooks.plan.example/roster", "http://10.0.0.5:8080/in")
    assert settings.webhook_secret == SECRET
    assert "hunter2" not in repr(settings) and SECRET not in repr(settings), "secrets stay out of logs"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROSTER_SMTP_PORT": "smtp"}, "ROSTER_SMTP_PORT: 'smtp' is not a port number"),
        ({"ROSTER_SMTP_PORT": "70000"}, "ROSTER_SMTP_PORT"),
        ({"ROSTER_ALERT_FROM": "roster at plan"}, "ROSTER_ALERT_FROM: 'roster at plan' is not an email address"),
        (
            {"ROSTER_SMTP_HOST": "h", "ROSTER_ALERT_FROM": "r@p.example", "ROSTER_MANAGER_EMAILS": "a@p.example,nope"},
            "ROSTER_MANAGER_EMAILS: not an email address: nope",
        ),
        ({"ROSTER_MANAGER_EMAILS": "a@p.example", "ROSTER_ALERT_FROM": "r@p.example"}, "needs ROSTER_SMTP_HOST"),
        ({"ROSTER_MANAGER_EMAILS": "a@p.example", "ROSTER_SMTP_HOST": "h"}, "ROSTER_ALERT_FROM"),
        ({"ROSTER_SMTP_PASSWORD": "x"}, "ROSTER_SMTP_PASSWORD is set without ROSTER_SMTP_USER"),
        ({"ROSTER_WEBHOOK_URLS": "https://h.example/x"}, "ROSTER_WEBHOOK_SECRET is not"),
        (
            {"ROSTER_WEBHOOK_URLS": "ftp://h.example/x", "ROSTER_WEBHOOK_SECRET": SECRET},
            "ROSTER_WEBHOOK_URLS: 'ftp://h.example/x' is not an http(s) URL",
        ),
        ({"ROSTER_WEBHOOK_URLS": "https:///path", "ROSTER_WEBHOOK_SECRET": SECRET}, "ROSTER_WEBHOOK_URLS"),
        ({"ROSTER_WEBHOOK_SECRET": "plain-secret"}, "ROSTER_WEBHOOK_SECRET: expected whsec_"),
        ({"ROSTER_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, "ROSTER_WEBHOOK_SECRET: the key must be 24 to 64 bytes"),
    ],
)
def test_bad_or_half_configuration_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings.from_env()


def test_the_app_refuses_to_start_half_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from roster.app import create_app

    monkeypatch.setenv("ROSTER_WEBHOOK_URLS", "https://h.example/x")
    with pytest.raises(ValueError, match="ROSTER_WEBHOOK_SECRET"):
        create_app()
