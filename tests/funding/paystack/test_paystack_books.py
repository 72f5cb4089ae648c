"""Paystack funding in the books, account by account, over the Paystack and VTpass simulators:
a collection is held, a vend pays the provider what it debited, a refund returns everything —
and once the payment is final its clearing account holds nothing. Money whose refund failed
with no payment to review it leaves the clearing account for suspense.

(Kept beside the Paystack flows, whose fixtures drive the simulated checkout.)
"""

from __future__ import annotations

import httpx
from paystack_flows import held_by_paystack, pay, paystack_airtime, refund_rows

from billpay.funding.paystack.collection import confirm_collection
from billpay.funding.paystack.refunder import run_refunds
from billpay.sandbox.paystack import PaystackSandboxState
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.periodic import expire_unfunded
from billpay.worker.runner import Worker
from flows import account_balance, create_payment, query, wait_for_status, wait_until

QUARANTINED = "funding:paystack:quarantined"


async def test_a_paystack_funded_payment_paid_leaves_nothing_held(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    payer: httpx.AsyncClient,
    vtpass: VTpassSandboxState,
) -> None:
    payment = await create_payment(api, paystack_airtime(50_000))
    reference = payment["funding_instructions"]["reference"]
    await pay(payer, reference)
    assert await confirm_collection(state, reference, actor="test") == "funded"

    await wait_for_status(api, payment["id"], {"paid"})

    [vend] = vtpass.vends()
    assert await account_balance(state, "external:paystack") == -50_000
    assert await held_by_paystack(state) == 0
    assert await account_balance(state, "provider:vtpass:payable") == vend.amount_kobo == 50_000


async def test_a_paystack_funded_payment_refunded_leaves_nothing_held(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
    vtpass: VTpassSandboxState,
) -> None:
    vtpass.options.strict_magic_numbers = True  # VTpass's own rule: this number fails
    paystack_sandbox.faults = paystack_sandbox.faults.model_copy(
        update={"refund_auto_advance_after": 1}
    )
    payment = await create_payment(api, paystack_airtime(50_000, customer_id="08031112222"))
    reference = payment["funding_instructions"]["reference"]
    await pay(payer, reference)
    assert await confirm_collection(state, reference, actor="test") == "funded"

    await wait_for_status(api, payment["id"], {"refunded"})

    assert vtpass.vends() == []
    assert await held_by_paystack(state) == 0
    assert await account_balance(state, "external:paystack") == 0  # all of it went back
    assert await account_balance(state, "provider:vtpass:payable") == 0


async def test_a_late_collection_whose_refund_fails_moves_to_suspense(
    api: httpx.AsyncClient,
    state: AppState,
    payer: httpx.AsyncClient,
    paystack_sandbox: PaystackSandboxState,
) -> None:
    paystack_sandbox.faults = paystack_sandbox.faults.model_copy(
        update={"refund_auto_advance_after": 1, "refund_outcome": "failed"}
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
    await pay(payer, reference)  # paid anyway, on the still-open checkout
    assert (await confirm_collection(state, reference, actor="test")).startswith("late")

    async def ended() -> bool:
        await run_refunds(state)
        return (await refund_rows(state))[0]["status"] == "failed"

    await wait_until(ended, what="the late refund to fail")

    total = payment["total_kobo"]
    assert await held_by_paystack(state) == 0
    assert await account_balance(state, QUARANTINED) == total  # visible, for an operator
    assert await account_balance(state, "external:paystack") == -total  # still not returned
