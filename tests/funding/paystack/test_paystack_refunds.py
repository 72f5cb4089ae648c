"""Paystack refunds: created once (even when Paystack's answer is lost), tracked to the end,
and a refund that does not go through puts the payment in front of a human."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from paystack_flows import held_by_paystack, pay, paystack_airtime, refund_rows

from billpay.funding.paystack.collection import confirm_collection
from billpay.funding.paystack.refunder import run_refunds
from billpay.inbox.jobs import process_inbox
from billpay.sandbox.paystack import PaystackSandboxState
from billpay.sandbox.server import ThreadedServer
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import create_payment, inbox, ledger_ok, status_of, wait_for_status, wait_until


def refund_faults(sandbox: PaystackSandboxState, **faults: Any) -> None:
    sandbox.faults = sandbox.faults.model_copy(update=faults)


async def mismatched(
    api: httpx.AsyncClient, state: AppState, payer: httpx.AsyncClient, paid_kobo: int = 30_000
) -> tuple[str, str]:
    """A payment whose payer paid the wrong amount: (payment id, Paystack reference)."""
    payment = await create_payment(api, paystack_airtime(50_000))
    reference = payment["funding_instructions"]["reference"]
    await pay(payer, reference, amount_kobo=paid_kobo)
    assert (await confirm_collection(state, reference, actor="test")).startswith("mismatch")
    return payment["id"], reference


async def refund_until(state: AppState, statuses: set[str]) -> dict[str, Any]:
    """Run the refunder until the refund row reaches one of ``statuses``."""

    async def reached() -> bool:
        await run_refunds(state)
        rows = await refund_rows(state)
        return bool(rows) and rows[0]["status"] in statuses

    await wait_until(reached, what=f"a refund in {statuses}")
    return (await refund_rows(state))[0]


async def test_a_failed_delivery_is_refunded_through_paystack(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
    vtpass: VTpassSandboxState,
) -> None:
    vtpass.options.strict_magic_numbers = True  # VTpass's own rule: this number fails
    refund_faults(paystack_sandbox, refund_auto_advance_after=1)
    payment = await create_payment(api, paystack_airtime(50_000, customer_id="08031112222"))
    reference = payment["funding_instructions"]["reference"]
    await pay(payer, reference)  # no webhook: the verify poll would find it; here we ask now
    assert await confirm_collection(state, reference, actor="test") == "funded"

    done = await wait_for_status(api, payment["id"], {"refunded", "needs_review", "paid"})

    assert done["status"] == "refunded"
    assert [e["to_status"] for e in done["events"]] == [
        "awaiting_funds",
        "pending",
        "processing",
        "refunding",
        "refunded",
    ]
    (refund,) = paystack_sandbox.refunds_of(reference)
    assert (refund.amount_kobo, refund.status) == (50_000, "processed")
    (row,) = await refund_rows(state)
    assert (row["cause"], row["status"], row["amount_kobo"]) == ("delivery", "processed", 50_000)
    assert vtpass.vends() == []
    assert await held_by_paystack(state) == 0
    await ledger_ok(state)


@pytest.mark.parametrize("ending", ["failed", "needs-attention"])
async def test_a_refund_that_does_not_go_through_goes_to_review(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
    ending: str,
) -> None:
    refund_faults(paystack_sandbox, refund_outcome=ending, refund_auto_advance_after=1)
    payment_id, reference = await mismatched(api, state, payer)

    row = await refund_until(state, {"processed", "failed", "needs-attention"})

    assert row["status"] == ending
    body = (await api.get(f"/v1/payments/{payment_id}")).json()
    assert body["status"] == "needs_review"
    assert ending in body["failure_reason"]
    assert "not been repaid" in body["failure_reason"]
    assert body["events"][-1]["from_status"] == "refunding"
    assert len(paystack_sandbox.refunds_of(reference)) == 1
    assert await held_by_paystack(state) == 30_000  # still held, for the operator
    # Nothing more happens by itself: the refunder leaves it to a human.
    assert await run_refunds(state) == 0


async def test_a_create_whose_answer_was_lost_is_found_not_repeated(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
) -> None:
    payment_id, reference = await mismatched(api, state, payer)
    # POST /refund is carried out, but its answer comes after billpay stopped waiting.
    refund_faults(paystack_sandbox, timeout_next=1, hang_seconds=3.0)

    assert await run_refunds(state) == 1

    (row,) = await refund_rows(state)
    assert (row["status"], row["create_attempts"], row["refund_id"]) == ("creating", 1, None)
    assert len(paystack_sandbox.refunds_of(reference)) == 1  # it did reach Paystack
    refund_faults(paystack_sandbox, refund_auto_advance_after=1)

    row = await refund_until(state, {"processed", "failed", "needs-attention", "rejected"})

    (refund,) = paystack_sandbox.refunds_of(reference)  # adopted, never created twice
    assert (row["status"], row["refund_id"], row["create_attempts"]) == ("processed", refund.id, 1)
    assert await status_of(api, payment_id) == "refunded"
    await ledger_ok(state)


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            # No scheduled status checks for an hour: only the webhooks can prompt one.
            "retry_schedule_seconds": [3600.0],
            "periodic_interval_seconds": 0.1,
            "flutterwave_base_url": None,
            "interswitch_base_url": None,
        }
    ],
    indirect=True,
)
async def test_refund_webhooks_prompt_a_status_check(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    billpay_server: ThreadedServer,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
    vtpass: VTpassSandboxState,
) -> None:
    payment = await create_payment(api, paystack_airtime(50_000))
    reference = payment["funding_instructions"]["reference"]
    await pay(payer, reference, amount_kobo=10_000)  # charge.success → mismatch → refunding

    async def refund_pending() -> bool:
        rows = await refund_rows(state)
        return bool(rows) and rows[0]["status"] == "pending"

    await wait_until(refund_pending, what="the refund to be created")
    (refund,) = paystack_sandbox.refunds_of(reference)
    for _ in ("processing", "processed"):  # each step sends its refund.* webhook to billpay
        advanced = await payer.post(f"/_sandbox/refunds/{refund.id}/advance")
        assert advanced.status_code == 200

    done = await wait_for_status(api, payment["id"], {"refunded", "needs_review"})

    assert done["status"] == "refunded"

    async def all_handled() -> bool:
        events = await inbox(state, "paystack")
        return len(events) == 4 and all(event["processed_at"] for event in events)

    await wait_until(all_handled, what="every webhook to be handled")
    events = await inbox(state, "paystack")
    assert [event["kind"] for event in events] == [
        "charge.success",
        "refund.pending",
        "refund.processing",
        "refund.processed",
    ]
    # With no scheduled check for an hour, only a webhook's nudge can have finished it.
    assert "refund status check due now" in {event["outcome"] for event in events[1:]}
    assert await process_inbox(state) == 0
    (row,) = await refund_rows(state)
    assert row["status"] == "processed"
    assert vtpass.vends() == []
