"""VTpass ``transaction-update`` callbacks are hints: the worker's requery of the same
request_id decides, a replay is acted on once, and a claim the requery contradicts changes
nothing. Against the VTpass simulator over HTTP, with the worker running."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from inbound_helpers import VTPASS_URL, attempt_of, transaction_update

from billpay.ledger.reconcile import reconcile
from billpay.ledger.service import available_balance
from billpay.sandbox.server import ThreadedServer
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, create, inbox, query, wait_for_status, wait_until

START_BALANCE = 100_000_000


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        # The worker never requeries on its own within a test: only a webhook brings it forward.
        "retry_schedule_seconds": [3600.0],
        "periodic_interval_seconds": 0.1,  # the inbox job's beat
        "flutterwave_base_url": None,
        "interswitch_base_url": None,
    }


async def stuck_in_processing(
    api: httpx.AsyncClient, state: AppState, vtpass: VTpassSandboxState, kind: FaultKind
) -> tuple[str, str]:
    """A payment VTpass answered "pending" for: (payment id, its request_id)."""
    phone = "08035550101"
    vtpass.set_faults(Faults(rules=[FaultRule(kind=kind, target=phone, pending_requeries=0)]))
    payment_id = await create(api, airtime(phone))

    async def answered_pending() -> bool:
        attempts = await state_attempts(state, payment_id)
        return bool(attempts) and attempts[0]["outcome"] == "unknown"

    await wait_until(answered_pending, what="VTpass to answer pending")
    attempt = await attempt_of(state, payment_id)
    return payment_id, attempt["provider_reference"]


async def state_attempts(state: AppState, payment_id: str) -> list[dict[str, Any]]:
    return await query(
        state, "SELECT * FROM payment_attempts WHERE payment_id = :id", id=payment_id
    )


async def post_update(api: httpx.AsyncClient, request_id: str, status: str) -> None:
    response = await api.post(VTPASS_URL, json=transaction_update(request_id, status))
    assert response.status_code == 200
    assert response.json() == {"response": "success"}  # exactly what VTpass waits for


async def all_handled(state: AppState) -> None:
    async def handled() -> bool:
        events = await inbox(state)
        return bool(events) and all(event["processed_at"] for event in events)

    await wait_until(handled, what="the inbox job")


def moves(payment: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(event["from_status"], event["to_status"]) for event in payment["events"]]


async def test_delivered_webhook_for_a_stuck_payment_is_confirmed_by_requery(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment_id, request_id = await stuck_in_processing(
        api, state, vtpass, FaultKind.PENDING_THEN_DELIVERED
    )

    await post_update(api, request_id, "delivered")

    paid = await wait_for_status(api, payment_id, {"paid", "refunding", "needs_review"})
    assert paid["status"] == "paid"
    assert moves(paid).count(("processing", "paid")) == 1
    attempt = await attempt_of(state, payment_id)
    assert (attempt["sends"], attempt["requeries"]) == (1, 1)  # the requery, not the hint, decided
    assert len(vtpass.vends()) == 1
    await all_handled(state)
    (event,) = await inbox(state)
    assert (event["kind"], event["reference"], event["claimed_status"]) == (
        "transaction-update",
        request_id,
        "delivered",
    )
    assert event["outcome"].startswith("requery due now")


async def test_the_same_webhook_twice_makes_one_transition(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment_id, request_id = await stuck_in_processing(
        api, state, vtpass, FaultKind.PENDING_THEN_DELIVERED
    )

    await post_update(api, request_id, "delivered")
    await post_update(api, request_id, "delivered")  # VTpass retrying: acknowledged alike
    await wait_for_status(api, payment_id, {"paid"})
    await post_update(api, request_id, "delivered")  # and once more, after it was acted on
    await all_handled(state)

    assert len(await inbox(state)) == 1  # stored once
    payment = (await api.get(f"/v1/payments/{payment_id}")).json()
    assert moves(payment).count(("processing", "paid")) == 1
    assert (await attempt_of(state, payment_id))["requeries"] == 1
    assert len(vtpass.vends()) == 1


async def test_a_claim_the_requery_contradicts_changes_nothing(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment_id, request_id = await stuck_in_processing(
        api, state, vtpass, FaultKind.PENDING_FOREVER
    )

    await post_update(api, request_id, "delivered")  # VTpass itself still says pending

    async def requeried() -> bool:
        return (await attempt_of(state, payment_id))["requeries"] >= 1

    await wait_until(requeried, what="the requery the webhook prompted")
    payment = (await api.get(f"/v1/payments/{payment_id}")).json()
    assert payment["status"] == "processing"
    assert payment["token"] is None
    assert ("processing", "paid") not in moves(payment)
    assert vtpass.vends() == []


async def delivered_payment(api: httpx.AsyncClient, state: AppState, phone: str) -> tuple[str, str]:
    paid = await wait_for_status(
        api, await create(api, airtime(phone)), {"paid", "refunding", "refunded"}
    )
    assert paid["status"] == "paid"
    return paid["id"], (await attempt_of(state, paid["id"]))["provider_reference"]


async def test_a_reversal_claim_the_requery_contradicts_changes_nothing(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment_id, request_id = await delivered_payment(api, state, "08035550202")

    await post_update(api, request_id, "reversed")  # VTpass's requery still says delivered
    await all_handled(state)

    assert (await api.get(f"/v1/payments/{payment_id}")).json()["status"] == "paid"
    (event,) = await inbox(state)
    assert event["outcome"] == "requeried after a claimed reversed: payment is paid"
    assert vtpass.vend_count(request_id) == 1


async def test_a_reversal_the_requery_confirms_refunds_the_payment(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    sandbox: ThreadedServer,
    merchant: tuple[uuid.UUID, str],
) -> None:
    payment_id, request_id = await delivered_payment(api, state, "08035550303")
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/vtpass", trust_env=False) as admin:
        reversal = await admin.post("/_sandbox/reverse", json={"request_id": request_id})
    assert reversal.status_code == 200, reversal.text

    # The transaction-update VTpass sends for a reversal, as the simulator built it.
    response = await api.post(VTPASS_URL, json=reversal.json()["webhook"])
    assert response.json() == {"response": "success"}

    refunded = await wait_for_status(api, payment_id, {"refunded", "needs_review"})
    assert moves(refunded)[-2:] == [("paid", "refunding"), ("refunding", "refunded")]
    assert refunded["events"][-2]["actor"] == "webhook:vtpass"
    async with state.unit_of_work() as session:
        assert await available_balance(session, merchant[0]) == START_BALANCE
        assert (await reconcile(session)).ok
