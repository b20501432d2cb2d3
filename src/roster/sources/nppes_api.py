"""NPI Registry API v2.1 (``GET https://npiregistry.cms.hhs.gov/api/?version=2.1&number=NPI``).

The API answers its own errors with HTTP 200 and an ``Errors`` body, an unknown NPI with
``result_count`` 0, and publishes no rate limit (reference.md §4.1). So the status code only says
whether to retry (429, 5xx, timeouts, dropped connections: with backoff, honouring a bounded
``Retry-After``); what NPPES said is read from the body. Anything that is not a clear answer
(``Errors``, a malformed or unexpected body, retries exhausted) is an ``error`` check, which never
changes a physician.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import msgspec
import stamina

from roster.sources.nppes import NpiCheck

DEFAULT_URL = "https://npiregistry.cms.hhs.gov/api/"
API_VERSION = "2.1"
#: Tries per NPI (first call included), and the most time spent on one NPI across them.
ATTEMPTS = 4
RETRY_BUDGET = 180.0
#: A ``Retry-After`` longer than this is cut to it: one NPI must not stall a run for an hour.
MAX_RETRY_AFTER = 60.0
REQUEST_TIMEOUT = httpx.Timeout(20.0, connect=10.0)


class RateLimiter:
    """Token bucket: on average ``rate`` acquisitions per second, at most ``burst`` at once.

    Shared by every concurrent lookup of a run, so retries count against the rate too.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self.rate, self.burst = float(rate), burst
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # waiters are served in arrival order
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate)
                self._tokens = 1.0  # what the wait earned; an oversleep is not banked
                self._updated = self._clock()
            self._tokens -= 1


class _Throttled(Exception):
    """A 429 or 5xx answer, raised so that stamina retries it."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), within [0, MAX_RETRY_AFTER]."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _backoff(exc: Exception) -> bool | float:
    """stamina's hook: retry throttling, 5xx and transport failures; wait ``Retry-After`` if given."""
    if isinstance(exc, _Throttled):
        return exc.retry_after if exc.retry_after is not None else True
    return isinstance(exc, httpx.TransportError)


# -- the response ----------------------------------------------------------------------------


class _Error(msgspec.Struct):
    description: str = ""
    field: str | None = None
    number: str | None = None


class _Basic(msgspec.Struct):
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    credential: str | None = None
    organization_name: str | None = None
    status: str | None = None
    last_updated: str | None = None


class _Taxonomy(msgspec.Struct):
    code: str | None = None
    desc: str | None = None
    license: str | None = None
    state: str | None = None
    primary: bool | None = None


class _Result(msgspec.Struct):
    number: str | int
    basic: _Basic
    enumeration_type: str | None = None
    taxonomies: list[_Taxonomy] = []


class _Answer(msgspec.Struct):
    result_count: int | None = None
    results: list[_Result] | None = None
    Errors: list[_Error] | None = None


_answer = msgspec.json.Decoder(_Answer)
_ENTITY_TYPES = {"NPI-1": "individual", "NPI-2": "organization"}


def _clean(value: str | None) -> str | None:
    """``"--"`` is the API's placeholder for an empty name part."""
    if value is None:
        return None
    value = value.strip()
    return value if value and value != "--" else None


def parse_answer(npi: str, body: bytes) -> NpiCheck:
    """What an HTTP 200 body says of ``npi``."""
    try:
        answer = _answer.decode(body)
    except msgspec.DecodeError as exc:
        return NpiCheck(npi, "error", {"source": "api"}, f"malformed NPPES answer: {exc}")
    if answer.Errors:
        said = "; ".join(f"{e.description} ({e.field}, #{e.number})" for e in answer.Errors)
        return NpiCheck(npi, "error", {"source": "api"}, f"NPPES answered with errors: {said}")
    results = answer.results or []
    if answer.result_count is None and answer.results is None:
        return NpiCheck(npi, "error", {"source": "api"}, "NPPES answer has neither results nor Errors")
    if not results:
        return NpiCheck(npi, "not_found", {"source": "api", "result_count": answer.result_count or 0})
    records = [r for r in results if str(r.number) == npi]
    if len(records) != 1:
        numbers = ", ".join(str(r.number) for r in results[:5])
        return NpiCheck(npi, "error", {"source": "api"}, f"NPPES answered with other records ({numbers})")
    record = records[0]
    basic = record.basic
    details = {
        "source": "api",
        "entity_type": _ENTITY_TYPES.get(record.enumeration_type or "", record.enumeration_type),
        "name": {
            "first": _clean(basic.first_name),
            "middle": _clean(basic.middle_name),
            "last": _clean(basic.last_name),
            "credential": _clean(basic.credential),
            "organization": _clean(basic.organization_name),
        },
        "taxonomies": [
            {
                "code": t.code,
                "desc": t.desc,
                "license": _clean(t.license),
                "state": _clean(t.state),
                "primary": t.primary,
            }
            for t in record.taxonomies
        ],
        "status": basic.status,
        "last_updated": basic.last_updated,
    }
    if basic.status == "A":
        return NpiCheck(npi, "verified", details)
    if basic.status:
        return NpiCheck(npi, "deactivated", details)
    return NpiCheck(npi, "error", details, "NPPES record has no status")


# -- the call --------------------------------------------------------------------------------


async def lookup(
    client: httpx.AsyncClient,
    npi: str,
    *,
    url: str = DEFAULT_URL,
    limiter: RateLimiter | None = None,
    request_timeout: httpx.Timeout = REQUEST_TIMEOUT,
) -> NpiCheck:
    """Ask the registry about one NPI; never raises for anything the network or NPPES does."""
    params = {"version": API_VERSION, "number": npi}
    try:
        async for attempt in stamina.retry_context(
            on=_backoff, attempts=ATTEMPTS, timeout=RETRY_BUDGET, wait_initial=1.0, wait_max=30.0
        ):
            with attempt:
                if limiter is not None:
                    await limiter.acquire()
                response = await client.get(url, params=params, timeout=request_timeout)
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Throttled(response.status_code, retry_after_seconds(response.headers.get("Retry-After")))
    except _Throttled as exc:
        return NpiCheck(npi, "error", {"source": "api"}, f"NPPES answered HTTP {exc.status} after retries")
    except httpx.TimeoutException:
        return NpiCheck(npi, "error", {"source": "api"}, "NPPES did not answer in time (after retries)")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return NpiCheck(npi, "error", {"source": "api"}, f"NPPES could not be reached: {exc.__class__.__name__}")
    if response.status_code != 200:
        return NpiCheck(npi, "error", {"source": "api"}, f"NPPES answered HTTP {response.status_code}")
    return parse_answer(npi, response.content)
