"""Enqueueing with the status change, and delivery that survives dispatchers dying and racing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from outbox_helpers import Dispatchers, HookedClient, Receiver, fast_retries, pay_by_hand
from sqlalchemy import literal, select, text, update
from sqlalchemy.engine import Connection

from billpay.models import Base, Client
from billpay.outbox import repository as outbox_repo
from billpay.outbox.enqueue import idempotency_key
from billpay.outbox.schemas import Channel
from billpay.payments.lifecycle import transition
from billpay.payments.schemas import PaymentOut
from billpay.payments.status import Status
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState
from flows import airtime, create, query, query_until, wait_until

MESSAGES = "SELECT channel, event_type, body FROM outbox_messages ORDER BY id"


async def test_webhooks_follow_every_change_and_payer_messages_only_outcomes(
    payer_channels: None, api: httpx.AsyncClient, state: AppState, hooked_merchant: HookedClient
) -> None:
    payment_id = await create(api, airtime(email="ada@example.com"))
    await pay_by_hand(state, payment_id, token="not-an-airtime-thing")
    rows = await query(state, MESSAGES)
    assert [(r["channel"], r["event_type"]) for r in rows] == [
        ("webhook", "payment.pending"),
        ("webhook", "payment.processing"),
        ("webhook", "payment.paid"),
        ("email", "payment.paid"),
        ("sms", "payment.paid"),
    ]
    # Each event carries the payment as it was at that change.
    payments = [r["body"]["data"]["payment"] for r in rows[:3]]
    assert [p["status"] for p in payments] == ["pending", "processing", "paid"]
    assert [p["token"] for p in payments] == [None, None, "not-an-airtime-thing"]
    assert set(payments[0]) == set(PaymentOut.model_fields) - {"events"}
    notice = rows[3]["body"]
    assert notice["outcome"] == "paid" and notice["biller_name"] == "MTN"
    assert notice["customer_id"] == "08031234567" and notice["refund_kobo"] is None


async def test_without_a_webhook_url_or_email_only_the_sms_outcome_is_queued(
    payer_channels: None, api: httpx.AsyncClient, state: AppState
) -> None:
    await pay_by_hand(state, await create(api))
    rows = await query(state, MESSAGES)
    assert [(r["channel"], r["event_type"]) for r in rows] == [("sms", "payment.paid")]


async def test_a_client_without_a_signing_secret_gets_no_webhook_queued(
    api: httpx.AsyncClient, state: AppState, hooked_merchant: HookedClient
) -> None:
    async with state.unit_of_work() as session:
        await session.execute(
            update(Client).where(Client.id == hooked_merchant.id).values(webhook_secret=None)
        )
    await pay_by_hand(state, await create(api))
    assert await query(state, MESSAGES) == []  # it could never be signed


async def test_a_webhook_url_set_later_gets_the_events_from_then_on(
    api: httpx.AsyncClient, state: AppState, hooked_merchant: HookedClient
) -> None:
    response = await api.patch("/v1/client/webhook", json={"webhook_url": None})
    assert response.status_code == 200, response.text
    payment_id = await create(api)
    await api.patch("/v1/client/webhook", json={"webhook_url": hooked_merchant.url})
    await pay_by_hand(state, payment_id)
    rows = await query(state, MESSAGES)  # the pending event happened without a URL: not queued
    assert [r["event_type"] for r in rows] == ["payment.processing", "payment.paid"]


async def test_a_rolled_back_change_leaves_no_message(
    api: httpx.AsyncClient, state: AppState, hooked_merchant: HookedClient
) -> None:
    payment_id = uuid.UUID(await create(api))
    with pytest.raises(RuntimeError):
        async with state.unit_of_work() as session:
            await transition(
                session, payment_id, Status.PENDING, Status.PROCESSING, reason="t", actor="t"
            )
            raise RuntimeError("the rest of the step failed")
    rows = await query(state, MESSAGES)
    assert [r["event_type"] for r in rows] == ["payment.pending"]


async def test_enqueue_wakes_a_sleeping_dispatcher_at_once(
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    state.settings = state.settings.model_copy(update={"poll_interval_seconds": 60.0})
    dispatchers.start()
    await asyncio.sleep(0.3)  # asleep, with nothing due
    started = time.monotonic()
    await create(api)
    await wait_until(lambda: len(receiver[0].accepted()) == 1, "the webhook", timeout=5)
    assert time.monotonic() - started < 2.0


async def test_a_dispatcher_dying_mid_try_loses_nothing(
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    await create(api)
    async with state.unit_of_work() as session:  # claimed, then the dispatcher died
        [claimed] = await outbox_repo.claim_due(session, uuid.uuid4(), 10, lease_seconds=0.5)
    dispatchers.start()
    await wait_until(lambda: len(receiver[0].accepted()) == 1, "the delivery after the lease")
    await query_until(
        state,
        "SELECT status, attempts FROM outbox_messages WHERE id = :id",
        lambda rows: rows == [{"status": "delivered", "attempts": 2}],
        id=claimed.id,
    )


async def test_many_payments_two_dispatchers_and_a_flaky_client_lose_no_event(
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    hook = receiver[0]
    hook.statuses = [500, 200, 503, 500, 200, 500] * 5
    dispatchers.start(retry_at=fast_retries(step_seconds=0.05))
    dispatchers.start(retry_at=fast_retries(step_seconds=0.05))
    payment_ids = [await create(api) for _ in range(12)]
    await asyncio.gather(*(pay_by_hand(state, payment_id) for payment_id in payment_ids))
    await query_until(
        state,
        "SELECT status FROM outbox_messages WHERE channel = 'webhook'",
        lambda rows: len(rows) == 36 and {r["status"] for r in rows} == {"delivered"},
        timeout=30,
    )

    accepted = [json.loads(hit.body) for hit in hook.accepted()]
    recorded = await query(state, "SELECT id, payment_id FROM payment_events ORDER BY id")
    assert sorted(event["id"] for event in accepted) == sorted(f"evt_{r['id']}" for r in recorded)
    for payment_id in payment_ids:  # each payment's events reached the client in order
        types = [e["type"] for e in accepted if e["data"]["payment"]["id"] == payment_id]
        assert types == ["payment.pending", "payment.processing", "payment.paid"]


async def test_delivery_never_waits_for_a_locked_payment(
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    payment_id = await create(api)
    async with state.sessions() as session, session.begin():
        await session.execute(
            text("SELECT id FROM payments WHERE id = :id FOR UPDATE"), {"id": payment_id}
        )
        dispatchers.start()
        await wait_until(lambda: len(receiver[0].accepted()) == 1, "the webhook", timeout=5)


def _outbox_drift(connection: Connection) -> list[Any]:
    diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    return [diff for diff in diffs if "outbox" in repr(diff)]


async def test_the_migration_matches_the_models(state: AppState) -> None:
    async with state.engine.connect() as connection:
        assert await connection.run_sync(_outbox_drift) == []


async def test_the_create_statement_keys_messages_as_the_enqueue_does(state: AppState) -> None:
    """A created payment's messages are keyed in SQL (its event id is made by the same
    statement): the keys must be the ones ``enqueue`` gives, or a retried change could queue
    a message twice."""
    payment_id = uuid.uuid4()
    for channel in Channel:
        for to_status in ("pending", "paid"):
            key = outbox_repo.idempotency_key_sql(
                literal(channel.value), literal(payment_id), literal(42), literal(to_status)
            )
            async with state.unit_of_work() as session:
                made = await session.scalar(select(key))
            assert made == idempotency_key(channel, payment_id, 42, to_status)


async def test_a_created_payments_webhook_shows_it_as_the_create_answered(
    api: httpx.AsyncClient, state: AppState, hooked_merchant: HookedClient
) -> None:
    created = await api.post("/v1/payments", json=airtime())
    assert created.status_code == 201
    [message] = await query(
        state,
        "SELECT body, idempotency_key FROM outbox_messages WHERE payment_id = :id",
        id=uuid.UUID(created.json()["id"]),
    )
    [event] = await query(state, "SELECT id FROM payment_events")
    assert message["idempotency_key"] == f"webhook:{event['id']}"
    sent = message["body"]["data"]["payment"]
    shown = {key: value for key, value in created.json().items() if key != "events"}
    assert sent.keys() == shown.keys()
    for key, value in shown.items():
        if key.endswith("_at") and value is not None:
            assert datetime.fromisoformat(sent[key]) == datetime.fromisoformat(value), key
        else:
            assert sent[key] == value, key
