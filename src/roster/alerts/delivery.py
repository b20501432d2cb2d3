"""The alert delivery jobs: the managers' daily email digest and signed webhooks to other systems.

Both are at-least-once, tracked in ``alert_delivery``: every attempt is a row (channel, target, alert,
attempt number, outcome), written after the attempt, and an alert counts as delivered to a target
once one attempt there succeeded. A crash between sending and recording sends again on the next
run: webhook receivers deduplicate by ``webhook-id``, which is stable per (alert, endpoint); a
manager may see an alert twice. Failures are recorded and retried by the next run.

Email goes through the standard library's ``smtplib`` in a worker thread: one short SMTP session per
manager per day needs no async client, and STARTTLS, AUTH and international addresses come with
the standard library instead of another runtime dependency.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any
from uuid import UUID

import httpx
import stamina

import roster
from roster import clock
from roster.alerts import repository
from roster.alerts.digest import DigestItem, compose, most_urgent
from roster.alerts.service import to_read
from roster.alerts.webhooks import decode_secret, event_id, payload, signed_headers
from roster.config import Settings
from roster.db import write_tx

log = logging.getLogger("roster.alerts")

EMAIL, WEBHOOK = "email", "webhook"
_ERROR_CHARS = 500


def _name(row: dict[str, Any]) -> str | None:
    names = [row.get("physician_first_name"), row.get("physician_last_name")]
    return " ".join(n for n in names if n) or None


def _digest_item(row: dict[str, Any]) -> DigestItem:
    return DigestItem(
        alert_id=row["id"],
        kind=row["kind"],
        threshold=row["threshold"],
        due_on=row["due_on"],
        created_at=row["created_at"],
        physician_name=_name(row),
        npi=row.get("physician_npi"),
        detail=row["detail"] if isinstance(row["detail"], dict) else {},
    )


async def _record(
    channel: str,
    target: str,
    alert_ids: list[UUID],
    prior: dict[UUID, int],
    *,
    delivered: bool,
    status_code: int | None,
    error: str | None,
    at: datetime,
) -> None:
    rows = [
        {
            "id": uuid.uuid4(),
            "event_id": event_id(alert_id, channel, target),
            "channel": channel,
            "target": target,
            "alert": alert_id,
            "attempt": prior.get(alert_id, 0) + 1,
            "delivered": delivered,
            "status_code": status_code,
            "error": error[:_ERROR_CHARS] if error else None,
            "attempted_at": at,
        }
        for alert_id in alert_ids
    ]
    async with write_tx(roster_change=False):
        await repository.insert_deliveries(rows)


# -- the daily digest --------------------------------------------------------------------------


def _smtp_send(settings: Settings, message: EmailMessage, recipient: str) -> None:
    """One SMTP session (blocking; runs in a worker thread). Raises on any refusal."""
    assert settings.smtp_host is not None and settings.alert_from is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message, from_addr=parseaddr(settings.alert_from)[1], to_addrs=[recipient])


def _smtp_failure(exc: Exception, recipient: str) -> tuple[int | None, str]:
    """The SMTP reply code, if the server gave one, and a message for the delivery log."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = exc.recipients.get(recipient, (None, b""))
        return code, f"recipient refused: {code} {reply.decode(errors='replace')}"
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return exc.smtp_code, f"{exc.__class__.__name__}: {exc.smtp_code} {reply}"
    return None, f"{exc.__class__.__name__}: {exc}"


def _check_digest(settings: Settings) -> bool:
    """Whether a digest is configured at all; a half-configured one is an error, not a silent no-op."""
    if not settings.manager_emails:
        return False
    if not settings.smtp_host or not settings.alert_from:
        raise ValueError("manager emails are set but the SMTP host or the sender (alert_from) is not")
    return True


async def send_digest(settings: Settings, http: httpx.AsyncClient) -> dict[str, int]:
    """Email each manager address the open alerts it has not been sent yet (one message per address).

    Run it as often as you like: an address with nothing new gets no email. An SMTP failure is
    recorded for every alert the message carried, and the same alerts go out on the next run.
    """
    counts = {"recipients": len(settings.manager_emails), "emails_sent": 0, "emails_failed": 0, "alerts_sent": 0}
    if not _check_digest(settings):
        return {"configured": 0, **counts}
    assert settings.alert_from is not None
    for recipient in settings.manager_emails:
        rows = await repository.undelivered(EMAIL, recipient, open_only=True)
        if not rows:
            continue
        items, left_over = most_urgent((_digest_item(r) for r in rows), settings.digest_max_alerts)
        alert_ids = [item.alert_id for item in items]
        prior = await repository.attempts_so_far(EMAIL, recipient, alert_ids)
        now = clock.now()
        message = compose(items, sender=settings.alert_from, recipient=recipient, now=now, left_over=left_over)
        try:
            await asyncio.to_thread(_smtp_send, settings, message, recipient)
        except (smtplib.SMTPException, OSError) as exc:
            status_code, error = _smtp_failure(exc, recipient)
            log.warning("alert digest to %s failed: %s", recipient, error)
            await _record(
                EMAIL, recipient, alert_ids, prior, delivered=False, status_code=status_code, error=error, at=now
            )
            counts["emails_failed"] += 1
            continue
        await _record(EMAIL, recipient, alert_ids, prior, delivered=True, status_code=250, error=None, at=now)
        counts["emails_sent"] += 1
        counts["alerts_sent"] += len(alert_ids)
    return {"configured": 1, **counts}


# -- webhooks ----------------------------------------------------------------------------------


class _Undelivered(Exception):
    """One attempt that did not end in a 2xx; ``retryable`` says whether trying again now may help."""

    def __init__(self, error: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.retryable = retryable
        self.retry_after = retry_after


def _retryable_status(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: either delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


def _backoff(wait_max: float) -> Callable[[Exception], bool | float]:
    """stamina's hook: retry what may succeed later, waiting as long as the endpoint asks (bounded)."""

    def hook(exc: Exception) -> bool | float:
        if not isinstance(exc, _Undelivered) or not exc.retryable:
            return False
        if exc.retry_after is not None:
            return min(exc.retry_after, wait_max)
        return True

    return hook


@dataclass(frozen=True, slots=True)
class _Outcome:
    delivered: bool
    attempts: int
    #: The last attempt failed in a way that says the endpoint itself is down (5xx, timeout, refused).
    endpoint_down: bool


async def _post_once(
    http: httpx.AsyncClient, url: str, key: bytes, message_id: str, body: bytes, request_timeout: float
) -> tuple[datetime, int | None, _Undelivered | None]:
    """Sign and send one attempt; returns when it was made, the HTTP status, and the failure if any."""
    at = clock.now()
    headers = {
        **signed_headers(key, message_id, int(at.timestamp()), body),
        "user-agent": f"roster-webhooks/{roster.__version__}",
    }
    try:
        response = await http.post(url, content=body, headers=headers, timeout=request_timeout, follow_redirects=False)
    except httpx.TransportError as exc:  # refused, reset, timed out: the endpoint may be back soon
        return at, None, _Undelivered(f"{exc.__class__.__name__}: {exc}", retryable=True)
    except httpx.HTTPError as exc:  # e.g. an undecodable response: not worth hammering now, retried next run
        return at, None, _Undelivered(f"{exc.__class__.__name__}: {exc}", retryable=False)
    if response.is_success:
        return at, response.status_code, None
    excerpt = response.text[:200].strip()
    failure = _Undelivered(
        f"HTTP {response.status_code}" + (f": {excerpt}" if excerpt else ""),
        retryable=_retryable_status(response.status_code),
        retry_after=retry_after_seconds(response.headers.get("retry-after"), at),
    )
    return at, response.status_code, failure


async def _deliver(
    http: httpx.AsyncClient, settings: Settings, url: str, key: bytes, row: dict[str, Any], prior: int
) -> _Outcome:
    """Send one alert to one endpoint: up to ``webhook_max_attempts`` attempts with exponential backoff,
    each recorded, all under the same ``webhook-id`` and body."""
    alert = to_read(row)
    message_id = event_id(alert.id, WEBHOOK, url)
    body = payload(alert)
    made = 0
    try:
        async for attempt in stamina.retry_context(
            on=_backoff(settings.webhook_backoff_max),
            attempts=settings.webhook_max_attempts,
            timeout=None,
            wait_initial=settings.webhook_backoff_initial,
            wait_max=settings.webhook_backoff_max,
            wait_jitter=settings.webhook_backoff_initial,
        ):
            with attempt:
                at, status_code, failure = await _post_once(http, url, key, message_id, body, settings.webhook_timeout)
                await _record(
                    WEBHOOK,
                    url,
                    [alert.id],
                    {alert.id: prior + made},
                    delivered=failure is None,
                    status_code=status_code,
                    error=str(failure) if failure else None,
                    at=at,
                )
                made += 1
                if failure is not None:
                    raise failure
    except _Undelivered as exc:
        log.warning(
            "webhook %s for alert %s to %s failed after %d attempt(s): %s", message_id, alert.id, url, made, exc
        )
        return _Outcome(delivered=False, attempts=made, endpoint_down=exc.retryable)
    return _Outcome(delivered=True, attempts=made, endpoint_down=False)


async def deliver_webhooks(settings: Settings, http: httpx.AsyncClient) -> dict[str, int]:
    """POST every alert not yet delivered to each configured endpoint, oldest first.

    An alert whose attempts all fail stays undelivered and is retried by the next run with the same
    event id. When an endpoint looks down (its last attempt was a 5xx, a timeout or a refused
    connection) the rest of its alerts wait for the next run (``deferred``) instead of each burning
    its retries against it. A 4xx is that alert's failure only: the next alert is still sent.
    Acknowledged alerts are sent too (systems hear of every alert raised), and a newly configured
    endpoint receives the whole backlog, oldest first.
    """
    counts = {"endpoints": len(settings.webhook_urls), "delivered": 0, "failed": 0, "deferred": 0, "attempts": 0}
    if not settings.webhook_urls:
        return {"configured": 0, **counts}
    if not settings.webhook_secret:
        raise ValueError("webhook URLs are set but the webhook secret is not: every delivery is signed")
    key = decode_secret(settings.webhook_secret)
    for url in settings.webhook_urls:
        rows = await repository.undelivered(WEBHOOK, url, open_only=False)
        prior = await repository.attempts_so_far(WEBHOOK, url, [row["id"] for row in rows])
        for position, row in enumerate(rows):
            outcome = await _deliver(http, settings, url, key, row, prior.get(row["id"], 0))
            counts["attempts"] += outcome.attempts
            if outcome.delivered:
                counts["delivered"] += 1
                continue
            counts["failed"] += 1
            if outcome.endpoint_down:
                counts["deferred"] += len(rows) - position - 1
                break
    return {"configured": 1, **counts}
