"""Where a client's webhooks may go: https to public addresses only (no SSRF into our network).

Checked when the URL is registered (its shape, and what its name resolves to now) and again at
every connection: the name is resolved, every address it resolves to must be public, and the
connection goes to the address that was checked — a DNS answer that changes between the check
and the connect (rebinding) is never used. Redirects are never followed (the dispatcher's
client has ``follow_redirects=False``). ``BILLPAY_ALLOW_PRIVATE_WEBHOOK_URLS`` turns the checks
off for development, where receivers run on loopback over plain http.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

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


class UnsafeDestination(httpx.TransportError):
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


async def checked_address(host: str, port: int, resolve: Resolver = resolve_host) -> IPAddress:
    """The address to connect to for ``host``: resolved now, every answer public."""
    problem = host_problem(host)
    if problem is not None:
        raise UnsafeDestination(problem)
    literal = _literal(host)
    if literal is not None:
        return literal
    try:
        addresses = await resolve(host, port)
    except (OSError, TimeoutError, ValueError) as exc:
        raise httpx.ConnectError(f"could not resolve {host}: {exc}") from exc
    if not addresses:
        raise httpx.ConnectError(f"{host} has no address")
    blocked = _non_public(addresses)
    if blocked is not None:
        raise UnsafeDestination(f"{host} resolves to {blocked}, not a public address")
    return addresses[0]


class PublicHttpsTransport(httpx.AsyncBaseTransport):
    """Sends a request only to a public https address, and to exactly the address checked.

    The URL's host is swapped for the checked IP; the ``Host`` header stays the name and TLS
    verifies the certificate for the name (``sni_hostname``). Connections are not kept alive:
    a pooled connection is keyed by IP, and one opened for another name must not be reused.
    """

    def __init__(
        self, resolve: Resolver = resolve_host, inner: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._resolve = resolve
        self._inner = inner or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_keepalive_connections=0), trust_env=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "https":
            raise UnsafeDestination("not an https URL", request=request)
        try:
            address = await checked_address(url.host, url.port or 443, self._resolve)
        except httpx.TransportError as exc:
            exc.request = request
            raise
        request.url = url.copy_with(host=str(address))
        request.extensions = {**request.extensions, "sni_hostname": url.host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def delivery_transport(
    *, allow_private: bool, resolve: Resolver = resolve_host
) -> httpx.AsyncBaseTransport:
    """The dispatcher's transport: checked unless development allows any destination."""
    if allow_private:
        return httpx.AsyncHTTPTransport(trust_env=False)
    return PublicHttpsTransport(resolve)
