"""SMS through the hook, over real HTTP to a small ASGI receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from notification_examples import GROUPED_TOKEN, PHONE, notice
from sms_test_hook import HOOK_PATH, HOOK_TOKEN, SmsHook

from billpay.notifications import (
    NotificationNotConfiguredError,
    NotificationSettings,
    RetryableNotificationError,
    SmsSender,
    render_sms,
)
from billpay.sandbox.server import ThreadedServer, free_port, serve


@pytest.fixture(scope="module")
def hook_server() -> Iterator[tuple[SmsHook, ThreadedServer]]:
    hook = SmsHook()
    with serve(hook.asgi_app()) as server:
        yield hook, server


@pytest.fixture
def hook(hook_server: tuple[SmsHook, ThreadedServer]) -> SmsHook:
    hook_server[0].reset()
    return hook_server[0]


def hook_settings(url: str, **overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "sms_webhook_url": url,
        "sms_webhook_token": HOOK_TOKEN,
        "sms_webhook_timeout_seconds": 2.0,
        **overrides,
    }
    return NotificationSettings(_env_file=None, **values)


@pytest.fixture
async def sender(
    hook_server: tuple[SmsHook, ThreadedServer],
) -> AsyncIterator[SmsSender]:
    sms = SmsSender(hook_settings(hook_server[1].url + HOOK_PATH))
    yield sms
    await sms.aclose()


async def test_posts_recipient_message_and_key_with_the_bearer_token(
    hook: SmsHook, sender: SmsSender
) -> None:
    message = render_sms(notice())
    await sender.send(PHONE, message, idempotency_key="outbox-7")

    [received] = hook.received
    assert received.body == {"to": PHONE, "message": message, "idempotency_key": "outbox-7"}
    assert received.headers["authorization"] == f"Bearer {HOOK_TOKEN}"
    assert received.headers["idempotency-key"] == "outbox-7"
    assert received.headers["content-type"] == "application/json"
    assert GROUPED_TOKEN in received.body["message"]  # the payer's own token reaches them


@pytest.mark.parametrize("status_code", [400, 401, 429, 500, 503])
async def test_a_non_2xx_answer_is_retryable(
    hook: SmsHook, sender: SmsSender, status_code: int
) -> None:
    hook.status_code = status_code
    with pytest.raises(RetryableNotificationError, match=f"HTTP {status_code}"):
        await sender.send(PHONE, "hello", idempotency_key="k")


async def test_a_timeout_is_retryable(
    hook: SmsHook, hook_server: tuple[SmsHook, ThreadedServer]
) -> None:
    hook.delay_seconds = 1.0
    sms = SmsSender(hook_settings(hook_server[1].url + HOOK_PATH, sms_webhook_timeout_seconds=0.2))
    try:
        with pytest.raises(RetryableNotificationError, match="Timeout"):
            await sms.send(PHONE, "hello", idempotency_key="k")
    finally:
        await sms.aclose()


async def test_connection_refused_is_retryable() -> None:
    sms = SmsSender(hook_settings(f"http://127.0.0.1:{free_port()}{HOOK_PATH}"))
    try:
        with pytest.raises(RetryableNotificationError, match="ClientConnectorError"):
            await sms.send(PHONE, "hello", idempotency_key="k")
    finally:
        await sms.aclose()


async def test_a_callers_client_is_used_and_left_open(
    hook: SmsHook, hook_server: tuple[SmsHook, ThreadedServer]
) -> None:
    async with aiohttp.ClientSession(headers={"User-Agent": "billpay-worker"}) as session:
        sms = SmsSender(hook_settings(hook_server[1].url + HOOK_PATH), session)
        await sms.send(PHONE, "hello", idempotency_key="k")
        await sms.aclose()
        assert not session.closed
    assert hook.received[0].headers["user-agent"] == "billpay-worker"


@pytest.mark.parametrize(
    "missing", [{"sms_webhook_url": None}, {"sms_webhook_token": None}], ids=["url", "token"]
)
def test_sms_needs_both_url_and_token(missing: dict[str, Any]) -> None:
    with pytest.raises(NotificationNotConfiguredError):
        SmsSender(hook_settings("http://127.0.0.1/sms", **missing))
