"""The delivery jobs end to end: the digest through a real SMTP server (aiosmtpd), webhooks to a receiver
that verifies Standard Webhooks signatures on its own and fails on cue; every attempt recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from roster import clock
from roster.alerts import repository
from roster.alerts.delivery import deliver_webhooks, send_digest
from roster.alerts.service import alert_row, raise_alerts
from roster.config import Settings
from roster.db import write_tx
from tests import factories
from tests.conftest import Api

MANAGERS = ("chief@plan.example", "deputy@plan.example")
SENDER = "Roster <roster@plan.example>"
SECRET = "whsec_" + base64.b64encode(b"webhook-secret-for-tests-32bytes").decode()
HOOK_A = "https://hooks-a.plan.example/roster"
HOOK_B = "https://hooks-b.plan.example/in"


async def physician(api: Api, n: int = 1, **overrides: Any) -> str:
    response = await api.post("/api/v1/physicians", json=factories.physician(n, **overrides))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def raise_alert(physician_id: str | None, kind: str = "license_expiring", threshold: str = "30d") -> str:
    row = alert_row(
        kind=kind,
        physician_id=uuid.UUID(physician_id) if physician_id else None,
        subject_type="license",
        subject_id=uuid.uuid4(),
        threshold=threshold,
        due_on=clock.today() + timedelta(days=30),
        detail={"state": "AZ"},
    )
    async with write_tx(roster_change=False):
        await raise_alerts([row])
    return str(row["id"])


async def attempts(channel: str, target: str | None = None) -> list[dict[str, Any]]:
    return await repository.deliveries(channel=channel, target=target)


# -- a real SMTP server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and refuses the recipients it is told to."""

    port: int
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for _, rcpt, message in self.received if rcpt == [address]]


class SmtpServer:
    def __init__(self, port: int, **smtp_options: Any) -> None:
        self.mailbox = Mailbox(port)
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=port, **smtp_options)

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self.mailbox

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[Mailbox]:
    with SmtpServer(smtp_port) as box:
        yield box


def digest_settings(settings: Settings, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout": 5.0,
        "alert_from": SENDER,
        "manager_emails": MANAGERS,
    }
    return replace(settings, **(values | overrides))


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "both a plain-text and an HTML part"
    return text.get_content(), html.get_content()


# -- the digest ----------------------------------------------------------------------------------


async def test_digest_emails_every_manager_grouped_by_urgency(api: Api, settings: Settings, mailbox: Mailbox) -> None:
    ada = await physician(api, 1, first_name="Ada", last_name="Lovelace-Núñez")  # non-ASCII survives SMTP
    bob = await physician(api, 2, first_name="Bob", last_name="Babbage")
    ninety = await raise_alert(ada, "license_expiring", "90d@20270301")
    hit = await raise_alert(bob, "exclusion_hit", "confirmed")
    week = await raise_alert(ada, "certification_expiring", "7d@20261208")
    done = await raise_alert(bob, "irr_due", "overdue")
    assert (await api.post(f"/api/v1/alerts/{done}/acknowledge", role="manager")).status_code == 200

    counts = await send_digest(digest_settings(settings, mailbox.port), api.client)

    assert counts == {
        "configured": 1,
        "recipients": 2,
        "emails_sent": 2,
        "emails_failed": 0,
        "alerts_sent": 6,
    }, "three open alerts to each of two managers; the acknowledged one is not sent"
    for manager in MANAGERS:
        [message] = mailbox.to(manager)
        assert message["From"] == SENDER and message["To"] == manager
        assert message["Subject"].startswith("Roster: 3 new alerts, 1 need action now")
        text, html = bodies(message)
        order = [text.index(s) for s in ("ACT NOW", "Bob Babbage", "DUE WITHIN 7 DAYS", "DUE WITHIN 60 TO 90 DAYS")]
        assert order == sorted(order), text
        assert "Board certification expiring in 7 days: Ada Lovelace-Núñez" in text
        assert "Ada Lovelace-Núñez" in html
        assert "Inter-rater" not in text, "acknowledged alerts are not mailed"
        assert html.index("Act now") < html.index("Due within 7 days") < html.index("Due within 60 to 90 days")
    envelope_senders = {sender for sender, _, _ in mailbox.received}
    assert envelope_senders == {"roster@plan.example"}

    recorded = await attempts("email")
    assert {(r["target"], str(r["alert"])) for r in recorded} == {
        (manager, alert) for manager in MANAGERS for alert in (ninety, hit, week)
    }
    assert all(r["delivered"] and r["attempt"] == 1 and r["status_code"] == 250 for r in recorded)


async def test_second_run_sends_nothing_new_and_later_only_the_new(
    api: Api, settings: Settings, mailbox: Mailbox
) -> None:
    doc = await physician(api)
    first = await raise_alert(doc, "license_expired", "expired")
    digest = digest_settings(settings, mailbox.port)
    assert (await send_digest(digest, api.client))["emails_sent"] == 2

    again = await send_digest(digest, api.client)
    assert again["emails_sent"] == 0 and again["alerts_sent"] == 0, "nothing new, no email"
    assert len(mailbox.received) == 2

    second = await raise_alert(doc, "license_expiring", "7d")
    assert (await send_digest(digest, api.client))["alerts_sent"] == 2, "the new alert, once per manager"
    for manager in MANAGERS:
        latest = mailbox.to(manager)[-1]
        text, _ = bodies(latest)
        assert "License expiring in 7 days" in text and "License expired" not in text
    per_alert = {str(r["alert"]) for r in await attempts("email", MANAGERS[0])}
    assert per_alert == {first, second}


async def test_smtp_down_is_recorded_and_retried_on_the_next_run(api: Api, settings: Settings, smtp_port: int) -> None:
    doc = await physician(api)
    alert_id = await raise_alert(doc, "npi_deactivated", "once")
    digest = digest_settings(settings, smtp_port)

    down = await send_digest(digest, api.client)  # nothing listens on the port yet
    assert down["emails_failed"] == 2 and down["emails_sent"] == 0
    failed = await attempts("email")
    assert len(failed) == 2
    assert all(not r["delivered"] and r["attempt"] == 1 and r["error"] for r in failed)
    assert all("Connection" in r["error"] or "refused" in r["error"].lower() for r in failed), failed

    with SmtpServer(smtp_port) as box:
        up = await send_digest(digest, api.client)
    assert up["emails_sent"] == 2 and up["alerts_sent"] == 2
    assert len(box.received) == 2
    retried = [r for r in await attempts("email") if r["delivered"]]
    assert {(r["target"], str(r["alert"]), r["attempt"]) for r in retried} == {(m, alert_id, 2) for m in MANAGERS}
    assert len({r["event_id"] for r in await attempts("email", MANAGERS[0])}) == 1, "one event id per alert and mailbox"


async def test_a_refused_mailbox_fails_alone(api: Api, settings: Settings, mailbox: Mailbox) -> None:
    await raise_alert(await physician(api), "license_expiring", "60d")
    mailbox.refuse.add(MANAGERS[1])
    counts = await send_digest(digest_settings(settings, mailbox.port), api.client)
    assert (counts["emails_sent"], counts["emails_failed"]) == (1, 1)
    [refused] = await attempts("email", MANAGERS[1])
    assert not refused["delivered"] and refused["status_code"] == 550
    assert "mailbox unavailable" in refused["error"]
    [accepted] = await attempts("email", MANAGERS[0])
    assert accepted["delivered"]

    mailbox.refuse.clear()
    assert (await send_digest(digest_settings(settings, mailbox.port), api.client))["emails_sent"] == 1
    assert [r["attempt"] for r in await attempts("email", MANAGERS[1])] == [1, 2]


class Authenticator:
    def __call__(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"roster", b"s3cret")
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


#: The test server offers AUTH without TLS (no certificate to hand); aiosmtpd rightly warns about that.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize(("password", "delivered"), [("s3cret", True), ("wrong", False)])
async def test_smtp_login(api: Api, settings: Settings, smtp_port: int, password: str, delivered: bool) -> None:
    await raise_alert(await physician(api), "license_expiring", "30d")
    server = SmtpServer(smtp_port, authenticator=Authenticator(), auth_require_tls=False, auth_required=True)
    digest = digest_settings(settings, smtp_port, smtp_user="roster", smtp_password=password)
    with server as box:
        counts = await send_digest(digest, api.client)
    assert counts["emails_sent"] == (2 if delivered else 0)
    assert len(box.received) == counts["emails_sent"]
    recorded = await attempts("email")
    assert all(r["delivered"] is delivered for r in recorded)
    if not delivered:
        assert {r["status_code"] for r in recorded} == {535}


async def test_starttls_required_but_not_offered_is_a_recorded_failure(
    api: Api, settings: Settings, mailbox: Mailbox
) -> None:
    await raise_alert(await physician(api), "license_expiring", "30d")
    counts = await send_digest(digest_settings(settings, mailbox.port, smtp_starttls=True), api.client)
    assert counts["emails_failed"] == 2 and mailbox.received == [], "never falls back to sending in the clear"
    assert all("STARTTLS" in r["error"] for r in await attempts("email"))


@pytest.fixture
def self_signed_tls(tmp_path: Path) -> ssl.SSLContext:
    """A server TLS context with a throwaway self-signed certificate (which no client trusts)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize(
    ("starttls", "expected"),
    [
        pytest.param(True, "CERTIFICATE_VERIFY_FAILED", id="untrusted certificate"),
        pytest.param(False, "530", id="server requires STARTTLS"),
    ],
)
async def test_tls_problems_never_fall_back_to_clear_text(
    api: Api, settings: Settings, smtp_port: int, self_signed_tls: ssl.SSLContext, starttls: bool, expected: str
) -> None:
    await raise_alert(await physician(api), "license_expiring", "30d")
    server = SmtpServer(smtp_port, tls_context=self_signed_tls, require_starttls=True)
    with server as box:
        counts = await send_digest(digest_settings(settings, smtp_port, smtp_starttls=starttls), api.client)
    assert counts["emails_failed"] == 2 and box.received == []
    recorded = await attempts("email")
    assert len(recorded) == 2 and all(not r["delivered"] and expected in r["error"] for r in recorded), recorded


async def test_digest_caps_the_message_and_sends_the_rest_next_time(
    api: Api, settings: Settings, mailbox: Mailbox
) -> None:
    doc = await physician(api)
    urgent = await raise_alert(doc, "license_expired", "expired")
    for days in (90, 60, 30):
        await raise_alert(doc, "license_expiring", f"{days}d")
    digest = digest_settings(settings, mailbox.port, manager_emails=MANAGERS[:1], digest_max_alerts=2)

    assert (await send_digest(digest, api.client))["alerts_sent"] == 2
    text, _ = bodies(mailbox.to(MANAGERS[0])[0])
    assert "2 more open alerts will follow in the next digest." in text
    assert urgent in {str(r["alert"]) for r in await attempts("email")}, "the most urgent go first"
    assert (await send_digest(digest, api.client))["alerts_sent"] == 2
    assert (await send_digest(digest, api.client))["alerts_sent"] == 0


async def test_digest_not_configured_does_nothing_and_says_so(api: Api, settings: Settings) -> None:
    await raise_alert(await physician(api))
    counts = await send_digest(settings, api.client)
    assert counts == {"configured": 0, "recipients": 0, "emails_sent": 0, "emails_failed": 0, "alerts_sent": 0}
    assert await attempts("email") == []


async def test_digest_half_configured_is_an_error(api: Api, settings: Settings) -> None:
    with pytest.raises(ValueError, match="SMTP host"):
        await send_digest(replace(settings, manager_emails=MANAGERS), api.client)


# -- webhooks ------------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook endpoint that checks every delivery like a real receiver and fails on cue.

    ``script`` maps an endpoint URL to the responses it gives, in order (the last one repeats); a
    response may be an exception to raise (a connection failure).
    """

    script: dict[str, list[int | Exception | httpx.Response]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        body = request.content
        call = {
            "url": url,
            "id": request.headers["webhook-id"],
            "timestamp": int(request.headers["webhook-timestamp"]),
            "body": json.loads(body),
            "raw": body,
            "verified": self.verify(request.headers, body),
        }
        self.calls.append(call)
        plan = self.script.get(url, [200])
        seen = sum(1 for c in self.calls if c["url"] == url) - 1
        step = plan[min(seen, len(plan) - 1)]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return httpx.Response(step, json={"ok": step < 300})

    @staticmethod
    def verify(headers: httpx.Headers, body: bytes) -> bool:
        """Standard Webhooks verification, from the specification: HMAC-SHA256 over id.timestamp.body."""
        key = base64.b64decode(SECRET.removeprefix("whsec_"))
        content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        fresh = abs(int(headers["webhook-timestamp"]) - int(clock.now().timestamp())) <= 300
        return fresh and any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


def hook_settings(settings: Settings, *urls: str, **overrides: Any) -> Settings:
    """Tiny backoff so retries really wait, briefly."""
    values: dict[str, Any] = {
        "webhook_urls": urls or (HOOK_A,),
        "webhook_secret": SECRET,
        "webhook_max_attempts": 4,
        "webhook_backoff_initial": 0.001,
        "webhook_backoff_max": 0.01,
    }
    return replace(settings, **(values | overrides))


async def run_webhooks(receiver: Receiver, settings: Settings) -> dict[str, int]:
    async with receiver.client() as http:
        return await deliver_webhooks(settings, http)


async def test_webhook_retries_after_500s_then_delivers_signed_with_a_stable_id(api: Api, settings: Settings) -> None:
    doc = await physician(api)
    alert_id = await raise_alert(doc, "license_expiring", "30d")
    receiver = Receiver(script={HOOK_A: [500, 503, 200]})

    counts = await run_webhooks(receiver, hook_settings(settings))

    assert counts == {"configured": 1, "endpoints": 1, "delivered": 1, "failed": 0, "deferred": 0, "attempts": 3}
    assert len(receiver.calls) == 3
    assert all(call["verified"] for call in receiver.calls), "every attempt carries a valid, fresh signature"
    assert len({call["id"] for call in receiver.calls}) == 1, "one event id across retries"
    assert len({call["raw"] for call in receiver.calls}) == 1, "the same body across retries"
    event = receiver.calls[0]["body"]
    assert event["type"] == "alert.raised"
    assert event["data"]["id"] == alert_id and event["data"]["physician_id"] == doc
    assert event["data"]["kind"] == "license_expiring" and event["data"]["threshold"] == "30d"

    recorded = await attempts("webhook", HOOK_A)
    assert [(r["attempt"], r["status_code"], r["delivered"]) for r in recorded] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert {r["event_id"] for r in recorded} == {receiver.calls[0]["id"]}
    assert all(str(r["alert"]) == alert_id for r in recorded)
    assert recorded[0]["error"].startswith("HTTP 500") and recorded[2]["error"] is None

    again = await run_webhooks(receiver, hook_settings(settings))
    assert again["attempts"] == 0 and len(receiver.calls) == 3, "a delivered alert is not sent again"


async def test_endpoint_down_defers_the_rest_and_the_next_run_resumes_with_the_same_ids(
    api: Api, settings: Settings
) -> None:
    doc = await physician(api)
    first = await raise_alert(doc, "license_expiring", "90d")
    second = await raise_alert(doc, "license_expiring", "60d")
    down = Receiver(script={HOOK_A: [500]})
    hooks = hook_settings(settings, webhook_max_attempts=3)

    counts = await run_webhooks(down, hooks)

    assert (counts["delivered"], counts["failed"], counts["deferred"], counts["attempts"]) == (0, 1, 1, 3)
    assert [c["body"]["data"]["id"] for c in down.calls] == [first] * 3, "the second alert waits for the next run"
    first_id = down.calls[0]["id"]

    up = Receiver()
    counts = await run_webhooks(up, hooks)
    assert (counts["delivered"], counts["failed"], counts["attempts"]) == (2, 0, 2)
    assert [c["body"]["data"]["id"] for c in up.calls] == [first, second], "oldest first"
    assert up.calls[0]["id"] == first_id, "the retried alert keeps its event id"
    recorded = [r for r in await attempts("webhook") if str(r["alert"]) == first]
    assert [(r["attempt"], r["delivered"]) for r in recorded] == [(1, False), (2, False), (3, False), (4, True)]


async def test_a_4xx_is_not_retried_now_and_does_not_hold_up_other_alerts(api: Api, settings: Settings) -> None:
    doc = await physician(api)
    await raise_alert(doc, "license_expiring", "90d")
    await raise_alert(doc, "license_expiring", "60d")
    receiver = Receiver(script={HOOK_A: [400, 200]})

    counts = await run_webhooks(receiver, hook_settings(settings))

    assert (counts["delivered"], counts["failed"], counts["deferred"], counts["attempts"]) == (1, 1, 0, 2)
    rejected = (await attempts("webhook"))[0]
    assert (rejected["attempt"], rejected["status_code"], rejected["delivered"]) == (1, 400, False)
    later = await run_webhooks(Receiver(), hook_settings(settings))
    assert later["delivered"] == 1, "the rejected alert is offered again on the next run"


async def test_connection_failures_and_429_are_retried(api: Api, settings: Settings) -> None:
    await raise_alert(await physician(api), "exclusion_hit", "pending")
    throttled = httpx.Response(429, headers={"Retry-After": "0"})
    receiver = Receiver(script={HOOK_A: [httpx.ConnectError("connection refused"), throttled, 204]})

    counts = await run_webhooks(receiver, hook_settings(settings))

    assert counts["delivered"] == 1 and counts["attempts"] == 3
    recorded = await attempts("webhook")
    assert [(r["status_code"], r["delivered"]) for r in recorded] == [(None, False), (429, False), (204, True)]
    assert "ConnectError" in recorded[0]["error"]


async def test_an_undecodable_answer_is_a_recorded_failure_not_a_crash(api: Api, settings: Settings) -> None:
    await raise_alert(await physician(api))
    garbled = httpx.Response(200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip"))
    receiver = Receiver(script={HOOK_A: [garbled]})

    counts = await run_webhooks(receiver, hook_settings(settings))

    assert (counts["delivered"], counts["failed"], counts["attempts"]) == (0, 1, 1), "not retried within the run"
    [recorded] = await attempts("webhook")
    assert not recorded["delivered"] and "DecodingError" in recorded["error"]
    assert (await run_webhooks(Receiver(), hook_settings(settings)))["delivered"] == 1


async def test_each_endpoint_gets_its_own_event_id_and_fate(api: Api, settings: Settings) -> None:
    alert_id = await raise_alert(await physician(api))
    receiver = Receiver(script={HOOK_B: [500]})

    counts = await run_webhooks(receiver, hook_settings(settings, HOOK_A, HOOK_B, webhook_max_attempts=2))

    assert (counts["endpoints"], counts["delivered"], counts["failed"]) == (2, 1, 1)
    ids = {call["url"]: call["id"] for call in receiver.calls}
    assert ids[HOOK_A] != ids[HOOK_B]
    assert [r["delivered"] for r in await attempts("webhook", HOOK_A)] == [True]
    assert [r["delivered"] for r in await attempts("webhook", HOOK_B)] == [False, False]

    retry = Receiver()
    await run_webhooks(retry, hook_settings(settings, HOOK_A, HOOK_B))
    assert [(c["url"], c["body"]["data"]["id"]) for c in retry.calls] == [(HOOK_B, alert_id)]
    assert retry.calls[0]["id"] == ids[HOOK_B]


async def test_acknowledged_alerts_are_still_announced_to_systems(api: Api, settings: Settings) -> None:
    alert_id = await raise_alert(await physician(api))
    assert (await api.post(f"/api/v1/alerts/{alert_id}/acknowledge", role="manager")).status_code == 200
    receiver = Receiver()
    assert (await run_webhooks(receiver, hook_settings(settings)))["delivered"] == 1
    assert receiver.calls[0]["body"]["data"]["id"] == alert_id


async def test_webhooks_not_configured_do_nothing_and_say_so(api: Api, settings: Settings) -> None:
    await raise_alert(await physician(api))
    receiver = Receiver()
    counts = await run_webhooks(receiver, settings)
    assert counts == {"configured": 0, "endpoints": 0, "delivered": 0, "failed": 0, "deferred": 0, "attempts": 0}
    assert receiver.calls == [] and await attempts("webhook") == []


async def test_webhooks_without_a_secret_are_an_error(api: Api, settings: Settings) -> None:
    with pytest.raises(ValueError, match="secret"):
        await run_webhooks(Receiver(), replace(settings, webhook_urls=(HOOK_A,)))
