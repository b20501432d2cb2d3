"""A minimal HTTP/1.1 keep-alive load generator on asyncio streams, for the benches.

Roster's own outbound HTTP is httpx. As a load generator on this 2-core machine httpx costs more per
request than the server does: driving ``POST /api/v1/match`` over 200 connections it used a whole core
at about 400 req/s while the server sat at 30 % of one, so its own queueing was measured as the
server's latency. Here requests are encoded before the clock starts and responses are read by
``Content-Length`` (or chunked): tens of microseconds of client time per request.
"""

from __future__ import annotations

import asyncio
import json
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
