"""Tripwires for tests of the list-download guard: a local server that must never be contacted, and
a record of every TCP connection httpcore tries, which refuses any that is not loopback.

The guard's tests point URLs and fake DNS answers at internal addresses; if the guard failed, the
connection record stops the attempt before a packet leaves the machine and fails the test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from typing import Any

import httpcore
import pytest

#: What the tripwire server answers: shaped like a list file's header, so an error quoting it shows.
SECRET = b"SECRET-INTERNAL-PAGE,found x\n"


class Tripwire(ThreadingHTTPServer):
    """Counts every connection it accepts and answers each request with ``SECRET``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(SECRET)))
        self.end_headers()
        self.wfile.write(SECRET)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving_tripwire() -> Iterator[Tripwire]:
    server = Tripwire()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def record_connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host httpcore tries to open a TCP connection to from now on; a non-loopback one is
    refused before a socket is made."""
    attempts: list[str] = []
    original = httpcore.AnyIOBackend.connect_tcp

    async def guarded(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        attempts.append(host)
        try:
            loopback = ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise httpcore.ConnectError(f"tripwire: a test tried to connect to {host}")
        return await original(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", guarded)
    return attempts
