"""NPI Registry API client: recorded answers, the API's errors-as-200, retries, Retry-After, rate limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from hypothesis import given
from hypothesis import strategies as st

from roster.sources import nppes_api
from roster.sources.nppes_api import MAX_RETRY_AFTER, RateLimiter, lookup, parse_answer, retry_after_seconds

API = Path(__file__).resolve().parents[3] / "fixtures" / "nppes" / "api"
NPI = "1003000126"
URL = "https://npiregistry.example/api/"


def recorded(name: str) -> bytes:
    return (API / name).read_bytes()


# -- answers ---------------------------------------------------------------------------------------


def test_active_individual() -> None:
    check = parse_answer(NPI, recorded("active_individual.json"))
    assert check.outcome == "verified" and check.npi_status == "active" and check.error is None
    assert check.details["entity_type"] == "individual"
    assert check.details["name"] == {
        "first": "ARDALAN",
        "middle": None,
        "last": "ENKESHAFI",
        "credential": "M.D.",
        "organization": None,
    }
    assert check.details["taxonomies"] == [
        {"code": "207R00000X", "desc": "Internal Medicine", "license": "D0000290", "state": "MD", "primary": False},
        {"code": "208M00000X", "desc": "Hospitalist", "license": "MD600003480", "state": "DC", "primary": True},
    ]


def test_deactivated_record() -> None:
    check = parse_answer(NPI, recorded("deactivated.json"))
    assert check.outcome == "deactivated" and check.npi_status == "deactivated"


def test_not_found_is_result_count_zero() -> None:
    check = parse_answer(NPI, recorded("not_found.json"))
    assert check.outcome == "not_found" and check.npi_status == "deactivated"


def test_errors_body_is_an_error_never_not_found() -> None:
    check = parse_answer(NPI, recorded("errors.json"))
    assert check.outcome == "error" and check.npi_status is None
    assert "NPI must be 10 digits" in (check.error or "")


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Service Temporarily Unavailable</body></html>",
        b'{"result_count":1,"results":[{"number":"1003000126"',
        b"",
        b'{"result_count":"one","results":[]}',
        b'{"result_count":1,"results":{"number":"1003000126"}}',
        b'{"result_count":1,"results":[{"number":"1003000126"}]}',
        b"[]",
        b"{}",
    ],
    ids=["html", "truncated", "empty", "count-not-int", "results-not-list", "no-basic", "array", "empty-object"],
)
def test_malformed_or_unexpected_bodies_are_errors(body: bytes) -> None:
    check = parse_answer(NPI, body)
    assert check.outcome == "error" and check.npi_status is None and check.error


def test_another_npis_record_or_no_status_is_an_error() -> None:
    other = json.loads(recorded("active_individual.json"))
    other["results"][0]["number"] = "1972902351"
    assert parse_answer(NPI, json.dumps(other).encode()).outcome == "error"
    unsure = json.loads(recorded("active_individual.json"))
    del unsure["results"][0]["basic"]["status"]
    assert parse_answer(NPI, json.dumps(unsure).encode()).outcome == "error"


# -- Retry-After and the rate limiter -----------------------------------------------------------------


def test_retry_after_is_parsed_and_bounded() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("86400") == MAX_RETRY_AFTER
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-5") is None


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_rate_limiter_spaces_acquisitions() -> None:
    fake = FakeTime()
    limiter = RateLimiter(2.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(5):
        await limiter.acquire()
    assert fake.slept == [0.5, 0.5, 0.5, 0.5]
    fake.now += 10  # idle time refills at most `burst` tokens
    await limiter.acquire()
    await limiter.acquire()
    assert fake.slept[4:] == [0.5]


async def test_rate_limiter_burst_and_concurrent_waiters() -> None:
    fake = FakeTime()
    limiter = RateLimiter(4.0, burst=2, clock=fake.clock, sleep=fake.sleep)
    await asyncio.gather(*(limiter.acquire() for _ in range(6)))
    assert sum(fake.slept) == pytest.approx(1.0)  # 2 at once, then 4 more at 4/s


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1.0, 1), (1.0, 0)])
def test_rate_limiter_rejects_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, burst=burst)


# -- the call: retries and failures ---------------------------------------------------------------


def transport(*answers: Callable[[httpx.Request], httpx.Response] | httpx.Response) -> tuple[httpx.MockTransport, list]:
    """Answers in order (the last repeats); each request is kept."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        return answer(request) if callable(answer) else answer

    return httpx.MockTransport(handler), seen


def ok(name: str = "active_individual.json") -> httpx.Response:
    return httpx.Response(200, content=recorded(name), headers={"Content-Type": "application/json"})


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def call(mock: httpx.MockTransport, **kwargs: Any) -> Any:
    async with httpx.AsyncClient(transport=mock) as client:
        return await lookup(client, NPI, url=URL, **kwargs)


async def test_request_shape() -> None:
    mock, seen = transport(ok())
    check = await call(mock)
    assert check.outcome == "verified"
    assert seen[0].url.params["version"] == "2.1" and seen[0].url.params["number"] == NPI
    assert str(seen[0].url).startswith(URL)


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(500, text="Internal Server Error"),
        timeout,
        refused,
    ],
    ids=["503", "429", "500", "timeout", "refused"],
)
async def test_transient_failures_are_retried(first: Any) -> None:
    mock, seen = transport(first, ok())
    check = await call(mock)
    assert check.outcome == "verified" and len(seen) == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.Response(503), "HTTP 503 after retries"),
        (httpx.Response(429, headers={"Retry-After": "1"}), "HTTP 429 after retries"),
        (timeout, "did not answer in time"),
        (refused, "could not be reached: ConnectError"),
    ],
    ids=["503-forever", "429-forever", "timeouts", "refused"],
)
async def test_persistent_failures_end_in_an_error_check(answer: Any, message: str) -> None:
    mock, seen = transport(answer)
    check = await call(mock)
    assert check.outcome == "error" and check.npi_status is None
    assert message in (check.error or "")
    assert len(seen) == 3, "stamina's attempts (3 in testing mode)"


async def test_client_errors_are_not_retried() -> None:
    mock, seen = transport(httpx.Response(404))
    check = await call(mock)
    assert check.outcome == "error" and check.error == "NPPES answered HTTP 404" and len(seen) == 1


async def test_errors_body_with_status_200_is_not_retried() -> None:
    mock, seen = transport(ok("errors.json"))
    check = await call(mock)
    assert check.outcome == "error" and len(seen) == 1


async def test_every_attempt_takes_a_token() -> None:
    fake = FakeTime()
    limiter = RateLimiter(1.0, clock=fake.clock, sleep=fake.sleep)
    mock, seen = transport(httpx.Response(503), httpx.Response(503), ok())
    assert (await call(mock, limiter=limiter)).outcome == "verified"
    assert len(seen) == 3 and fake.slept == [1.0, 1.0]


async def test_retry_after_is_what_stamina_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside testing mode, the wait before the retry is the (bounded) Retry-After, not the backoff."""
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    with stamina.set_testing(False):
        mock, _ = transport(httpx.Response(429, headers={"Retry-After": "7"}), ok())
        assert (await call(mock)).outcome == "verified"
        mock, _ = transport(httpx.Response(503, headers={"Retry-After": "86400"}), ok())
        assert (await call(mock)).outcome == "verified"
    assert waits == [7.0, MAX_RETRY_AFTER]


def test_backoff_hook() -> None:
    assert nppes_api._backoff(nppes_api._Throttled(429, 7.0)) == 7.0
    assert nppes_api._backoff(nppes_api._Throttled(503, None)) is True
    assert nppes_api._backoff(httpx.ReadTimeout("t")) is True
    assert nppes_api._backoff(ValueError("no")) is False


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "result_count": JSON,
        "Errors": JSON,
        "results": st.lists(
            st.fixed_dictionaries(
                {"number": st.sampled_from([NPI, 1003000126, "x"]) | JSON},
                optional={"basic": st.dictionaries(st.sampled_from(["status", "last_name"]), JSON), "taxonomies": JSON},
            ),
            max_size=3,
        )
        | JSON,
    },
)


BODIES = st.binary(max_size=200) | (JSON | SHAPED).map(lambda value: json.dumps(value).encode())


@given(BODIES)
def test_any_body_gives_a_check_never_an_exception(body: bytes) -> None:
    check = parse_answer(NPI, body)
    assert check.outcome in {"verified", "deactivated", "not_found", "error"}
    assert (check.npi_status is None) == (check.outcome == "error")
    if check.outcome == "error":
        assert check.error
