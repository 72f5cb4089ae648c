"""Webhooks go to public https endpoints only: refused at registration (422 naming the field)
and again at every new connection (the name resolved then, only checked addresses used), and what a
merchant reads back about a failed try is a category, never our network's answer."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest
from outbox_helpers import RECEIVER_PATH, Dispatchers, Receiver, fast_retries
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from billpay.config import Settings
from billpay.errors import UnsafeWebhookUrl
from billpay.models import Client
from billpay.notifications import NotificationSettings
from billpay.outbox.destinations import (
    IPAddress,
    UnsafeDestination,
    WebhookClient,
    is_public_address,
)
from billpay.outbox.dispatcher import Dispatcher, delivery_error_category
from billpay.outbox.schemas import WebhookSettingsUpdate
from billpay.outbox.service import check_new_webhook_url
from billpay.sandbox.server import ThreadedServer, serve
from billpay.state import AppState
from flows import create, query_until

PUBLIC = ipaddress.ip_address("93.184.216.34")
LOOPBACK = ipaddress.ip_address("127.0.0.1")
MERCHANT_HOST = "hooks.merchant.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Production's rule: the development setting allowing private URLs is off."""
    return settings.model_copy(update={"allow_private_webhook_urls": False})


def resolver(*answers: list[IPAddress]) -> Any:
    """A DNS edge that answers ``answers`` in turn (the last one again and again)."""
    remaining = list(answers)

    async def resolve(host: str, port: int) -> list[IPAddress]:
        assert host == MERCHANT_HOST
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/events",  # not https
        "https://127.0.0.1/events",
        "https://127.8.9.10:8443/events",
        "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "https://10.1.2.3/events",
        "https://172.16.0.1/events",
        "https://192.168.1.1/events",
        "https://100.64.0.1/events",  # carrier-grade NAT
        "https://0.0.0.0/events",
        "https://224.0.0.1/events",
        "https://[::1]/events",
        "https://[::ffff:127.0.0.1]/events",  # IPv4-mapped loopback
        "https://[::ffff:169.254.169.254]/events",
        "https://[fe80::1]/events",
        "https://[fd00::1]/events",
        "https://[64:ff9b::a9fe:a9fe]/events",  # NAT64 of 169.254.169.254
        "https://localhost/events",
        "https://api.localhost/events",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://intranet/events",
    ],
)
async def test_a_private_or_plain_webhook_url_is_refused_at_registration(
    api: httpx.AsyncClient, state: AppState, merchant: tuple[uuid.UUID, str], url: str
) -> None:
    response = await api.patch("/v1/client/webhook", json={"webhook_url": url})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "unsafe_webhook_url"
    assert error["message"].startswith("webhook_url: ")
    assert error["details"] == {"field": "webhook_url"}
    assert (await api.patch("/v1/client/webhook", json={})).json()["webhook_url"] is None


async def test_a_public_https_url_is_accepted(api: httpx.AsyncClient) -> None:
    url = f"https://{PUBLIC}/billpay/events"
    response = await api.patch("/v1/client/webhook", json={"webhook_url": url})
    assert response.status_code == 200, response.text
    assert response.json()["webhook_url"] == url


async def test_a_name_resolving_to_a_private_address_is_refused_at_registration() -> None:
    update_to = WebhookSettingsUpdate(webhook_url=f"https://{MERCHANT_HOST}/events")
    with pytest.raises(UnsafeWebhookUrl, match=r"resolves to 10\.0\.0\.7"):
        await check_new_webhook_url(
            update_to,
            allow_private_urls=False,
            resolve=resolver([PUBLIC, ipaddress.ip_address("10.0.0.7")]),
        )
    await check_new_webhook_url(update_to, allow_private_urls=False, resolve=resolver([PUBLIC]))
    # Development allows anything http(s), loopback included.
    local = WebhookSettingsUpdate(webhook_url="http://127.0.0.1:9000/events")
    await check_new_webhook_url(local, allow_private_urls=True)


async def _point_webhooks_at(state: AppState, client_id: uuid.UUID, url: str) -> None:
    """Straight into the table: a URL that passed registration and whose DNS changed since."""
    async with state.unit_of_work() as session:
        await session.execute(update(Client).where(Client.id == client_id).values(webhook_url=url))


async def _refused_try(state: AppState) -> dict[str, Any]:
    rows = await query_until(
        state,
        "SELECT a.status_code, a.error FROM outbox_attempts a ORDER BY a.id",
        lambda rows: len(rows) >= 1,
        timeout=30,
    )
    return rows[0]


async def test_a_loopback_receiver_is_never_connected_to(
    api: httpx.AsyncClient,
    state: AppState,
    merchant: tuple[uuid.UUID, str],
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    hook, server = receiver
    await _point_webhooks_at(state, merchant[0], server.url + RECEIVER_PATH)
    await create(api)
    dispatchers.start()
    assert await _refused_try(state) == {"status_code": None, "error": "destination_not_allowed"}
    assert hook.hits == []
    [delivery] = (await api.get("/v1/webhook-deliveries")).json()["data"]
    assert delivery["attempts"][0]["error"] == "destination_not_allowed"
    assert "127.0.0.1" not in str(delivery["attempts"]) + str(delivery["last_error"])


async def test_a_name_that_resolves_to_loopback_at_connect_time_is_refused(
    api: httpx.AsyncClient,
    state: AppState,
    merchant: tuple[uuid.UUID, str],
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    """Rebinding: public when registered, 127.0.0.1 when the dispatcher connects."""
    hook, server = receiver
    port = httpx.URL(server.url).port
    resolve = resolver([PUBLIC], [LOOPBACK])
    update_to = WebhookSettingsUpdate(webhook_url=f"https://{MERCHANT_HOST}:{port}/events")
    await check_new_webhook_url(update_to, allow_private_urls=False, resolve=resolve)
    await _point_webhooks_at(state, merchant[0], str(update_to.webhook_url))
    await create(api)
    dispatcher = Dispatcher(
        state, NotificationSettings(_env_file=None), fast_retries(), resolve=resolve
    )
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        assert await _refused_try(state) == {
            "status_code": None,
            "error": "destination_not_allowed",
        }
    finally:
        stop.set()
        await task
    assert hook.hits == []


@pytest.fixture
async def connects(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[tuple[str, int]]]:
    """Every address a socket is connected to on this loop, each refused: nothing leaves."""
    attempts: list[tuple[str, int]] = []

    async def refuse(sock: socket.socket, address: tuple[Any, ...]) -> None:
        attempts.append((address[0], address[1]))
        raise ConnectionRefusedError(111, "refused by the test")

    monkeypatch.setattr(asyncio.get_running_loop(), "sock_connect", refuse)
    yield attempts


async def no_dns(host: str, port: int) -> list[IPAddress]:
    raise AssertionError(f"{host} was resolved: an IP literal must be judged as it is")


async def _post(client: WebhookClient, url: str) -> int:
    try:
        return await client.post(url, b"{}", {"Content-Type": "application/json"})
    finally:
        await client.aclose()


async def test_the_connection_goes_to_the_addresses_that_were_checked(
    connects: list[tuple[str, int]],
) -> None:
    client = WebhookClient(
        allow_private=False, timeout_seconds=2, max_connections=4, resolve=resolver([PUBLIC])
    )
    with pytest.raises(aiohttp.ClientConnectorError) as refused:
        await _post(client, f"https://{MERCHANT_HOST}/events?x=1")
    assert connects == [(str(PUBLIC), 443)]  # the checked address, not a second lookup's
    assert delivery_error_category(refused.value) == "connection_failed"


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["10.1.2.3"], ["169.254.169.254"], ["::1"], ["93.184.216.34", "10.0.0.7"]],
)
async def test_a_name_resolving_to_a_private_address_is_never_connected_to(
    connects: list[tuple[str, int]], answers: list[str]
) -> None:
    addresses = [ipaddress.ip_address(answer) for answer in answers]
    client = WebhookClient(
        allow_private=False, timeout_seconds=2, max_connections=4, resolve=resolver(addresses)
    )
    with pytest.raises(UnsafeDestination, match="not a public address") as refused:
        await _post(client, f"https://{MERCHANT_HOST}/events")
    assert connects == []
    assert delivery_error_category(refused.value) == "destination_not_allowed"


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8443/events",
        "https://10.0.0.1/events",
        "https://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1./events",  # a trailing dot is still the literal
        "https://[::1]/events",
        "https://[::ffff:127.0.0.1]/events",
        "https://[::ffff:169.254.169.254]/events",
        "https://[fd00:ec2::254]/latest/meta-data/",
        f"http://{PUBLIC}/events",  # plain http, even to a public address
        "https://localhost/events",
    ],
)
async def test_an_ip_literal_or_local_url_is_never_connected_to(
    connects: list[tuple[str, int]], url: str
) -> None:
    client = WebhookClient(
        allow_private=False, timeout_seconds=2, max_connections=4, resolve=no_dns
    )
    with pytest.raises(UnsafeDestination):
        await _post(client, url)
    assert connects == []


async def test_a_redirect_is_never_followed(receiver: tuple[Receiver, ThreadedServer]) -> None:
    """Even to a receiver we could reach (development mode, loopback): a 3xx is the answer."""
    hook, target = receiver

    async def redirect(request: Request) -> Response:
        return RedirectResponse(target.url + RECEIVER_PATH, status_code=307)

    app = Starlette(routes=[Route("/events", redirect, methods=["POST"])])
    with serve(app) as redirecting:
        client = WebhookClient(allow_private=True, timeout_seconds=2, max_connections=4)
        assert await _post(client, redirecting.url + "/events") == 307
    assert hook.hits == []


async def test_connections_are_kept_alive_per_host_name() -> None:
    """One connection serves a name's webhooks; another name for the same address gets its
    own (development mode, loopback: 127.0.0.1 and localhost)."""
    connections: list[asyncio.StreamWriter] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while await reader.readuntil(b"\r\n\r\n"):
                await reader.readexactly(2)  # the b"{}" body
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = WebhookClient(allow_private=True, timeout_seconds=2, max_connections=4)
    try:
        for host in ("127.0.0.1", "127.0.0.1", "localhost", "localhost"):
            assert await client.post(f"http://{host}:{port}/events", b"{}", {}) == 204
    finally:
        await client.aclose()
        server.close()
    assert len(connections) == 2


async def test_webhooks_in_flight_share_at_most_max_connections() -> None:
    """More webhooks at once than connections allowed: they wait for a free connection and
    all arrive; no more connections are ever open at once than allowed."""
    open_now, most_open, answered = 0, 0, 0
    release = asyncio.Event()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most_open, answered
        open_now += 1
        most_open = max(most_open, open_now)
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while await reader.readuntil(b"\r\n\r\n"):
                    await reader.readexactly(2)  # the b"{}" body
                    await release.wait()
                    answered += 1
                    writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        finally:
            open_now -= 1

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = WebhookClient(allow_private=True, timeout_seconds=30, max_connections=3)
    try:
        posts = [
            asyncio.create_task(client.post(f"http://127.0.0.1:{port}/events", b"{}", {}))
            for _ in range(10)
        ]
        async with asyncio.timeout(60):
            while most_open < 3:  # every connection allowed is open and waiting
                await asyncio.sleep(0.01)
        release.set()
        assert await asyncio.gather(*posts) == [204] * 10
    finally:
        await client.aclose()
        server.close()
    assert (most_open, answered) == (3, 10)


async def test_a_failed_try_shows_the_merchant_a_category_only(
    api: httpx.AsyncClient,
    state: AppState,
    merchant: tuple[uuid.UUID, str],
    dispatchers: Dispatchers,
) -> None:
    # Development mode, a port nobody listens on: the error names no host, port or errno.
    state.settings = state.settings.model_copy(update={"allow_private_webhook_urls": True})
    await _point_webhooks_at(state, merchant[0], "http://127.0.0.1:9/hooks?token=abc")
    await create(api)
    dispatchers.start()
    assert (await _refused_try(state))["error"] == "connection_failed"
    [delivery] = (await api.get("/v1/webhook-deliveries")).json()["data"]
    assert delivery["last_error"] == "connection_failed"


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (aiohttp.ConnectionTimeoutError("timed out"), "timeout"),
        (aiohttp.SocketTimeoutError("timed out"), "timeout"),
        (aiohttp.ClientOSError(111, "Connection refused"), "connection_failed"),
        (aiohttp.ServerDisconnectedError(), "connection_failed"),
        (UnsafeDestination("10.0.0.1 is not a public address"), "destination_not_allowed"),
        (aiohttp.NonHttpUrlClientError("gopher://example.com"), "invalid_url"),
        (aiohttp.InvalidUrlClientError("https://"), "invalid_url"),
    ],
)
def test_delivery_errors_are_categories(error: Exception, category: str) -> None:
    assert delivery_error_category(error) == category


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("169.254.169.254", False),
        ("fd00:ec2::254", False),  # AWS's IPv6 metadata address
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("::", False),
        ("ff02::1", False),
        ("255.255.255.255", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public
