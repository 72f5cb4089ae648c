"""Refunds over Stellar: the envelope is stored before it is sent, resent unchanged when the
answer is lost, rebuilt only once provably dead, and quarantined when the payer cannot take it.
The refunder runs by hand here (no worker), so each fault lands where the test puts it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from stellar_flows import (
    ShiftedClock,
    Wallet,
    WatcherHandle,
    books_balance,
    create_unfunded,
    deposits,
    held_kobo,
    refunds,
    stellar_airtime,
)
from stellar_sdk import TransactionBuilder

from billpay.funding.stellar.horizon import HorizonClient
from billpay.funding.stellar.refunder import ENVELOPE_TIMEOUT_SECONDS, run_refunds
from billpay.payments.review import resolve
from billpay.sandbox.horizon import FaultSettings
from billpay.state import AppState
from flows import get_payment, wait_until

STROOPS = 10**7


async def _underpaid(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, balance: str = "1000"
) -> tuple[dict[str, Any], Any]:
    """A payment refused for an underpayment of ₦400, its refund queued; (payment, payer)."""
    payment = await create_unfunded(api, stellar_airtime(50_000))
    payer = wallet.payer(balance)
    await wallet.pay(payer, "400", payment["funding_instructions"]["memo"])

    async def queued() -> bool:
        return len(await refunds(state)) == 1

    await wait_until(queued)
    return payment, payer


async def test_504_after_apply_is_resubmitted_unchanged_and_pays_once(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    payment, payer = await _underpaid(api, state, wallet)
    wallet.state.faults.arm(FaultSettings(submit_504_after_apply=1))

    assert await run_refunds(state) == 1

    [refund] = await refunds(state)
    assert refund["status"] == "succeeded"
    assert refund["attempts"] == 2  # the 504, then the same envelope again
    [back] = wallet.sent_back(payer)
    assert back["transaction_hash"] == refund["tx_hash"]
    assert back["amount"] == "400.0000000"
    assert wallet.cngn_balance(payer) == 1000 * STROOPS
    assert (await get_payment(api, payment["id"]))["status"] == "refunded"
    await books_balance(state)


async def test_answers_lost_every_time_then_the_hash_is_looked_up(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    payment, payer = await _underpaid(api, state, wallet)
    wallet.state.faults.arm(FaultSettings(submit_504_after_apply=10))

    await run_refunds(state)  # applied at once, but every answer is a 504

    [refund] = await refunds(state)
    assert (refund["status"], refund["attempts"]) == ("submitting", 3)
    assert refund["last_result"]["kind"] == "unknown"
    assert len(wallet.sent_back(payer)) == 1
    assert (await get_payment(api, payment["id"]))["status"] == "refunding"

    await run_refunds(state)  # looks the hash up before anything else: found, done

    [refund] = await refunds(state)
    assert (refund["status"], refund["attempts"]) == ("succeeded", 3)
    assert len(wallet.sent_back(payer)) == 1
    assert (await get_payment(api, payment["id"]))["status"] == "refunded"
    await books_balance(state)


async def test_envelope_is_stored_before_submission_and_reused_after_a_crash(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, payer = await _underpaid(api, state, wallet)

    async def crash(self: HorizonClient, envelope_xdr: str) -> Any:
        raise RuntimeError("the process died while sending")

    monkeypatch.setattr(HorizonClient, "submit", crash)
    await run_refunds(state)
    monkeypatch.undo()

    [stored] = await refunds(state)
    assert stored["status"] == "submitting"
    assert stored["envelope_xdr"] and stored["tx_hash"] and stored["max_time"]
    assert wallet.sent_back(payer) == []

    await run_refunds(state)

    [refund] = await refunds(state)
    assert refund["status"] == "succeeded"
    assert refund["tx_hash"] == stored["tx_hash"]  # the very envelope stored first
    [back] = wallet.sent_back(payer)
    assert back["transaction_hash"] == stored["tx_hash"]
    await books_balance(state)


async def test_rebuilt_only_after_the_old_envelope_expired_unknown(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    clock: ShiftedClock,
) -> None:
    payment, payer = await _underpaid(api, state, wallet)
    wallet.state.faults.arm(FaultSettings(submit_503_before_apply=10))  # nothing applies

    await run_refunds(state, clock=clock)
    await run_refunds(state, clock=clock)  # still alive: the same envelope, never a new one

    [first] = await refunds(state)
    assert (first["status"], first["attempts"], first["superseded_hashes"]) == (
        "submitting",
        6,
        [],
    )
    wallet.state.faults.arm(FaultSettings())
    clock.offset = ENVELOPE_TIMEOUT_SECONDS + 61  # past max_time and the margin

    await run_refunds(state, clock=clock)

    [refund] = await refunds(state)
    assert refund["status"] == "succeeded"
    assert refund["superseded_hashes"] == [first["tx_hash"]]
    assert refund["tx_hash"] != first["tx_hash"]
    [back] = wallet.sent_back(payer)
    assert back["transaction_hash"] == refund["tx_hash"]
    assert wallet.state.transaction(first["tx_hash"]) is None
    assert (await get_payment(api, payment["id"]))["status"] == "refunded"
    await books_balance(state)


async def test_no_trustline_quarantines_then_an_operator_retries(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    payment, payer = await _underpaid(api, state, wallet, balance="400")
    await _drop_trustline(wallet, payer)  # sent everything, then removed the trustline

    await run_refunds(state)

    [refund] = await refunds(state)
    assert refund["status"] == "quarantined"
    assert "op_no_trust" in refund["last_error"]
    review = await get_payment(api, payment["id"])
    assert review["status"] == "needs_review"
    assert "op_no_trust" in review["failure_reason"]
    [deposit] = await deposits(state)
    assert deposit["state"] == "quarantined"
    assert "op_no_trust" in deposit["reason"]
    assert await held_kobo(state) == 40_000  # still held, in the books and on the network
    await books_balance(state)

    wallet.grant(payer, wallet.network.asset)  # the payer trusts cNGN again
    async with state.unit_of_work() as session:
        await resolve(
            session,
            payment["id"],
            "refund",
            "payer re-added the cNGN trustline (called them)",
            "ops",
        )
    await run_refunds(state)

    [refund] = await refunds(state)
    assert refund["status"] == "succeeded"
    assert refund["superseded_hashes"]  # the failed envelope, kept as evidence
    assert (await get_payment(api, payment["id"]))["status"] == "refunded"
    assert wallet.cngn_balance(payer) == 400 * STROOPS
    assert await held_kobo(state) == 0
    await books_balance(state)


async def test_refunding_payment_gets_one_refund_however_often_the_job_runs(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    _, payer = await _underpaid(api, state, wallet)
    for _ in range(3):
        await run_refunds(state)
    assert len(await refunds(state)) == 1
    assert len(wallet.sent_back(payer)) == 1


async def _drop_trustline(wallet: Wallet, payer: Any) -> None:
    account = await wallet.server.load_account(payer.public_key)
    transaction = (
        TransactionBuilder(account, wallet.state.network_passphrase, 100)
        .append_change_trust_op(wallet.network.asset, limit="0")
        .set_timeout(60)
        .build()
    )
    transaction.sign(payer)
    await wallet.server.submit_transaction(transaction)
