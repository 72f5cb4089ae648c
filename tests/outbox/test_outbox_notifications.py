"""Payer notifications through the outbox: a real SMTP server (aiosmtpd) and SMS hook receive
the right content, masked, with the token only for its owner, exactly once per outcome."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from aiosmtpd.controller import Controller
from notification_examples import html_part, text_part
from outbox_helpers import Dispatchers, HookedClient, Receiver, notification_settings, pay_by_hand
from sms_test_hook import HOOK_TOKEN, SmsHook
from smtp_test_server import Inbox, SmtpServer

from billpay.errors import Conflict
from billpay.notifications import NotificationSettings
from billpay.notifications.templates import format_token
from billpay.outbox import enqueue, service
from billpay.payments.status import Status
from billpay.sandbox.server import ThreadedServer, free_port
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import (
    METER,
    PHONE,
    airtime,
    create,
    electricity,
    query,
    query_until,
    wait_for_status,
    wait_until,
)

PAYER = "ada@example.com"
TOKEN = "42167939781206619049"

EMAIL_ROWS = "SELECT id, status, destination FROM outbox_messages WHERE channel = 'email'"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # One provider (the flows are about the outbox), and small dispatcher batches so a
    # restart lands mid-way through the queue.
    return {
        "flutterwave_base_url": None,
        "interswitch_base_url": None,
        "worker_concurrency": 2,
        "outbox_concurrency": 2,
        "batch_size": 2,
    }


async def test_paid_electricity_reaches_the_payer_once_with_the_token_and_a_masked_meter(
    payer_channels: None,
    smtp_server: SmtpServer,
    sms_hook: tuple[SmsHook, str],
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
) -> None:
    payment_id = await create(api, electricity(email=PAYER))
    paid = await wait_for_status(api, payment_id, {"paid"})
    await query_until(
        state,
        "SELECT status FROM outbox_messages WHERE channel IN ('email', 'sms')",
        lambda rows: rows == [{"status": "delivered"}] * 2,
    )

    message = smtp_server.only_message()
    assert message["To"] == PAYER
    assert message["Subject"].startswith("Electricity Token")
    grouped = format_token(paid["token"])
    for part in (text_part(message), html_part(message)):
        assert grouped in part
        assert "111****1111" in part
        assert METER not in part
        assert paid["short_id"] in part
    [sms] = sms_hook[0].received
    assert sms.body["to"] == PHONE
    assert grouped in sms.body["message"] and "111****1111" in sms.body["message"]
    assert METER not in sms.body["message"]
    assert sms.body["idempotency_key"] == f"sms:{payment_id}:paid"


async def test_refund_is_told_once_without_a_token(
    payer_channels: None,
    smtp_server: SmtpServer,
    api: httpx.AsyncClient,
    state: AppState,
    vtpass: VTpassSandboxState,
    worker: Worker,
) -> None:
    vtpass.options.strict_magic_numbers = True  # VTpass's own rule: other numbers fail
    payment_id = await create(api, airtime("08031112222", email=PAYER))
    await wait_for_status(api, payment_id, {"refunded"})
    await query_until(state, EMAIL_ROWS, lambda rows: rows and rows[0]["status"] == "delivered")

    message = smtp_server.only_message()  # pending, processing, refunding: nothing to tell
    body = text_part(message)
    assert message["Subject"] == "Bill Payment Failed - Refund Processed"
    assert "080****2222" in body and "08031112222" not in body
    assert "Amount Refunded: ₦500" in body
    assert "Token" not in body


class SlowInbox(Inbox):
    """Takes a while to accept each message, so a dispatcher can be stopped mid-queue."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.15)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp_server() -> Iterator[SmtpServer]:
    inbox, port = SlowInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(inbox, port)
    finally:
        controller.stop()


async def test_each_outcome_is_emailed_once_across_a_restart_and_concurrent_dispatchers(
    payer_channels: None,
    api: httpx.AsyncClient,
    state: AppState,
    slow_smtp_server: SmtpServer,
    dispatchers: Dispatchers,
) -> None:
    payers = [f"payer{n}@example.com" for n in range(10)]
    for payer in payers:
        await pay_by_hand(state, await create(api, airtime(email=payer)))
    settings = notification_settings(slow_smtp_server)
    inbox = slow_smtp_server.inbox

    first = dispatchers.start(settings)
    await wait_until(lambda: len(inbox.messages) >= 3, "some emails before the restart")
    await dispatchers.stop(first)  # mid-queue: tries in flight finish and are recorded
    sent_before_restart = len(inbox.messages)
    dispatchers.start(settings)
    dispatchers.start(settings)  # two dispatchers at once after the restart
    await query_until(
        state, EMAIL_ROWS, lambda rows: [r["status"] for r in rows] == ["delivered"] * 10
    )
    await dispatchers.stop_all()

    assert 3 <= sent_before_restart < 10
    assert sorted(str(m["To"]) for m in inbox.messages) == sorted(payers)
    assert len({m["Message-ID"] for m in inbox.messages}) == 10
    tries = await query(
        state,
        "SELECT count(*) AS n FROM outbox_attempts a "
        "JOIN outbox_messages m ON m.id = a.message_id WHERE m.channel = 'email'",
    )
    assert tries == [{"n": 10}]


async def test_an_outcome_reached_again_is_not_told_again(
    payer_channels: None, api: httpx.AsyncClient, state: AppState
) -> None:
    payment_id = uuid.UUID(await create(api, airtime(email=PAYER)))
    async with state.unit_of_work() as session:
        # needs_review reached twice (e.g. after a failed refund): one email, one SMS.
        await enqueue.enqueue_for_event(session, payment_id, 10_001, Status.NEEDS_REVIEW)
        await enqueue.enqueue_for_event(session, payment_id, 10_002, Status.NEEDS_REVIEW)
    rows = await query(
        state,
        "SELECT channel, idempotency_key FROM outbox_messages "
        "WHERE payment_id = :id AND event_type = 'payment.needs_review' ORDER BY id",
        id=payment_id,
    )
    assert sorted((r["channel"], r["idempotency_key"]) for r in rows) == [
        ("email", f"email:{payment_id}:needs_review"),
        ("sms", f"sms:{payment_id}:needs_review"),
    ]


async def test_a_channel_that_is_off_queues_nothing_and_later_outcomes_once_it_is_on(
    monkeypatch: pytest.MonkeyPatch, api: httpx.AsyncClient, state: AppState
) -> None:
    first = uuid.UUID(await create(api, airtime(email=PAYER)))
    await pay_by_hand(state, str(first))
    assert await query(state, "SELECT id FROM outbox_messages") == []  # no URL, no relay

    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_FROM", "billpay <notifications@billpay.example>")
    second = uuid.UUID(await create(api, airtime(email=PAYER)))
    await pay_by_hand(state, str(second))
    rows = await query(state, "SELECT channel, payment_id FROM outbox_messages")
    assert rows == [{"channel": "email", "payment_id": second}]  # no SMS hook: no SMS


async def test_a_dispatcher_without_the_channel_gives_up_at_once_and_replays_once_configured(
    payer_channels: None,
    api: httpx.AsyncClient,
    state: AppState,
    smtp_server: SmtpServer,
    dispatchers: Dispatchers,
) -> None:
    await pay_by_hand(state, await create(api, airtime(email=PAYER)))
    # This dispatcher's process is configured otherwise: no relay.
    off = dispatchers.start(NotificationSettings(_env_file=None, smtp_host=None))
    [row] = await query_until(state, EMAIL_ROWS, lambda rows: rows[0]["status"] == "failed")
    await dispatchers.stop(off)
    [failed] = await query(state, "SELECT last_error, attempts FROM outbox_messages WHERE id = :id",
                           id=row["id"])  # fmt: skip
    assert failed == {"last_error": "email is not configured (SMTP_HOST, SMTP_FROM)", "attempts": 1}

    async with state.unit_of_work() as session:
        await service.replay(session, row["id"])
    dispatchers.start(notification_settings(smtp_server))
    await query_until(state, EMAIL_ROWS, lambda rows: rows[0]["status"] == "delivered")
    assert smtp_server.only_message()["To"] == PAYER

    with pytest.raises(Conflict):  # a delivered payer message is never sent twice
        async with state.unit_of_work() as session:
            await service.replay(session, row["id"])


SECRETS_OF_THE_TEST = (TOKEN, format_token(TOKEN), METER, PHONE, HOOK_TOKEN)


async def test_dispatch_logs_no_token_secret_or_customer_identifier(
    payer_channels: None,
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    smtp_server: SmtpServer,
    sms_hook: tuple[SmsHook, str],
    dispatchers: Dispatchers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = receiver[0]
    hook.statuses = [500]  # a failed try is logged too
    payment_id = await create(api, electricity(email=PAYER))
    await pay_by_hand(state, payment_id, token=TOKEN, units="12.5")
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        dispatchers.start(notification_settings(smtp_server, sms_hook[1]))
        await wait_until(lambda: len(hook.accepted()) == 3, "the webhooks")
        await query_until(
            state,
            "SELECT status FROM outbox_messages",
            lambda rows: {r["status"] for r in rows} == {"delivered"},
        )
        await dispatchers.stop_all()

    lines = [repr(event) for event in events] + [
        f"{r.name} {r.getMessage()} {r.__dict__!r}"
        for r in caplog.records
        if not r.name.startswith("mail.")  # the test SMTP server: the payer's own mailbox
    ]
    assert any("outbox_try_failed" in line for line in lines)
    assert any("outbox_delivered" in line for line in lines)
    for line in lines:
        for secret in (*SECRETS_OF_THE_TEST, hooked_merchant.secret):
            assert secret not in line, f"{secret!r} logged in {line!r}"
    # The token does reach its owners: the client's paid event and the payer's messages.
    paid_event = json.loads(hook.accepted()[-1].body)
    assert paid_event["data"]["payment"]["token"] == TOKEN
    assert format_token(TOKEN) in text_part(smtp_server.only_message())
    assert format_token(TOKEN) in sms_hook[0].received[0].body["message"]
