"""Stellar funding in the books, account by account, over the Horizon simulator: a deposit is
held, a vend pays the provider what it debited and the fee to revenue, a refund returns the
rest — and once the payment is final its clearing account holds nothing. Money that cannot go
back on its own leaves the clearing account for suspense, where an operator sees it.

(Kept beside the Stellar flows, whose fixtures drive the simulated network.)
"""

from __future__ import annotations

from typing import Any

import httpx
from stellar_flows import (
    Wallet,
    WatcherHandle,
    books_balance,
    create_unfunded,
    deposits,
    held_kobo,
    refunds,
    stellar_airtime,
    stellar_electricity,
)
from stellar_sdk import TransactionBuilder

from billpay.funding.stellar.refunder import run_refunds
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import account_balance, query, wait_for_status, wait_until

HELD = "funding:stellar:held"
QUARANTINED = "funding:stellar:quarantined"


async def _entry_kinds(state: AppState, payment_id: str) -> list[str]:
    rows = await query(
        state,
        "SELECT kind FROM ledger_entries WHERE payment_id = :id ORDER BY id",
        id=payment_id,
    )
    return [row["kind"] for row in rows]


async def _sum_of_all_balances(state: AppState) -> int:
    """Credits − debits over every account: zero, as double entry requires."""
    rows = await query(
        state,
        "SELECT COALESCE(SUM(CASE WHEN e.credit_account_id = a.id THEN e.amount_kobo "
        "ELSE -e.amount_kobo END), 0) AS total FROM ledger_entries e JOIN ledger_accounts a "
        "ON a.id IN (e.credit_account_id, e.debit_account_id)",
    )
    return int(rows[0]["total"])


async def test_a_stellar_funded_payment_paid_leaves_nothing_held(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
    vtpass: VTpassSandboxState,
) -> None:
    payment = await create_unfunded(api, stellar_electricity(500_000))  # + the ₦30 fee
    payer = wallet.payer("10000")

    await wallet.pay(payer, "5030", payment["funding_instructions"]["memo"])

    await wait_for_status(api, payment["id"], {"paid"})
    [vend] = vtpass.vends()
    assert await account_balance(state, "external:stellar") == -503_000
    assert await held_kobo(state) == 0
    assert await account_balance(state, "provider:vtpass:payable") == vend.amount_kobo == 500_000
    assert await account_balance(state, "revenue:fees") == 3_000
    assert await _entry_kinds(state, payment["id"]) == ["funds_received", "vend", "fee"]
    assert await _sum_of_all_balances(state) == 0
    await books_balance(state)


async def test_a_stellar_funded_payment_refunded_leaves_nothing_held(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
    vtpass: VTpassSandboxState,
) -> None:
    vtpass.options.strict_magic_numbers = True  # VTpass's own rule: other numbers fail
    payment = await create_unfunded(api, stellar_airtime(50_000, phone="08031112222"))
    payer = wallet.payer("1000")

    await wallet.pay(payer, "500", payment["funding_instructions"]["memo"])

    await wait_for_status(api, payment["id"], {"refunded"})
    assert vtpass.vends() == []
    assert await held_kobo(state) == 0
    assert await account_balance(state, "external:stellar") == 0  # all of it went back
    assert await account_balance(state, "provider:vtpass:payable") == 0
    assert await _entry_kinds(state, payment["id"]) == ["funds_received", "refund"]
    assert await _sum_of_all_balances(state) == 0
    await books_balance(state)


async def test_a_deposit_that_cannot_go_back_moves_to_suspense_and_held_drains(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    payer = wallet.payer("400")
    await wallet.pay(payer, "400", "dinner money")  # names no payment: it must go back
    await wait_until(lambda: _refund_count(state, 1), what="the refund to be queued")
    await _drop_trustline(wallet, payer)  # …to an account that no longer takes cNGN

    await run_refunds(state)

    [refund] = await refunds(state)
    assert refund["status"] == "quarantined"
    [deposit] = await deposits(state)
    assert (deposit["state"], deposit["payment_id"]) == ("quarantined", None)
    assert await held_kobo(state) == 0
    assert await account_balance(state, QUARANTINED) == 40_000  # visible, for an operator
    # Still on the system account, and in the ledger's view of it: billpay check agrees.
    assert await account_balance(state, "external:stellar") == -40_000
    assert await _sum_of_all_balances(state) == 0
    await books_balance(state)


async def _refund_count(state: AppState, count: int) -> bool:
    return len(await refunds(state)) >= count


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
