"""A minimal HTTP/1.1 keep-alive load generator on asyncio streams, and the closed and open loops the
benches drive with it.

Roster's own outbound HTTP is httpx. As a load generator on this 2-core machine httpx costs more per
request than the server does: driving ``POST /api/v1/match`` over 200 connections it used a whole core
at about 400 req/s while the server sat at 30 % of one, so its own queueing was measured as the
server's latency. Here requests are encoded before the clock starts and responses are read by
``Content-Length`` (or chunked): tens of microseconds of client time per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def encode(method: str, path: str, *, host: str, headers: dict[str, str], body: Any = None) -> bytes:
    """One request, ready to send: JSON body if given, keep-alive."""
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Pool:
    """Up to ``size`` keep-alive connections to one server, opened as needed and reused."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self._opened = 0

    async def _acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._idle.empty() and self._opened < self.size:
            self._opened += 1
            try:
                return await asyncio.open_connection(self.host, self.port)
            except BaseException:
                self._opened -= 1
                raise
        return await self._idle.get()

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send ``raw`` and read the whole response: (status, body)."""
        reader, writer = await self._acquire()
        try:
            writer.write(raw)
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionError("server closed the connection")
            status = int(status_line.split(b" ", 2)[1])
            length, chunked, close = 0, False, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    close = b"close" in value.lower()
            body = await _chunks(reader) if chunked else await reader.readexactly(length)
        except BaseException:
            self._opened -= 1
            writer.close()
            raise
        if close:
            self._opened -= 1
            writer.close()
        else:
            self._idle.put_nowait((reader, writer))
        return status, body

    async def close(self) -> None:
        while not self._idle.empty():
            _, writer = self._idle.get_nowait()
            writer.close()
            await writer.wait_closed()
        self._opened = 0


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readline()).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readline()
    await reader.readline()
    return b"".join(parts)


# ------------------------------------------------------------------------------------------ the loops


@dataclasses.dataclass
class Result:
    endpoint: str
    latencies: list[float]
    errors: Counter
    elapsed: float
    capped: bool

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        """Nearest-rank percentile of successful requests, in ms."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, -(-len(ordered) * p // 100))  # ceil
        return ordered[int(rank) - 1] * 1000


@contextmanager
def collector_paused() -> Iterator[None]:
    """The client's own garbage-collector pauses would count as server latency (an open loop holds tens
    of thousands of pending requests): off while measuring."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _send(pool: Pool, raw: bytes, since: float, latencies: list[float], errors: Counter) -> None:
    try:
        status, body = await pool.request(raw)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
        return
    if status == 200:
        latencies.append(time.perf_counter() - since)
    else:
        errors[f"HTTP {status}: {body[:100]!r}"] += 1


async def closed_loop(pool: Pool, endpoint: str, requests: list[bytes], concurrency: int, cap: float) -> Result:
    """``concurrency`` requests always in flight until ``requests`` are all sent (or ``cap`` seconds):
    throughput at saturation. By Little's law its latency is at least ``concurrency / throughput``."""
    latencies: list[float] = []
    errors: Counter = Counter()
    pending = iter(requests)
    start = time.perf_counter()
    deadline = start + cap
    capped = False

    async def worker() -> None:
        nonlocal capped
        for raw in pending:
            if time.perf_counter() >= deadline:
                capped = True
                return
            await _send(pool, raw, time.perf_counter(), latencies, errors)

    with collector_paused():
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(endpoint, latencies, errors, time.perf_counter() - start, capped)


async def open_loop(pool: Pool, endpoint: str, requests: list[bytes], rate: float, seed: int = 7) -> Result:
    """Requests arrive at ``rate`` per second (Poisson) whether or not earlier ones finished, over the
    pool's connections: the latency a client sees at a given traffic. It runs from each request's
    scheduled time, so time queued for a connection counts (no coordinated omission).

    One coroutine sleeps until each arrival and starts that request then. (A task per request made up
    front, each sleeping until its time, woke them all at once when the schedule began: tens of
    thousands of first steps, 150 ms of the client's time, counted as the server's latency.)"""
    rng = random.Random(seed)
    latencies: list[float] = []
    errors: Counter = Counter()
    offsets = list(itertools.accumulate(rng.expovariate(rate) for _ in requests))
    tasks = []
    with collector_paused():
        start = time.perf_counter()
        for offset, raw in zip(offsets, requests, strict=True):
            at = start + offset
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(pool, raw, at, latencies, errors)))
        await asyncio.gather(*tasks)
    return Result(endpoint, latencies, errors, time.perf_counter() - start, False)


def table(results: list[Result]) -> None:
    """Requests, errors, req/s and latency percentiles per endpoint, then the commonest errors."""
    print(f"{'endpoint':<30} {'requests':>9} {'errors':>7} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for r in results:
        note = "  (time cap hit)" if r.capped else ""
        print(
            f"{r.endpoint:<30} {r.requests:>9} {sum(r.errors.values()):>7} {r.rps:>9.1f} "
            f"{r.pct(50):>8.2f} {r.pct(90):>8.2f} {r.pct(99):>8.2f}{note}"
        )
    for r in results:
        for message, count in r.errors.most_common(10):
            print(f"  error on {r.endpoint}: {count} x {message}")
