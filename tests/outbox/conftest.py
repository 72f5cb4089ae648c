"""Outbox fixtures: a webhook receiver over real HTTP, payer SMTP/SMS servers, dispatchers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from outbox_helpers import RECEIVER_PATH, Dispatchers, HookedClient, Receiver
from sms_test_hook import HOOK_PATH, HOOK_TOKEN, SmsHook
from smtp_test_server import SmtpServer, running_smtp_server
from sqlalchemy import select, update

from billpay.config import Settings
from billpay.models import Client
from billpay.sandbox.server import ThreadedServer, serve
from billpay.state import AppState


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Outbox tests deliver to receivers on loopback over plain http: the development
    setting that allows private webhook URLs is on (``test_webhook_destinations`` turns it off)."""
    return settings.model_copy(update={"allow_private_webhook_urls": True})


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, ThreadedServer]]:
    hook = Receiver()
    with serve(hook.asgi_app()) as server:
        yield hook, server


@pytest.fixture
async def hooked_merchant(
    state: AppState,
    merchant: tuple[uuid.UUID, str],
    receiver: tuple[Receiver, ThreadedServer],
) -> HookedClient:
    """The ``merchant`` with its webhook URL pointing at the receiver."""
    url = receiver[1].url + RECEIVER_PATH
    async with state.unit_of_work() as session:
        await session.execute(
            update(Client).where(Client.id == merchant[0]).values(webhook_url=url)
        )
        secret = await session.scalar(select(Client.webhook_secret).where(Client.id == merchant[0]))
    assert secret
    return HookedClient(merchant[0], merchant[1], secret, url)


@pytest.fixture
async def dispatchers(state: AppState) -> AsyncIterator[Dispatchers]:
    running = Dispatchers(state)
    yield running
    await running.stop_all()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def sms_hook() -> Iterator[tuple[SmsHook, str]]:
    hook = SmsHook()
    with serve(hook.asgi_app()) as server:
        yield hook, server.url + HOOK_PATH


@pytest.fixture
def payer_channels(
    monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer, sms_hook: tuple[SmsHook, str]
) -> None:
    """Payer email and SMS on, as a deployment turns them on: in the environment, which the
    status changes read (nothing is queued on a channel that is off) and so does the worker's
    dispatcher."""
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_FROM": "billpay <notifications@billpay.example>",
        "SMS_WEBHOOK_URL": sms_hook[1],
        "SMS_WEBHOOK_TOKEN": HOOK_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
