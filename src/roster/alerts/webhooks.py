"""Standard Webhooks signing (https://www.standardwebhooks.com): what a receiver verifies.

Every delivery carries ``webhook-id`` (the event id: stable per alert and endpoint, so a receiver
can deduplicate an at-least-once stream), ``webhook-timestamp`` (Unix seconds when this attempt was
signed; receivers reject stale ones to stop replays) and ``webhook-signature: v1,<base64 HMAC-SHA256
of "{id}.{timestamp}.{body}">`` keyed by the bytes of the ``whsec_<base64>`` secret. Any Standard
Webhooks library verifies these deliveries. Pure functions: no clock, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from roster.alerts.schemas import AlertKind, AlertRead

SECRET_PREFIX = "whsec_"
#: The key sizes the Standard Webhooks specification allows.
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64
EVENT_TYPE = "alert.raised"
#: Namespace of the event ids; changing it would make receivers see every past alert as new.
_EVENT_NAMESPACE = UUID("6f1c1e2e-8a0c-4f4e-9d0b-3b8f6c1d2a57")


def decode_secret(secret: str) -> bytes:
    """The HMAC key inside ``whsec_<base64>``; ValueError says what is wrong with it."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"expected {SECRET_PREFIX}<base64 key>")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the part after {SECRET_PREFIX} is not base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(f"the key must be {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes; it is {len(key)}")
    return key


def event_id(alert_id: UUID, channel: str, target: str) -> str:
    """The same alert to the same target always gets the same id, across attempts and runs."""
    return "msg_" + uuid.uuid5(_EVENT_NAMESPACE, f"{channel}\n{target}\n{alert_id}").hex


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, message_id, timestamp, body),
    }


class AlertRaised(msgspec.Struct):
    """The alert as raised. Its acknowledgement state is left out on purpose: the body of an event
    must not change between retries of the same ``webhook-id``."""

    id: UUID
    kind: AlertKind
    physician_id: UUID | None
    subject_type: str
    subject_id: str
    threshold: str
    due_on: date | None
    detail: dict[str, Any]
    created_at: datetime


class AlertEvent(msgspec.Struct):
    type: str
    timestamp: datetime
    data: AlertRaised


def payload(alert: AlertRead) -> bytes:
    """The JSON body: ``{"type": "alert.raised", "timestamp": <when raised>, "data": {...}}``."""
    data = AlertRaised(
        id=alert.id,
        kind=alert.kind,
        physician_id=alert.physician_id,
        subject_type=alert.subject_type,
        subject_id=alert.subject_id,
        threshold=alert.threshold,
        due_on=alert.due_on,
        detail=alert.detail,
        created_at=alert.created_at,
    )
    return msgspec.json.encode(AlertEvent(type=EVENT_TYPE, timestamp=alert.created_at, data=data))
