"""A 200 MB upload leaves the server's peak memory where it was: refused over the limit as it streams, and
refused by its header when under the limit (a junk file is never loaded whole).

Measured on a real ``roster serve`` process (its ``VmHWM``, the peak resident set), over loopback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from roster.config import PROJECT_ROOT

MB = 1024 * 1024
UPLOAD = 200 * MB
#: Peak memory may rise this much for a refused 200 MB upload (buffers, a thread's stack, allocator slack).
ALLOWED_GROWTH = 40 * MB
BOUNDARY = "roster-memory-boundary"

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc (Linux)")


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, process: subprocess.Popen[bytes], base_url: str, key: str) -> None:
        self.process, self.base_url, self.key = process, base_url, key


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("upload-memory")
    env = {
        **os.environ,
        "ROSTER_DATABASE_URL": f"sqlite:///{tmp / 'roster.db'}",
        "ROSTER_DATA_DIR": str(tmp / "data"),
        "ROSTER_MAX_LIST_FILE_MB": "16",
        "ROSTER_MAX_ROSTER_FILE_MB": "16",
    }
    roster = [sys.executable, "-m", "roster"]
    subprocess.run([*roster, "migrate"], env=env, check=True, capture_output=True, cwd=tmp)
    created = subprocess.run(
        [*roster, "keys", "create", "--name", "memory", "--role", "credentialing"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen(
        [*roster, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {(tmp / 'server.log').read_text()}")
            time.sleep(0.2)
        yield Server(process, base_url, key)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def body(payload_size: int, first: bytes = b"") -> Iterator[bytes]:
    """A multipart body with a ``payload_size``-byte file, made a megabyte at a time (never whole)."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="UPDATED.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + first
    block = b"JUNK," * (MB // 5) + b"\n" * (MB - 5 * (MB // 5))
    left = payload_size - len(first)
    while left > 0:
        yield block[: min(MB, left)]
        left -= MB
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def send(server: Server, url: str, chunks: Iterator[bytes], length: int | None = None) -> httpx.Response | None:
    headers = {"Authorization": f"Bearer {server.key}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if length is not None:
        headers["Content-Length"] = str(length)
    try:
        return httpx.post(f"{server.base_url}{url}", content=chunks, headers=headers, timeout=120)
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None  # the server answered and closed while the client was still sending: refused early


def warm_up(server: Server) -> None:
    sample = (PROJECT_ROOT / "fixtures" / "lists" / "UPDATED.csv").read_bytes()
    response = send(server, "/api/v1/screening/oig_leie/snapshots", iter(list(body(len(sample), sample))))
    assert response is not None and response.status_code in (200, 201), response and response.text


@pytest.mark.parametrize(
    "url", ["/api/v1/screening/oig_leie/snapshots", "/api/v1/imports/roster"], ids=["list file", "roster import"]
)
def test_a_200_mb_upload_over_the_limit_leaves_peak_memory_flat(server: Server, url: str) -> None:
    warm_up(server)
    before = peak_rss(server.process.pid)
    response = send(server, url, body(UPLOAD))
    if response is not None:
        assert response.status_code == 413, response.text
        assert response.json()["errors"][0]["field"] == "file"
    grown = peak_rss(server.process.pid) - before
    assert grown < ALLOWED_GROWTH, f"peak RSS grew {grown / MB:.0f} MB for a refused upload"
    assert httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200


def test_a_200_mb_upload_announced_over_the_limit_is_refused_before_it_is_read(server: Server) -> None:
    warm_up(server)
    before = peak_rss(server.process.pid)
    started = time.monotonic()
    chunks = list(body(0))
    length = sum(len(c) for c in chunks) + UPLOAD
    response = send(server, "/api/v1/screening/oig_leie/snapshots", body(UPLOAD), length)
    if response is not None:
        assert response.status_code == 413, response.text
    assert peak_rss(server.process.pid) - before < ALLOWED_GROWTH
    assert time.monotonic() - started < 60


def test_a_junk_file_under_the_limit_is_refused_by_its_header_not_loaded(server: Server) -> None:
    warm_up(server)
    before = peak_rss(server.process.pid)
    response = send(server, "/api/v1/screening/oig_leie/snapshots", body(15 * MB))
    assert response is not None and response.status_code == 422, response and response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert "header" in response.json()["detail"]
    assert peak_rss(server.process.pid) - before < ALLOWED_GROWTH / 4
