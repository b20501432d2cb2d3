"""Fetch a list file over HTTP: streamed to disk, hashed on the way, moved into place atomically.

A failed or partial download never leaves a file behind, so the last good snapshot stays in force.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import stamina

CHUNK = 1 << 20


class DownloadError(Exception):
    """The publisher could not be reached or refused the request; ``status`` is its HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InvalidUrl(DownloadError):
    """The URL itself is unusable; nothing was requested."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path
    sha256: str
    size: int


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


async def _write(chunks: AsyncIterator[bytes], tmp: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with tmp.open("wb") as out:
        async for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
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


async def save_stream(chunks: AsyncIterator[bytes], dest_dir: Path) -> Downloaded:
    """Write an uploaded stream into ``dest_dir``, hashing it; the caller removes the staged file."""
    tmp = _temp_in(dest_dir)
    try:
        sha256, size = await _write(chunks, tmp)
        return _publish(tmp, dest_dir, sha256, size)
    finally:
        tmp.unlink(missing_ok=True)


@stamina.retry(on=_retryable, attempts=3, timeout=120)
async def _stream_to(client: httpx.AsyncClient, url: str, tmp: Path) -> tuple[str, int]:
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        return await _write(response.aiter_bytes(CHUNK), tmp)


async def download(client: httpx.AsyncClient, url: str, dest_dir: Path) -> Downloaded:
    """Download ``url`` into ``dest_dir``; retries 429, 5xx and transport errors with backoff."""
    try:
        parsed = httpx.URL(url)
        parsed.host.encode("idna")
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise InvalidUrl(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidUrl("only http and https URLs with a host can be fetched")
    tmp = _temp_in(dest_dir)
    try:
        sha256, size = await _stream_to(client, url, tmp)
        return _publish(tmp, dest_dir, sha256, size)
    except httpx.HTTPStatusError as exc:
        raise DownloadError(f"{url} answered HTTP {exc.response.status_code}", status=exc.response.status_code) from exc
    except httpx.TimeoutException as exc:
        raise DownloadError(f"{url} timed out") from exc
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
        raise DownloadError(f"{url} could not be fetched: {exc.__class__.__name__}") from exc
    finally:
        tmp.unlink(missing_ok=True)
