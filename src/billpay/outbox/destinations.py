"""Where a client's webhooks may go: https to public addresses only (no SSRF into our network).

Checked when the URL is registered (its shape, and what its name resolves to now) and again at
every new connection: the name is resolved by ``PublicResolver``, every address it resolves to
must be public, and aiohttp connects only to the addresses it handed out — a DNS answer that
changes between the check and the connect (rebinding) is never used. An IP-literal host never
reaches a resolver, so it is checked before sending. Redirects are never followed and no proxy
is taken from the environment. ``BILLPAY_ALLOW_PRIVATE_WEBHOOK_URLS`` turns the checks off for
development, where receivers run on loopback over plain http.

Connections are kept alive, pooled by the URL's host name (and port and scheme), so a pooled
connection only ever carries requests for the name it was checked and opened for; it stays
connected to the address checked then, whatever that name resolves to later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from billpay.errors import UnsafeWebhookUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

RESOLVE_TIMEOUT_SECONDS = 5.0
FIELD = "webhook_url"

# IPv6 ranges that carry an IPv4 address inside (NAT64, 6to4): they could reach a private
# IPv4 host, and Python's ``is_global`` treats them as global.
_EMBEDS_IPV4 = tuple(
    ipaddress.ip_network(net) for net in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16")
)
# Names that mean "this machine" or the local network whatever DNS says.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


# A pooled connection idle this long is closed: under the 5 s that common servers (Node's
# default among them) keep one, so a webhook is rarely written into one being closed.
IDLE_CONNECTION_SECONDS = 4.0
# An answer's body is read (and dropped) up to here so its connection can be reused; a longer
# one's connection is closed instead. No receiver's answer is kept or parsed.
DRAIN_LIMIT_BYTES = 64 * 1024


class UnsafeDestination(aiohttp.ClientConnectionError):
    """The destination is not a public https address: the request never left."""


def is_public_address(address: IPAddress) -> bool:
    """A globally routable unicast address: not loopback, private, link-local (the cloud
    metadata service at 169.254.169.254), CGNAT, multicast, reserved or unspecified —
    and for IPv6 the same of the IPv4 address it maps or embeds."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if any(address in network for network in _EMBEDS_IPV4):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def host_problem(host: str) -> str | None:
    """Why ``host`` (a name or an IP literal) may not receive webhooks, without resolving it."""
    name = host.rstrip(".").lower()
    if not name:
        return "has no host"
    address = _literal(name)
    if address is not None:
        return None if is_public_address(address) else f"{address} is not a public address"
    if name == "localhost" or name.endswith(_LOCAL_SUFFIXES):
        return f"{name} is a local name"
    if "." not in name:
        return f"{name} is not a fully qualified domain name"
    return None


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to now (the system resolver, off the event loop)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])  # drop an IPv6 zone
        if address not in addresses:
            addresses.append(address)
    return addresses


def _non_public(addresses: list[IPAddress]) -> IPAddress | None:
    return next((address for address in addresses if not is_public_address(address)), None)


async def check_webhook_url(
    url: str, *, allow_private: bool, resolve: Resolver = resolve_host
) -> None:
    """Refuse (422 naming ``webhook_url``) a URL webhooks may not be sent to.

    A name that does not resolve right now is accepted: DNS may be catching up with a new
    endpoint, and every connection is checked again anyway.
    """
    parts = urlsplit(url)
    if allow_private:
        return
    if parts.scheme != "https":
        raise _unsafe("must be an https:// URL")
    host = parts.hostname or ""
    problem = host_problem(host)
    if problem is not None:
        raise _unsafe(problem)
    if _literal(host) is not None:
        return
    try:
        addresses = await resolve(host, parts.port or 443)
    except (OSError, TimeoutError, ValueError):
        return
    blocked = _non_public(addresses)
    if blocked is not None:
        raise _unsafe(f"{host} resolves to {blocked}, which is not a public address")


def _unsafe(problem: str) -> UnsafeWebhookUrl:
    return UnsafeWebhookUrl(
        f"{FIELD}: {problem}; webhooks go to public https endpoints only",
        details={"field": FIELD},
    )


async def checked_addresses(
    host: str, port: int, resolve: Resolver = resolve_host
) -> list[IPAddress]:
    """The addresses a connection to ``host`` may go to: resolved now, every answer public.

    A name that does not resolve is an ``OSError`` (aiohttp reports it as a connection error,
    as it would its own resolver's); a non-public answer is ``UnsafeDestination``.
    """
    problem = host_problem(host)
    if problem is not None:
        raise UnsafeDestination(problem)
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        addresses = await resolve(host, port)
    except (OSError, TimeoutError, ValueError) as exc:
        raise OSError(f"could not resolve {host}: {exc}") from exc
    if not addresses:
        raise OSError(f"{host} has no address")
    blocked = _non_public(addresses)
    if blocked is not None:
        raise UnsafeDestination(f"{host} resolves to {blocked}, not a public address")
    return addresses


class PublicResolver(AbstractResolver):
    """aiohttp's resolver for webhooks: hands out a name's addresses only when all are public.

    aiohttp connects to nothing but what its resolver answered (and caches the answer for
    ``ttl_dns_cache``), so the connection goes to an address that was checked.
    """

    def __init__(self, resolve: Resolver = resolve_host) -> None:
        self._resolve = resolve

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in await checked_addresses(host, port, self._resolve)
        ]

    async def close(self) -> None:
        """Nothing to release: ``resolve_host`` uses the event loop's resolver."""


def check_destination(url: URL) -> None:
    """Before sending: an https URL whose host is not local by its name or address. aiohttp
    connects to an IP-literal host without asking the resolver, so this is its only check."""
    if url.scheme != "https":
        raise UnsafeDestination("not an https URL")
    problem = host_problem(url.raw_host or "")  # the form aiohttp resolves and connects to
    if problem is not None:
        raise UnsafeDestination(problem)


class WebhookClient:
    """POSTs webhooks over one aiohttp session whose connections are kept alive (made on first
    use: aiohttp wants a running event loop); unless development allows any destination,
    only to public https addresses.

    Each phase is bounded by ``timeout_seconds``, as httpx's timeout bounded each: getting a
    connection (pool wait, resolve and connect) and every wait for answer bytes.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout_seconds: float,
        max_connections: int,
        resolve: Resolver = resolve_host,
    ) -> None:
        self._allow_private = allow_private
        self._max_connections = max_connections
        self._resolve = resolve
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout_seconds, sock_read=timeout_seconds
        )
        self._session: aiohttp.ClientSession | None = None

    def _opened(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver = None if self._allow_private else PublicResolver(self._resolve)
            self._session = aiohttp.ClientSession(
                # As many connections as webhooks in flight: none waits for a free one
                # (aiohttp's own default cap is 100), and none is opened beyond them.
                connector=aiohttp.TCPConnector(
                    resolver=resolver,
                    keepalive_timeout=IDLE_CONNECTION_SECONDS,
                    limit=self._max_connections,
                ),
                timeout=self._timeout,
                trust_env=False,  # an environment's proxy must not relay webhooks anywhere
                # A receiver's cookies must not ride along on the next webhook.
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,  # the body is only drained
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The answer's status (a redirect is an answer, never followed). Raises
        ``UnsafeDestination`` when nothing was sent, else any ``aiohttp.ClientError``."""
        try:
            target = URL(url)  # parsed once: the host checked is the host aiohttp connects to
        except ValueError as exc:
            raise aiohttp.InvalidUrlClientError(url) from exc
        if not self._allow_private:
            check_destination(target)
        async with self._opened().post(
            target, data=body, headers=headers, allow_redirects=False
        ) as response:
            await _drain(response)
            return response.status

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


async def _drain(response: aiohttp.ClientResponse) -> None:
    remaining = DRAIN_LIMIT_BYTES
    while remaining > 0 and (chunk := await response.content.read(remaining)):
        remaining -= len(chunk)
