"""Funding a payment through Paystack, end to end: the API, the Paystack simulator over HTTP,
its signed webhooks into the billpay API over HTTP, the inbox job, the worker and VTpass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from paystack_flows import EMAIL, held_by_paystack, pay, paystack_airtime, refund_rows, signed
from sqlalchemy import text

from billpay.funding.paystack.collection import confirm_collection, verify_awaiting
from billpay.funding.paystack.refunder import run_refunds
from billpay.funding.paystack.webhooks import SIGNATURE_HEADER, signature_for
from billpay.inbox.jobs import process_inbox
from billpay.sandbox.app import PAYSTACK_SECRET_KEY
from billpay.sandbox.paystack import PaystackSandboxState
from billpay.sandbox.server import ThreadedServer
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.periodic import expire_unfunded
from billpay.worker.runner import Worker
from flows import (
    PHONE,
    create_payment,
    inbox,
    ledger_ok,
    query,
    status_of,
    wait_for_status,
    wait_until,
)


async def test_create_returns_a_checkout_and_waits_for_funds(
    api: httpx.AsyncClient, paystack_sandbox: PaystackSandboxState, payer: httpx.AsyncClient
) -> None:
    payment = await create_payment(api, paystack_airtime(75_000))

    assert payment["status"] == "awaiting_funds"
    instructions = payment["funding_instructions"]
    reference = f"bp-{payment['short_id']}"
    assert instructions["method"] == "paystack"
    assert instructions["reference"] == reference
    assert instructions["amount_kobo"] == payment["total_kobo"] == 75_000
    expires = datetime.fromisoformat(payment["funding_expires_at"])
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)
    transaction = paystack_sandbox.transaction(reference)  # initialized in kobo, for the payer
    assert (transaction.amount_kobo, transaction.currency, transaction.email) == (
        75_000,
        "NGN",
        EMAIL,
    )
    checkout = await payer.get(instructions["checkout_url"])
    assert checkout.status_code == 200
    assert reference in checkout.text


async def test_paystack_without_email_is_refused_naming_email(
    api: httpx.AsyncClient, paystack_sandbox: PaystackSandboxState
) -> None:
    body = paystack_airtime()
    del body["email"]

    response = await api.post("/v1/payments", json=body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"]["field"] == "email"
    assert "email" in error["message"]
    missing = await api.get(f"/v1/payments/by-reference/{body['request_reference']}")
    assert missing.status_code == 404  # nothing half-created
    assert paystack_sandbox.transactions == {}


async def test_paid_checkout_is_confirmed_by_webhook_and_verify_then_vended(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    billpay_server: ThreadedServer,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
    vtpass: VTpassSandboxState,
) -> None:
    payment = await create_payment(api, paystack_airtime())
    reference = payment["funding_instructions"]["reference"]

    await pay(payer, reference)  # the simulator POSTs a signed charge.success to billpay

    paid = await wait_for_status(api, payment["id"], {"paid", "refunding", "needs_review"})
    assert paid["status"] == "paid"
    moves = [(e["from_status"], e["to_status"]) for e in paid["events"]]
    assert moves[:3] == [
        (None, "awaiting_funds"),
        ("awaiting_funds", "pending"),
        ("pending", "processing"),
    ]
    assert moves.count(("awaiting_funds", "pending")) == 1
    delivered = [d for d in paystack_sandbox.deliveries if d.event == "charge.success"]
    assert delivered and delivered[0].status_code == 200
    events = await inbox(state, "paystack")
    assert [(e["kind"], e["reference"], e["outcome"]) for e in events] == [
        ("charge.success", reference, "funded")
    ]
    assert [v.customer for v in vtpass.vends()] == [PHONE]
    assert await held_by_paystack(state) == 0  # received, then paid out to VTpass and fees
    await ledger_ok(state)


async def test_a_lost_webhook_is_caught_by_the_verify_poll(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
) -> None:
    payment = await create_payment(api, paystack_airtime())
    await pay(payer, payment["funding_instructions"]["reference"])  # no webhook configured
    assert await status_of(api, payment["id"]) == "awaiting_funds"

    # Not at one of its check moments yet: nothing is asked.
    assert await verify_awaiting(state, check_ages_seconds=(600.0,)) == 0
    assert await verify_awaiting(state, check_ages_seconds=(0.0,)) == 1

    assert await status_of(api, payment["id"]) == "pending"
    assert await held_by_paystack(state) == payment["total_kobo"]


async def test_an_unpaid_checkout_stays_awaiting(
    api: httpx.AsyncClient, state: AppState, paystack_sandbox: PaystackSandboxState
) -> None:
    payment = await create_payment(api, paystack_airtime())

    outcome = await confirm_collection(
        state, payment["funding_instructions"]["reference"], actor="test"
    )

    assert outcome.startswith("not funded")
    assert await status_of(api, payment["id"]) == "awaiting_funds"
    assert await held_by_paystack(state) == 0


@pytest.mark.parametrize(
    ("paid", "expected_row"),
    [
        ({"amount_kobo": 49_900}, {"amount_kobo": 49_900, "currency": "NGN"}),
        ({"currency": "USD"}, {"amount_kobo": 50_000, "currency": "USD"}),
    ],
    ids=["wrong-amount", "wrong-currency"],
)
async def test_verify_with_wrong_amount_or_currency_is_not_funded(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
    vtpass: VTpassSandboxState,
    paid: dict[str, Any],
    expected_row: dict[str, Any],
) -> None:
    payment = await create_payment(api, paystack_airtime(50_000))
    reference = payment["funding_instructions"]["reference"]
    await pay(payer, reference, **paid)

    outcome = await confirm_collection(state, reference, actor="test")

    assert outcome.startswith("mismatch")
    body = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert body["status"] == "refunding"  # never pending, never vended
    assert "pending" not in {e["to_status"] for e in body["events"]}
    assert "does not match" in body["failure_reason"]
    (row,) = await refund_rows(state)
    assert {k: row[k] for k in ("amount_kobo", "currency", "cause", "status")} == {
        **expected_row,
        "cause": "mismatch",
        "status": "creating",
    }
    # Naira that arrived is held for the refund; other currencies never enter the kobo ledger.
    assert await held_by_paystack(state) == (49_900 if expected_row["currency"] == "NGN" else 0)
    assert vtpass.vends() == []
    # Asking again changes nothing and queues no second refund.
    assert (await confirm_collection(state, reference, actor="test")).startswith("nothing to do")
    assert len(await refund_rows(state)) == 1


async def test_wrong_amount_is_refunded_through_paystack_once_and_never_vended(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    billpay_server: ThreadedServer,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
    vtpass: VTpassSandboxState,
) -> None:
    paystack_sandbox.faults = paystack_sandbox.faults.model_copy(
        update={"refund_auto_advance_after": 1}  # each status fetch moves the refund a step
    )
    payment = await create_payment(api, paystack_airtime(50_000))
    reference = payment["funding_instructions"]["reference"]

    await pay(payer, reference, amount_kobo=20_000)

    done = await wait_for_status(api, payment["id"], {"refunded", "needs_review", "paid"})
    assert done["status"] == "refunded"
    moves = [(e["from_status"], e["to_status"]) for e in done["events"]]
    assert moves == [
        (None, "awaiting_funds"),
        ("awaiting_funds", "refunding"),
        ("refunding", "refunded"),
    ]
    (refund,) = paystack_sandbox.refunds_of(reference)  # exactly one refund, of what was paid
    assert (refund.amount_kobo, refund.status) == (20_000, "processed")
    (row,) = await refund_rows(state)
    assert (row["status"], row["refund_id"], row["create_attempts"]) == ("processed", refund.id, 1)
    assert vtpass.vends() == []
    assert await held_by_paystack(state) == 0
    await ledger_ok(state)


async def test_a_forged_paystack_webhook_is_rejected_and_changes_nothing(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
) -> None:
    payment = await create_payment(api, paystack_airtime())
    reference = payment["funding_instructions"]["reference"]
    await pay(payer, reference)  # really paid, but no webhook was sent
    data = paystack_sandbox.transaction(reference).as_paystack()
    body, headers = signed("charge.success", data, key="sk_test_not_ours")
    _, good_headers = signed("charge.success", data)
    tampered, _ = signed("charge.success", {**data, "amount": 1})

    for raw, sent_headers in [
        (body, headers),  # signed with another key
        (tampered, good_headers),  # a genuine signature over a different body
        (body, {"content-type": "application/json"}),  # no signature at all
    ]:
        response = await api.post("/v1/webhooks/paystack", content=raw, headers=sent_headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "webhook_not_authenticated"

    assert await inbox(state, "paystack") == []
    assert await process_inbox(state) == 0
    assert await status_of(api, payment["id"]) == "awaiting_funds"


async def test_malformed_paystack_webhook_is_400_and_not_stored(
    api: httpx.AsyncClient, state: AppState, paystack_sandbox: PaystackSandboxState
) -> None:
    body = b'{"event": "charge.success", "data": '  # validly signed, but not JSON
    headers = {SIGNATURE_HEADER: signature_for(body, PAYSTACK_SECRET_KEY)}

    response = await api.post("/v1/webhooks/paystack", content=body, headers=headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_webhook"
    assert await inbox(state, "paystack") == []


async def test_a_replayed_charge_success_is_acknowledged_and_acted_on_once(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
) -> None:
    payment = await create_payment(api, paystack_airtime())
    reference = payment["funding_instructions"]["reference"]
    await pay(payer, reference)
    body, headers = signed("charge.success", paystack_sandbox.transaction(reference).as_paystack())

    for _ in range(3):
        response = await api.post("/v1/webhooks/paystack", content=body, headers=headers)
        assert response.status_code == 200

    assert len(await inbox(state, "paystack")) == 1
    assert await process_inbox(state) == 1
    assert await process_inbox(state) == 0
    events = (await api.get(f"/v1/payments/{payment['id']}")).json()["events"]
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "awaiting_funds"),
        ("awaiting_funds", "pending"),
    ]


async def test_money_paid_after_expiry_is_refunded_never_vended(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
    vtpass: VTpassSandboxState,
) -> None:
    paystack_sandbox.faults = paystack_sandbox.faults.model_copy(
        update={"refund_auto_advance_after": 1}
    )
    payment = await create_payment(api, paystack_airtime())
    reference = payment["funding_instructions"]["reference"]
    await query(
        state,
        "UPDATE payments SET funding_expires_at = now() - interval '1 second' "
        "WHERE id = :id RETURNING id",
        id=payment["id"],
    )
    async with state.unit_of_work() as session:
        assert await expire_unfunded(session) == 1
    await pay(payer, reference)  # the payer paid anyway, on the still-open checkout

    outcome = await confirm_collection(state, reference, actor="test")

    assert outcome.startswith("late")
    assert await held_by_paystack(state) == payment["total_kobo"]

    async def refunded() -> bool:
        await run_refunds(state)
        return (await refund_rows(state))[0]["status"] == "processed"

    await wait_until(refunded, what="the late refund")
    assert await status_of(api, payment["id"]) == "expired"
    assert [r.amount_kobo for r in paystack_sandbox.refunds_of(reference)] == [
        payment["total_kobo"]
    ]
    assert await held_by_paystack(state) == 0
    assert vtpass.vends() == []
    await ledger_ok(state)


async def test_a_missed_check_moment_is_caught_up_once(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
) -> None:
    """Every worker was down when the payment's check moment came: the next beat still asks,
    and asks once (not at every beat after)."""
    payment = await create_payment(api, paystack_airtime())
    await pay(payer, payment["funding_instructions"]["reference"])  # no webhook configured
    async with state.unit_of_work() as session:
        await session.execute(
            text("UPDATE payments SET created_at = now() - interval '200 seconds' WHERE id = :id"),
            {"id": payment["id"]},
        )

    # The 60 s and 180 s moments both passed unseen: one verification catches up on them.
    assert await verify_awaiting(state, check_ages_seconds=(60.0, 180.0)) == 1
    assert await status_of(api, payment["id"]) == "pending"
    assert await verify_awaiting(state, check_ages_seconds=(60.0, 180.0)) == 0


async def test_a_check_that_fails_is_asked_again(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
) -> None:
    payment = await create_payment(api, paystack_airtime())
    await pay(payer, payment["funding_instructions"]["reference"])
    paystack_sandbox.faults.fail_next = 1  # the verification gets a 500

    assert await verify_awaiting(state, check_ages_seconds=(0.0,)) == 1
    assert await status_of(api, payment["id"]) == "awaiting_funds"
    assert await verify_awaiting(state, check_ages_seconds=(0.0,)) == 1
    assert await status_of(api, payment["id"]) == "pending"
