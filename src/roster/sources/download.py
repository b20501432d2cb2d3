"""Fetch a list file over HTTP: streamed to disk, hashed on the way, moved into place atomically.

A failed, refused or partial download never leaves a file behind, so the last good snapshot stays
in force. Every download follows ``ListFetchPolicy`` (``egress``): allowed hosts only, checked on
each redirect hop, a size cap and an overall deadline. The client must come from
``egress.http_client`` in production, whose transport vets the address of every connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import stamina

from roster.sources.egress import ListFetchPolicy, RefusedDestination, canonical_host

log = logging.getLogger(__name__)

CHUNK = 1 << 20


class DownloadError(Exception):
    """The publisher could not be reached or refused the request; ``status`` is its HTTP status, if any.

    Messages name the URL the caller gave and at most an HTTP status, never what the server sent."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InvalidUrl(DownloadError):
    """The URL itself is unusable or not allowed; nothing was requested from it."""


class TooLarge(DownloadError):
    """The file is over ``limit`` bytes; what was read of it is gone."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path
    sha256: str
    size: int


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


async def _write(chunks: AsyncIterator[bytes], tmp: Path, limit: int | None = None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with tmp.open("wb") as out:
        async for chunk in chunks:
            size += len(chunk)
            if limit is not None and size > limit:
                raise TooLarge(f"the file is larger than the limit of {limit} bytes", limit=limit)
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _temp_in(dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest_dir, suffix=".part")
    os.close(fd)
    return Path(name)


def _publish(tmp: Path, dest_dir: Path, sha256: str, size: int) -> Downloaded:
    final = dest_dir / f"{sha256}.{uuid.uuid4().hex[:8]}.staged"
    os.replace(tmp, final)
    return Downloaded(path=final, sha256=sha256, size=size)


async def save_stream(chunks: AsyncIterator[bytes], dest_dir: Path, *, limit: int | None = None) -> Downloaded:
    """Write an uploaded stream into ``dest_dir``, hashing it; the caller removes the staged file."""
    tmp = _temp_in(dest_dir)
    try:
        sha256, size = await _write(chunks, tmp, limit)
        return _publish(tmp, dest_dir, sha256, size)
    finally:
        tmp.unlink(missing_ok=True)


def _allowed(url: httpx.URL, policy: ListFetchPolicy, *, redirected: bool) -> httpx.URL:
    """``url`` with its host spelled as the allow-list spells it (so the client routes it through the
    vetting transport), or InvalidUrl. A redirect's target is not quoted: the server chose it."""
    what = "the URL redirects to one that" if redirected else "the URL"
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise InvalidUrl(f"{what} is not http or https with a host")
    if url.userinfo:
        raise InvalidUrl(f"{what} carries a user name or password")
    host = canonical_host(url)
    if not policy.hosts.allows(host):
        if redirected:
            log.warning("list download refused: a redirect to %s, which is not on the allow-list", host)
        raise InvalidUrl(f"{what} is not on a host list files may be downloaded from (ROSTER_LIST_URL_HOSTS)")
    return url.copy_with(host=host)


@stamina.retry(on=_retryable, attempts=3, timeout=120)
async def _fetch(client: httpx.AsyncClient, url: httpx.URL, tmp: Path, policy: ListFetchPolicy) -> tuple[str, int]:
    """Follow redirects by hand, vetting each target before it is requested."""
    for _ in range(policy.max_redirects + 1):
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.is_redirect:
                try:
                    target = url.join(response.headers["location"])
                except (httpx.InvalidURL, UnicodeError, ValueError):
                    raise InvalidUrl("the URL redirects to an invalid address") from None
                if url.scheme == "https" and target.scheme == "http":
                    raise InvalidUrl("the URL redirects from https to plain http")
                url = _allowed(target, policy, redirected=True)
                continue
            response.raise_for_status()
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > policy.max_bytes:
                raise TooLarge(f"the file is larger than the limit of {policy.max_bytes} bytes", limit=policy.max_bytes)
            return await _write(response.aiter_bytes(CHUNK), tmp, policy.max_bytes)
    raise InvalidUrl(f"the URL redirects more than {policy.max_redirects} times")


async def download(client: httpx.AsyncClient, url: str, dest_dir: Path, policy: ListFetchPolicy) -> Downloaded:
    """Download ``url`` into ``dest_dir``; retries 429, 5xx and transport errors with backoff, all
    within ``policy.deadline_seconds``."""
    try:
        parsed = httpx.URL(url)
        parsed.host.encode("idna")
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise InvalidUrl(f"not a valid URL: {exc}") from None
    first = _allowed(parsed, policy, redirected=False)
    tmp = _temp_in(dest_dir)
    try:
        async with asyncio.timeout(policy.deadline_seconds):
            sha256, size = await _fetch(client, first, tmp, policy)
        return _publish(tmp, dest_dir, sha256, size)
    except RefusedDestination as exc:
        raise InvalidUrl(str(exc)) from None
    except TimeoutError:
        raise DownloadError(f"{url} did not finish downloading within {policy.deadline_seconds:g} s") from None
    except httpx.HTTPStatusError as exc:
        raise DownloadError(f"{url} answered HTTP {exc.response.status_code}", status=exc.response.status_code) from exc
    except httpx.TimeoutException as exc:
        raise DownloadError(f"{url} timed out") from exc
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
        raise DownloadError(f"{url} could not be fetched: {exc.__class__.__name__}") from exc
    finally:
        tmp.unlink(missing_ok=True)
