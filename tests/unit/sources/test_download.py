"""List downloads: only allowed hosts at public addresses, on every redirect hop, within a size cap
and an overall deadline, and nothing left on disk when one is refused or fails.

No test resolves a real name or reaches a non-loopback address: names resolve through an injected
resolver, other hosts answer through ``httpx.MockTransport``, and ``tests.tripwire`` refuses (and
records) any connection that is not loopback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from roster.config import Settings
from roster.sources import egress
from roster.sources.download import CHUNK, DownloadError, InvalidUrl, TooLarge, download
from roster.sources.egress import HostAllowList, ListFetchPolicy, host_entry, is_public
from tests.tripwire import SECRET, Tripwire

FILE = b"HEADER\nrow\n"
PUBLIC = "93.184.216.34"


def policy(*hosts: str, max_bytes: int = 1 << 20, deadline: float = 30.0) -> ListFetchPolicy:
    return ListFetchPolicy(HostAllowList.of(hosts or ("publisher.test",)), max_bytes, deadline)


def left_behind(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.exists() else []


class Publisher:
    """``publisher.test`` as a test wants it: path -> response; counts what it was asked for."""

    def __init__(self, routes: dict[str, Callable[[httpx.Request], httpx.Response]]) -> None:
        self.routes = routes
        self.paths: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        answer = self.routes.get(request.url.path)
        return answer(request) if answer else httpx.Response(404, content=SECRET)


def redirect(location: str, status: int = 302) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, headers={"Location": location})


def ok(content: bytes = FILE) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, content=content)


# -- which addresses are public ----------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # AWS, GCP, Azure metadata
        "100.64.0.1",  # CGNAT
        "100.100.100.200",  # Alibaba metadata (CGNAT range)
        "192.0.0.192",  # Oracle Cloud metadata
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",  # a mapped address is never a publisher's
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fc00::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:5::1",  # 6to4 of 10.0.0.5
        "2001:db8::1",
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(ip_address(address))


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "2002:5db8:d822::1"])
def test_public_addresses_are(address: str) -> None:
    assert is_public(ip_address(address))


# -- the allow-list ----------------------------------------------------------------------------


def test_entries_are_exact_names_unless_they_say_wildcard() -> None:
    hosts = HostAllowList.of(["OIG.hhs.gov.", "*.sam.example", " "])
    assert hosts.entries == ("oig.hhs.gov", "*.sam.example")
    assert hosts.allows("oig.hhs.gov")
    assert not hosts.allows("www.oig.hhs.gov") and not hosts.allows("evil-oig.hhs.gov")
    assert hosts.allows("api.sam.example") and hosts.allows("a.b.sam.example")
    assert not hosts.allows("sam.example"), "a wildcard is for names under the domain, not the domain"
    assert not hosts.allows("evilsam.example")


@pytest.mark.parametrize("entry", ["https://oig.hhs.gov", "oig.hhs.gov/x", "oig.hhs.gov:443", "*", "a.*.gov", "u@h"])
def test_a_malformed_entry_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        host_entry(entry)


def test_the_configured_list_urls_hosts_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = replace(Settings(), list_url_hosts=("a.test",), sam_url="https://Mirror.Test./sam.zip")
    assert egress.allowed_hosts(settings).entries == ("a.test", "oig.hhs.gov", "mirror.test")
    monkeypatch.setenv("ROSTER_LIST_URL_HOSTS", "b.test, *.c.test")
    assert Settings.from_env().list_url_hosts == ("b.test", "*.c.test")
    monkeypatch.setenv("ROSTER_LIST_URL_HOSTS", "http://b.test/")
    with pytest.raises(ValueError, match="ROSTER_LIST_URL_HOSTS"):
        Settings.from_env()


# -- refused before anything is sent -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/secret",
        "http://localhost:{port}/secret",
        "http://2130706433:{port}/secret",  # 127.0.0.1 as one decimal number
        "http://0177.0.0.1:{port}/secret",  # octal
        "http://0x7f000001:{port}/secret",  # hex
        "http://[::1]:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://publisher.test@127.0.0.1:{port}/secret",
        "http://user:pw@publisher.test/UPDATED.csv",
        "ftp://publisher.test/UPDATED.csv",
        "file:///etc/passwd",
    ],
)
async def test_a_url_off_the_allow_list_is_refused_before_any_request(
    url: str, tmp_path: Path, tripwire: Tripwire, connections: list[str]
) -> None:
    settings = replace(Settings(), list_url_hosts=("publisher.test",), list_url_resolver=_no_dns)
    async with egress.http_client(settings) as client:
        with pytest.raises(InvalidUrl):
            await download(client, url.format(port=tripwire.port), tmp_path, policy())
    assert tripwire.connections == 0 and connections == []
    assert left_behind(tmp_path) == []


async def _no_dns(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"nothing should have been resolved, but {host} was")


# -- refused after resolution, where the connection is made -------------------------------------


def resolving_to(*addresses: str) -> tuple[egress.Resolver, list[str]]:
    asked: list[str] = []

    async def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return list(addresses)

    return resolve, asked


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["fd00:ec2::254"],
        ["100.64.0.1"],
        [PUBLIC, "127.0.0.1"],  # one internal answer spoils the name
        ["fe80::1%eth0"],
        ["not-an-address"],
    ],
)
async def test_an_allowed_host_resolving_to_an_internal_address_is_never_connected_to(
    addresses: list[str], tmp_path: Path, tripwire: Tripwire, connections: list[str]
) -> None:
    resolve, asked = resolving_to(*addresses)
    settings = replace(Settings(), list_url_hosts=("allowed.test",), list_url_resolver=resolve)
    async with egress.http_client(settings) as client:
        with pytest.raises(InvalidUrl, match=r"internal address|not an IP address"):
            await download(client, f"http://allowed.test:{tripwire.port}/secret", tmp_path, policy("allowed.test"))
    assert asked == ["allowed.test"], "refused once, not retried"
    assert tripwire.connections == 0 and connections == []
    assert left_behind(tmp_path) == []


async def test_the_connection_goes_to_the_vetted_address_and_tls_to_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pinned: the socket is opened to the address just vetted (the name is not resolved again by
    anyone else), and TLS still names the host for SNI and the certificate check."""
    opened: list[tuple[str, int]] = []
    tls: list[str | None] = []

    class Stream(httpcore.AsyncNetworkStream):
        async def start_tls(
            self,
            ssl_context: Any,
            server_hostname: str | None = None,
            timeout: Any = None,  # noqa: ASYNC109
        ) -> Any:
            tls.append(server_hostname)
            raise httpcore.ConnectError("the test stops at the handshake")

        async def aclose(self) -> None:
            pass

    async def connect_tcp(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Stream:
        opened.append((host, port))
        return Stream()

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    resolve, asked = resolving_to(PUBLIC)
    settings = replace(Settings(), list_url_hosts=("publisher.test",), list_url_resolver=resolve)
    async with egress.http_client(settings) as client:
        with pytest.raises(DownloadError, match="could not be fetched"):
            await download(client, "https://Publisher.Test./UPDATED.csv", tmp_path, policy())
    assert opened == [(PUBLIC, 443)] * 3 and tls == ["publisher.test"] * 3, "connect errors are retried"
    assert asked == ["publisher.test"] * 3, "resolved once per connection, by the vetting transport"
    assert left_behind(tmp_path) == []


async def test_other_hosts_do_not_go_through_the_vetting_transport() -> None:
    """Webhooks and the NPPES API may be internal; only list hosts are vetted."""
    settings = replace(Settings(), list_url_hosts=("publisher.test", "*.lists.test"))
    async with egress.http_client(settings) as client:
        vetting = client._transport_for_url(httpx.URL("https://publisher.test/x"))
        assert isinstance(vetting, egress.VettingTransport)
        assert client._transport_for_url(httpx.URL("http://publisher.test:8080/x")) is vetting
        assert client._transport_for_url(httpx.URL("https://a.lists.test/x")) is vetting
        assert client._transport_for_url(httpx.URL("https://oig.hhs.gov/x")) is vetting, "the configured LEIE URL"
        assert not isinstance(client._transport_for_url(httpx.URL("https://hooks.plan.test/")), egress.VettingTransport)


# -- redirects ---------------------------------------------------------------------------------


async def test_redirects_are_followed_between_allowed_hosts(tmp_path: Path) -> None:
    publisher = Publisher({"/a": redirect("/b", 301), "/b": redirect("https://publisher.test/UPDATED.csv", 307)})
    publisher.routes["/UPDATED.csv"] = ok()
    async with httpx.AsyncClient(transport=httpx.MockTransport(publisher)) as client:
        staged = await download(client, "https://publisher.test/a", tmp_path, policy())
    assert staged.path.read_bytes() == FILE and publisher.paths == ["/a", "/b", "/UPDATED.csv"]


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/secret",
        "http://localhost:{port}/secret",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://2130706433:{port}/",
        "https://elsewhere.test/UPDATED.csv",
        "http://publisher.test/UPDATED.csv",  # https -> http
        "gopher://publisher.test/",
    ],
)
async def test_a_redirect_off_the_allow_list_is_refused_before_it_is_followed(
    location: str, tmp_path: Path, tripwire: Tripwire, connections: list[str]
) -> None:
    publisher = Publisher({"/moved": redirect(location.format(port=tripwire.port)), "/UPDATED.csv": ok()})
    async with httpx.AsyncClient(transport=httpx.MockTransport(publisher)) as client:
        with pytest.raises(InvalidUrl) as refused:
            await download(client, "https://publisher.test/moved", tmp_path, policy())
    assert "127.0.0.1" not in str(refused.value) and "169.254" not in str(refused.value), "the target is not quoted"
    assert publisher.paths == ["/moved"] and tripwire.connections == 0 and connections == []
    assert left_behind(tmp_path) == []


async def test_a_redirect_to_an_allowed_name_that_resolves_inside_is_refused_at_connect(
    tmp_path: Path, tripwire: Tripwire, connections: list[str]
) -> None:
    publisher = Publisher({"/moved": redirect(f"http://allowed.test:{tripwire.port}/secret")})
    resolve, asked = resolving_to("127.0.0.1")
    mounts = {
        "all://publisher.test": httpx.MockTransport(publisher),
        "all://allowed.test": egress.VettingTransport(resolve),
    }
    async with httpx.AsyncClient(mounts=mounts) as client:
        with pytest.raises(InvalidUrl, match="internal address"):
            await download(client, "http://publisher.test/moved", tmp_path, policy("publisher.test", "allowed.test"))
    assert asked == ["allowed.test"] and tripwire.connections == 0 and connections == []
    assert left_behind(tmp_path) == []


async def test_a_redirect_loop_stops(tmp_path: Path) -> None:
    publisher = Publisher({"/loop": redirect("/loop")})
    async with httpx.AsyncClient(transport=httpx.MockTransport(publisher)) as client:
        with pytest.raises(InvalidUrl, match="redirects more than 5 times"):
            await download(client, "https://publisher.test/loop", tmp_path, policy())
    assert len(publisher.paths) == 6 and left_behind(tmp_path) == []


# -- what comes back, and how much -------------------------------------------------------------


async def test_an_error_status_is_reported_by_number_only(tmp_path: Path) -> None:
    publisher = Publisher({})
    async with httpx.AsyncClient(transport=httpx.MockTransport(publisher)) as client:
        with pytest.raises(DownloadError) as failed:
            await download(client, "https://publisher.test/nothing", tmp_path, policy())
    assert failed.value.status == 404 and "HTTP 404" in str(failed.value) and "SECRET" not in str(failed.value)


async def test_an_announced_length_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    read = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        read = True
        yield b"x"

    def big(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(10_000)}, content=body())

    publisher = Publisher({"/big.csv": big})
    async with httpx.AsyncClient(transport=httpx.MockTransport(publisher)) as client:
        with pytest.raises(TooLarge) as refused:
            await download(client, "https://publisher.test/big.csv", tmp_path, policy(max_bytes=1000))
    assert refused.value.limit == 1000 and not read and left_behind(tmp_path) == []


async def test_a_stream_growing_over_the_limit_is_cut_off_and_removed(tmp_path: Path) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while True:
            sent += 4096
            yield b"x" * 4096

    publisher = Publisher({"/big.csv": lambda request: httpx.Response(200, content=endless())})
    async with httpx.AsyncClient(transport=httpx.MockTransport(publisher)) as client:
        with pytest.raises(TooLarge):
            await download(client, "https://publisher.test/big.csv", tmp_path, policy(max_bytes=10_000))
    assert sent <= 10_000 + CHUNK + 4096, "read at most one chunk past the limit"
    assert len(publisher.paths) == 1, "not retried"
    assert left_behind(tmp_path) == []


async def test_a_dripping_server_is_given_up_on_at_the_deadline(tmp_path: Path) -> None:
    async def drip() -> AsyncIterator[bytes]:
        while True:
            yield b"x"
            await asyncio.sleep(0.05)  # each read is quick: only the overall deadline stops this

    publisher = Publisher({"/slow.csv": lambda request: httpx.Response(200, content=drip())})
    started = time.monotonic()
    async with httpx.AsyncClient(transport=httpx.MockTransport(publisher)) as client:
        with pytest.raises(DownloadError, match=r"did not finish downloading within 0\.5 s"):
            await download(client, "https://publisher.test/slow.csv", tmp_path, policy(deadline=0.5))
    assert time.monotonic() - started < 3
    assert left_behind(tmp_path) == []


async def test_a_good_file_is_staged_with_its_hash(tmp_path: Path) -> None:
    publisher = Publisher({"/UPDATED.csv": ok()})
    async with httpx.AsyncClient(transport=httpx.MockTransport(publisher)) as client:
        staged = await download(client, "https://publisher.test/UPDATED.csv", tmp_path, policy())
    assert staged.size == len(FILE) and staged.path.read_bytes() == FILE
    assert left_behind(tmp_path) == [staged.path]
