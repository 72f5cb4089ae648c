"""Outbound webhooks: signed, in order, retried while the client is down, logged, replayable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from outbox_helpers import Dispatchers, HookedClient, Receiver, fast_retries, pay_by_hand
from typer.testing import CliRunner

from billpay.cli import runtime
from billpay.cli.main import app as cli
from billpay.clients.service import create_client
from billpay.config import get_settings
from billpay.outbox.signing import verify
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import create, query, query_until, wait_for_status, wait_until


async def deliveries_until(
    api: httpx.AsyncClient, condition: Callable[[list[dict[str, Any]]], bool], **params: str
) -> list[dict[str, Any]]:
    """The client's webhook deliveries, once ``condition`` holds for them."""
    for _ in range(300):
        data: list[dict[str, Any]] = (
            await api.get("/v1/webhook-deliveries", params=params)
        ).json()["data"]
        if data and condition(data):
            return data
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries never matched: {data}")


def events_of(hits: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(hit.body) for hit in hits]


def same_instant(left: str | None, right: str | None) -> bool:
    if left is None or right is None:
        return left == right
    return datetime.fromisoformat(left) == datetime.fromisoformat(right)


async def test_paid_payment_sends_each_status_in_order_signed_with_the_client_secret(
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    worker: Worker,
) -> None:
    hook = receiver[0]
    payment_id = await create(api)
    paid = await wait_for_status(api, payment_id, {"paid"})
    await wait_until(lambda: len(hook.accepted()) == 3, "three webhooks")

    events = events_of(hook.accepted())
    assert [event["type"] for event in events] == [
        "payment.pending",
        "payment.processing",
        "payment.paid",
    ]
    assert all(verify(hit.body, hit.signature, [hooked_merchant.secret]) for hit in hook.hits)
    recorded = await query(
        state,
        "SELECT id, to_status, at FROM payment_events WHERE payment_id = :id ORDER BY id",
        id=payment_id,
    )
    assert [event["id"] for event in events] == [f"evt_{row['id']}" for row in recorded]
    assert [datetime.fromisoformat(e["created_at"]) for e in events] == [r["at"] for r in recorded]
    assert [event["data"]["payment"]["status"] for event in events] == [
        "pending",
        "processing",
        "paid",
    ]
    # The last event's payment is the payment as the API shows it, without its history: its
    # events and the provider call record stay behind the API (they carry provider payloads).
    shown = {
        key: value
        for key, value in paid.items()
        if key not in {"events", "attempts", "validations"}
    }
    sent = events[-1]["data"]["payment"]
    assert sent.keys() == shown.keys()
    for key, value in shown.items():
        if key.endswith("_at"):
            assert same_instant(sent[key], value), key
        else:
            assert sent[key] == value, key


async def test_rotation_signs_with_both_secrets_until_the_previous_is_revoked(
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    hook = receiver[0]
    rotated = await api.patch("/v1/client/webhook", json={"rotate_secret": True})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != hooked_merchant.secret
    assert rotated.json() == {
        "webhook_url": hooked_merchant.url,
        "secret": new_secret,
        "previous_secret_valid": True,
    }
    dispatchers.start()
    await create(api)
    await wait_until(lambda: len(hook.accepted()) == 1, "a webhook during rotation")
    during = hook.accepted()[0]
    assert verify(during.body, during.signature, [hooked_merchant.secret])
    assert verify(during.body, during.signature, [new_secret])

    revoked = await api.patch("/v1/client/webhook", json={"revoke_previous_secret": True})
    assert revoked.json() == {
        "webhook_url": hooked_merchant.url,
        "secret": None,
        "previous_secret_valid": False,
    }
    await create(api)
    await wait_until(lambda: len(hook.accepted()) == 2, "a webhook after rotation")
    after = hook.accepted()[1]
    assert verify(after.body, after.signature, [new_secret])
    assert not verify(after.body, after.signature, [hooked_merchant.secret])


async def test_receiver_down_for_a_while_gets_every_event_later_in_order(
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    hook = receiver[0]
    hook.statuses = [500, 503, 500, 502]  # the first four requests fail
    dispatchers.start(retry_at=fast_retries(step_seconds=0.1))
    payment_id = await create(api)
    await pay_by_hand(state, payment_id)
    await wait_until(lambda: len(hook.accepted()) == 3, "every event once the client is back")

    assert [event["type"] for event in events_of(hook.accepted())] == [
        "payment.pending",
        "payment.processing",
        "payment.paid",
    ]
    # Later events waited for the first: every failed try was of payment.pending.
    assert [json.loads(hit.body)["type"] for hit in hook.hits[:5]] == ["payment.pending"] * 5
    assert all(verify(hit.body, hit.signature, [hooked_merchant.secret]) for hit in hook.hits)

    log = await query_until(
        state,
        "SELECT m.event_type, m.status AS message_status, a.status_code, a.error, a.duration_ms "
        "FROM outbox_attempts a JOIN outbox_messages m ON m.id = a.message_id "
        "WHERE m.channel = 'webhook' ORDER BY a.attempted_at, a.id",
        lambda rows: len(rows) == 7 and rows[-1]["message_status"] == "delivered",
    )
    assert [(row["event_type"], row["status_code"]) for row in log] == [
        ("payment.pending", 500),
        ("payment.pending", 503),
        ("payment.pending", 500),
        ("payment.pending", 502),
        ("payment.pending", 200),
        ("payment.processing", 200),
        ("payment.paid", 200),
    ]
    assert [row["error"] for row in log[:4]] == ["HTTP 500", "HTTP 503", "HTTP 500", "HTTP 502"]
    assert all(row["message_status"] == "delivered" and row["duration_ms"] >= 0 for row in log)

    listed = await api.get("/v1/webhook-deliveries", params={"payment_id": payment_id})
    deliveries = listed.json()["data"]
    assert [d["event_type"] for d in deliveries] == [
        "payment.paid",
        "payment.processing",
        "payment.pending",
    ]
    assert [a["status_code"] for a in deliveries[-1]["attempts"]] == [500, 503, 500, 502, 200]


async def test_unreachable_receiver_is_tried_then_given_up_and_replay_delivers_it(
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    hook = receiver[0]
    hook.statuses = [500, 500, 500]
    dispatchers.start(retry_at=fast_retries(step_seconds=0.05, max_attempts=3))
    payment_id = await create(api)
    await wait_until(lambda: len(hook.hits) == 3, "three tries")
    failed = await deliveries_until(api, lambda data: len(data) == 1, status="failed")
    assert len(failed) == 1 and failed[0]["last_error"] == "HTTP 500"
    assert failed[0]["next_attempt_at"] is None
    assert len(failed[0]["attempts"]) == 3

    replayed = await api.post(f"/v1/webhook-deliveries/{failed[0]['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["status"] == "pending"
    await wait_until(lambda: len(hook.accepted()) == 1, "the replayed event")
    first_try, replay = hook.hits[0], hook.accepted()[0]
    assert replay.body == first_try.body  # same event id, same bytes
    assert json.loads(replay.body)["id"] == failed[0]["event_id"]
    assert verify(replay.body, replay.signature, [hooked_merchant.secret])
    await query_until(
        state,
        "SELECT status, attempts FROM outbox_messages WHERE id = :id",
        lambda rows: rows == [{"status": "delivered", "attempts": 1}],
        id=failed[0]["id"],
    )
    assert payment_id == failed[0]["payment_id"]


async def test_replay_of_a_delivered_event_resends_the_same_event(
    api: httpx.AsyncClient,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    hook = receiver[0]
    dispatchers.start()
    await create(api)
    await wait_until(lambda: len(hook.hits) == 1, "the first delivery")
    [delivery] = await deliveries_until(api, lambda data: data[0]["status"] == "delivered")

    response = await api.post(f"/v1/webhook-deliveries/{delivery['id']}/replay")
    assert response.status_code == 202
    await wait_until(lambda: len(hook.hits) == 2, "the replay")
    assert hook.hits[1].body == hook.hits[0].body
    assert hook.hits[1].signature and verify(
        hook.hits[1].body, hook.hits[1].signature, [hooked_merchant.secret]
    )
    [again] = await deliveries_until(api, lambda data: len(data[0]["attempts"]) == 2)
    assert again["event_id"] == delivery["event_id"]
    assert [a["status_code"] for a in again["attempts"]] == [200, 200]


async def test_deliveries_are_the_clients_own(
    api: httpx.AsyncClient, state: AppState, hooked_merchant: HookedClient
) -> None:
    await create(api)
    async with state.unit_of_work() as session:
        _, other_key = await create_client(session, "someone else")
    delivery_id = (await api.get("/v1/webhook-deliveries")).json()["data"][0]["id"]
    headers = {"Authorization": f"Bearer {other_key}"}

    assert (await api.get("/v1/webhook-deliveries", headers=headers)).json()["data"] == []
    response = await api.post(f"/v1/webhook-deliveries/{delivery_id}/replay", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_list_paginates_and_rejects_a_foreign_cursor(
    api: httpx.AsyncClient, hooked_merchant: HookedClient
) -> None:
    for _ in range(3):
        await create(api)
    first = (await api.get("/v1/webhook-deliveries", params={"limit": 2})).json()
    second = (
        await api.get("/v1/webhook-deliveries", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    ids = [d["id"] for d in first["data"] + second["data"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)
    assert second["next_cursor"] is None

    bad = await api.get("/v1/webhook-deliveries", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_cursor"


async def test_a_new_url_takes_the_pending_webhooks_along(
    api: httpx.AsyncClient,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
) -> None:
    await create(api)  # queued for the old URL, no dispatcher yet
    new_url = receiver[1].url + "/v2/events"
    response = await api.patch("/v1/client/webhook", json={"webhook_url": new_url})
    assert response.json()["webhook_url"] == new_url
    delivery = (await api.get("/v1/webhook-deliveries")).json()["data"][0]
    assert delivery["url"] == new_url


@pytest.mark.parametrize(
    "body",
    [
        {"webhook_url": "ftp://example.com/x"},
        {"rotate_secret": True, "revoke_previous_secret": True},
    ],
)
async def test_webhook_settings_reject_bad_requests(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await api.patch("/v1/client/webhook", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_cli_lists_and_replays_deliveries(
    api: httpx.AsyncClient,
    state: AppState,
    hooked_merchant: HookedClient,
    receiver: tuple[Receiver, ThreadedServer],
    dispatchers: Dispatchers,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "DATABASE_URL": database_url,
        "BILLPAY_DATA_DIR": str(tmp_path),
        "COLUMNS": "250",
    }.items():
        monkeypatch.setenv(name, value)
    # The CLI would reconfigure this process's logging; that is not what is under test.
    monkeypatch.setattr(runtime, "configure_logging", lambda level: None)
    get_settings.cache_clear()
    hook = receiver[0]
    hook.statuses = [500]
    dispatchers.start(retry_at=fast_retries(max_attempts=1))
    await create(api)
    [failed] = await deliveries_until(api, lambda data: data[0]["status"] == "failed")

    def billpay(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args))

    try:
        listed = await asyncio.to_thread(billpay, "webhooks", "list", "--status", "failed")
        replayed = await asyncio.to_thread(billpay, "webhooks", "replay", str(failed["id"]))
        missing = await asyncio.to_thread(billpay, "webhooks", "replay", "987654321")
    finally:
        get_settings.cache_clear()

    assert listed.exit_code == 0, listed.output
    assert failed["event_id"] in listed.output and "HTTP 500" in listed.output
    assert replayed.exit_code == 0, replayed.output
    assert f"webhook {failed['id']} ({failed['event_id']}) is queued" in replayed.output
    assert missing.exit_code == 1 and "no delivery 987654321" in missing.output
    await wait_until(lambda: len(hook.accepted()) == 1, "the replay from the CLI")
