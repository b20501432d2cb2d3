"""Standard Webhooks signing, event ids, the event body, and the retry decisions of webhook delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from roster.alerts.delivery import _backoff, _Undelivered, retry_after_seconds
from roster.alerts.schemas import AlertRead
from roster.alerts.webhooks import EVENT_TYPE, decode_secret, event_id, payload, sign, signed_headers

#: The test vector published with the Standard Webhooks specification (and its reference libraries).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def receiver_verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """A receiver's check, written from the specification rather than from our signer."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.partition(",")[2] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, s) for s in offered)


def test_signature_matches_the_specification_vector() -> None:
    key = decode_secret(VECTOR_SECRET)
    assert sign(key, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_signed_headers_verify_and_any_change_breaks_them() -> None:
    key = decode_secret(VECTOR_SECRET)
    headers = signed_headers(key, "msg_1", 1_700_000_000, b'{"a":1}')
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["content-type"] == "application/json"
    assert receiver_verifies(VECTOR_SECRET, headers, b'{"a":1}')
    assert not receiver_verifies(VECTOR_SECRET, headers, b'{"a":2}'), "body tampered"
    assert not receiver_verifies(VECTOR_SECRET, {**headers, "webhook-timestamp": "1700000001"}, b'{"a":1}')
    assert not receiver_verifies(VECTOR_SECRET, {**headers, "webhook-id": "msg_2"}, b'{"a":1}')
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    assert not receiver_verifies(other, headers, b'{"a":1}'), "another endpoint's secret"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "expected whsec_"),
        ("whsec_not base64!", "not base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes; it is 5"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "it is 65"),
        ("whsec_", "it is 0"),
    ],
)
def test_bad_secrets_are_refused_with_the_reason(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_secret(secret)


def test_event_id_is_stable_per_alert_and_target() -> None:
    alert = uuid.uuid4()
    first = event_id(alert, "webhook", "https://a.example/hook")
    assert first == event_id(alert, "webhook", "https://a.example/hook")
    assert first.startswith("msg_") and len(first) <= 64, "fits alert_delivery.event_id"
    assert first != event_id(alert, "webhook", "https://b.example/hook")
    assert first != event_id(uuid.uuid4(), "webhook", "https://a.example/hook")
    assert first != event_id(alert, "email", "https://a.example/hook")


def alert(**overrides: object) -> AlertRead:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "kind": "license_expiring",
        "physician_id": uuid.uuid4(),
        "subject_type": "license",
        "subject_id": str(uuid.uuid4()),
        "threshold": "30d@20270131",
        "due_on": date(2027, 1, 31),
        "status": "open",
        "detail": {"state": "AZ", "number": "MD1"},
        "created_at": datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
        "acknowledged_at": None,
        "acknowledged_by": None,
    }
    values.update(overrides)
    return AlertRead(**values)  # type: ignore[arg-type]


def test_payload_is_the_alert_as_raised() -> None:
    raised = alert()
    body = json.loads(payload(raised))
    assert body["type"] == EVENT_TYPE == "alert.raised"
    assert body["timestamp"] == "2026-12-01T06:00:00Z"
    data = body["data"]
    assert data["id"] == str(raised.id)
    assert data["kind"] == "license_expiring"
    assert data["physician_id"] == str(raised.physician_id)
    assert data["due_on"] == "2027-01-31"
    assert data["detail"] == {"state": "AZ", "number": "MD1"}
    assert "status" not in data and "acknowledged_by" not in data


def test_payload_does_not_change_when_the_alert_is_acknowledged() -> None:
    """Retries of one webhook-id must carry the same body, even if a manager acknowledged in between."""
    raised = alert()
    acknowledged = alert(
        id=raised.id,
        physician_id=raised.physician_id,
        subject_id=raised.subject_id,
        status="acknowledged",
        acknowledged_at=datetime(2026, 12, 2, tzinfo=UTC),
        acknowledged_by="manager",
    )
    assert payload(raised) == payload(acknowledged)


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Tue, 01 Dec 2026 12:00:30 GMT", 30.0),
        ("Tue, 01 Dec 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, NOW) == seconds


def test_backoff_retries_only_what_may_succeed_later_and_caps_retry_after() -> None:
    hook = _backoff(30.0)
    assert hook(_Undelivered("HTTP 503", retryable=True)) is True
    assert hook(_Undelivered("HTTP 400", retryable=False)) is False
    assert hook(_Undelivered("HTTP 429", retryable=True, retry_after=5.0)) == 5.0
    assert hook(_Undelivered("HTTP 429", retryable=True, retry_after=timedelta(hours=1).total_seconds())) == 30.0
    assert hook(RuntimeError("a bug, or the database")) is False, "only delivery failures are retried"
