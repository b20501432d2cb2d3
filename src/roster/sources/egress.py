"""Where list downloads may go: the publishers' hosts, at public addresses only.

The server fetches URLs that API callers post, so without a guard any key holder could make it read
internal services and cloud metadata (server-side request forgery). A list download may reach a
host only when the host is on the allow-list (``ROSTER_LIST_URL_HOSTS`` plus the hosts of the
configured ``ROSTER_*_URL`` lists) and every address the host resolves to is public. The allow-list
is checked on every redirect hop (``download``); the address is checked where the socket is opened,
on the very address connected to, so a name that re-resolves to an internal address between a
check and the connection (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import TYPE_CHECKING

import anyio
import httpcore
import httpx

if TYPE_CHECKING:
    from roster.config import Settings

log = logging.getLogger(__name__)

#: ``async (host, port) -> addresses``: name resolution for list downloads (tests inject one).
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

#: Not public, though Python 3.11's ``is_global`` says otherwise (IETF protocol assignments, Oracle
#: Cloud's metadata at 192.0.0.192) or ``is_private`` does not cover them (CGNAT, benchmarking).
_ALSO_INTERNAL = tuple(ip_network(n) for n in ("192.0.0.0/24", "100.64.0.0/10", "198.18.0.0/15"))


class RefusedDestination(Exception):
    """A list download was about to reach a host or address it may not; nothing was sent there."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: IPv4Address | IPv6Address) -> bool:
    """A globally routable unicast address: not loopback, private, link-local (cloud metadata),
    unique-local, CGNAT, multicast, reserved or unspecified, nor an IPv6 form of one of those."""
    if isinstance(address, IPv6Address):
        if address.sixtofour is not None and not is_public(address.sixtofour):
            return False
        if address.is_site_local:
            return False
    internal = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or any(address in net for net in _ALSO_INTERNAL if net.version == address.version)
    )
    return address.is_global and not internal


async def vetted_addresses(host: str, port: int, resolve: Resolver) -> list[IPv4Address | IPv6Address]:
    """Every address ``host`` resolves to, or RefusedDestination when any of them is not public
    (a name that resolves to internal and public addresses alike is not a publisher's)."""
    try:
        addresses = [ip_address(host)]
    except ValueError:
        try:
            addresses = [ip_address(a.split("%", 1)[0]) for a in await resolve(host, port)]
        except ValueError:
            raise RefusedDestination("the host resolves to something that is not an IP address") from None
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    if internal := [a for a in addresses if not is_public(a)]:
        log.warning("list download refused: %s resolves to non-public %s", host, ", ".join(map(str, internal)))
        raise RefusedDestination("the host resolves to an internal address, which list downloads may not reach")
    return addresses


class _VettingBackend(httpcore.AsyncNetworkBackend):
    """Resolves, vets and connects to the vetted address itself; TLS still verifies the host name
    (httpcore passes the URL's host as SNI and for the certificate check)."""

    def __init__(self, resolve: Resolver) -> None:
        self._resolve = resolve
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await vetted_addresses(host, port, self._resolve)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} could not be resolved: {exc}") from None
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedDestination("list downloads do not use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class VettingTransport(httpx.AsyncBaseTransport):
    """httpx's own transport over the vetting backend, built at the first list download (an SSL
    context costs a tenth of a second). Direct connections only: a proxy would resolve the name
    itself, out of reach of the check."""

    def __init__(self, resolve: Resolver) -> None:
        self._resolve = resolve
        self._transport: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            ssl_context = httpx.create_ssl_context()
            transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
            # httpx takes no network backend, so its pool is replaced by the same pool built with one;
            # the tests connecting to a local tripwire server fail if this ever stops taking effect.
            transport._pool = httpcore.AsyncConnectionPool(
                ssl_context=ssl_context, keepalive_expiry=5.0, network_backend=_VettingBackend(self._resolve)
            )
            self._transport = transport
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()


def host_entry(entry: str) -> str:
    """An allow-list entry as URLs spell the host (lower case, IDNA, no trailing dot), keeping a
    leading ``*.``; ValueError when it is not a bare host name."""
    raw = entry.strip().lower()
    wildcard = raw.startswith("*.")
    name = raw.removeprefix("*.")
    try:
        url = httpx.URL(f"http://{name}/")
    except httpx.InvalidURL:
        url = None
    if url is None or not url.raw_host or url.port is not None or url.userinfo or url.raw_path != b"/" or "*" in name:
        raise ValueError(f"{entry!r} is not a host name (e.g. oig.hhs.gov, or *.example.gov for any name under it)")
    host = url.raw_host.decode("ascii").rstrip(".")
    return f"*.{host}" if wildcard else host


def canonical_host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii").lower().rstrip(".")


@dataclass(frozen=True, slots=True)
class HostAllowList:
    """Exact host names, and ``*.example.gov`` entries matching any name under example.gov (not
    example.gov itself). Exact is the default because a wildcard also admits every name a
    publisher's DNS zone may ever delegate."""

    entries: tuple[str, ...]

    @classmethod
    def of(cls, entries: Iterable[str]) -> HostAllowList:
        return cls(tuple(dict.fromkeys(host_entry(e) for e in entries if e.strip())))

    def allows(self, host: str) -> bool:
        for entry in self.entries:
            if entry.startswith("*."):
                if host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                    return True
            elif host == entry:
                return True
        return False

    def mount_patterns(self) -> list[str]:
        """httpx mount patterns routing exactly these hosts (any scheme and port) to a transport."""
        return [f"all://[{e}]" if ":" in e else f"all://{e}" for e in self.entries]


def allowed_hosts(settings: Settings) -> HostAllowList:
    """``list_url_hosts`` and the hosts of the configured list URLs: an operator who configured
    a URL meant its host (its addresses are still vetted)."""
    configured = [settings.leie_url, settings.sam_url, settings.preclusion_url]
    return HostAllowList.of([*settings.list_url_hosts, *(canonical_host(httpx.URL(u)) for u in configured if u)])


@dataclass(frozen=True, slots=True)
class ListFetchPolicy:
    """What one list download may do: where it may go, how much it may read, for how long."""

    hosts: HostAllowList
    max_bytes: int
    deadline_seconds: float
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> ListFetchPolicy:
        return cls(allowed_hosts(settings), settings.max_list_file_bytes, settings.list_download_seconds)


def http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The process's outbound HTTP client. Requests to allowed list hosts go through the vetting
    transport (the allow-list is what routes them there, and ``download`` refuses every other host);
    the rest (NPPES API, webhooks) go out as before. ``transport`` replaces the network (tests)."""
    timeout = httpx.Timeout(settings.download_timeout, connect=10.0)
    mounts: dict[str, httpx.AsyncBaseTransport | None] | None = None
    if transport is None:
        vetting = VettingTransport(settings.list_url_resolver or system_resolver)
        mounts = dict.fromkeys(allowed_hosts(settings).mount_patterns(), vetting)
    return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=True, mounts=mounts)
