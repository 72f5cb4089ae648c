"""Webhooks go to public https endpoints only: refused at registration (422 naming the field)
and again at every connection (the name resolved then, the checked address used), and what a
merchant reads back about a failed try is a category, never our network's answer."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from typing import Any

import httpx
import pytest
from outbox_helpers import RECEIVER_PATH, Dispatchers, Receiver, fast_retries
from sqlalchemy import update

from billpay.config import Settings
from billpay.errors import UnsafeWebhookUrl
from billpay.models import Client
from billpay.notifications import NotificationSettings
from billpay.outbox.destinations import (
    IPAddress,
    PublicHttpsTransport,
    UnsafeDestination,
    is_public_address,
)
from billpay.outbox.dispatcher import Dispatcher, delivery_error_category
from billpay.outbox.schemas import WebhookSettingsUpdate
from billpay.outbox.service import check_new_webhook_url
from billpay.sandbox.server import ThreadedServer
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


async def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    sent: list[httpx.Request] = []

    def network(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    transport = PublicHttpsTransport(resolver([PUBLIC]), inner=httpx.MockTransport(network))
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post(f"https://{MERCHANT_HOST}/events?x=1", content=b"{}")
    assert response.status_code == 200
    [request] = sent
    assert (request.url.host, request.url.path, request.url.query) == (
        str(PUBLIC),
        "/events",
        b"x=1",
    )
    assert request.headers["host"] == MERCHANT_HOST  # the name, for the merchant's server
    assert request.extensions["sni_hostname"] == MERCHANT_HOST  # TLS verifies the name

    mixed = PublicHttpsTransport(resolver([PUBLIC, LOOPBACK]), inner=httpx.MockTransport(network))
    async with httpx.AsyncClient(transport=mixed) as client:
        with pytest.raises(UnsafeDestination):
            await client.post(f"https://{MERCHANT_HOST}/events")
        with pytest.raises(UnsafeDestination):
            await client.post(f"http://{PUBLIC}/events")  # plain http, even to a public host
    assert len(sent) == 1


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
        (httpx.ConnectTimeout("timed out"), "timeout"),
        (httpx.ReadTimeout("timed out"), "timeout"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection_failed"),
        (httpx.RemoteProtocolError("Server disconnected"), "connection_failed"),
        (UnsafeDestination("10.0.0.1 is not a public address"), "destination_not_allowed"),
        (httpx.UnsupportedProtocol("gopher"), "invalid_url"),
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
