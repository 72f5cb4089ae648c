"""Every deposit that must not be vended ends as specified: refunded to its sender once, in the
asset it came in (or quarantined when nothing can go back), and the books agree."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
from stellar_flows import (
    Wallet,
    WatcherHandle,
    books_balance,
    create_unfunded,
    deposits,
    ledger_kinds,
    refunds,
    stellar_airtime,
)
from stellar_sdk import Asset, Keypair, ReturnHashMemo

from billpay.sandbox.horizon import CngnNetwork
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import get_payment, wait_for_status, wait_until

STROOPS = 10**7


async def _settled(state: AppState, count: int = 1) -> list[dict[str, Any]]:
    """Waits for ``count`` deposits whose refunds have all finished; returns the deposits."""

    async def done() -> bool:
        found = await deposits(state)
        sent = await refunds(state)
        return (
            len(found) >= count
            and all(d["state"] not in ("refund_pending", "funded_overpaid") for d in found)
            and all(r["status"] in ("succeeded", "quarantined") for r in sent)
        )

    await wait_until(done, what="deposits to settle")
    return await deposits(state)


async def test_overpaid_in_whole_kobo_is_vended_and_the_excess_refunded_once(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    payer = wallet.payer("1000")

    await wallet.pay(payer, "512.35", payment["funding_instructions"]["memo"])

    paid = await wait_for_status(api, payment["id"], {"paid"})
    [deposit] = await _settled(state)
    assert deposit["state"] == "excess_refunded"
    [back] = wallet.sent_back(payer)
    assert (back["amount"], back["memo"]) == ("12.3500000", f"REFUND-{payment['short_id']}")
    assert wallet.cngn_balance(payer) == (1000 - 500) * STROOPS
    [refund] = await refunds(state)
    assert (refund["cause"], refund["amount_kobo"], refund["status"]) == (
        f"deposit:{deposit['operation_id']}:excess",
        1_235,
        "succeeded",
    )
    assert refund["fee_charged_stroops"] == 100  # XLM, outside the NGN ledger
    assert [e["to_status"] for e in paid["events"]][:2] == ["awaiting_funds", "pending"]
    assert await ledger_kinds(state, payment["id"]) == [
        ("funds_received", 51_235),
        ("vend", 50_000),
        ("excess_refund", 1_235),
    ] or await ledger_kinds(state, payment["id"]) == [
        ("funds_received", 51_235),
        ("excess_refund", 1_235),
        ("vend", 50_000),
    ]
    await books_balance(state)


async def test_underpaid_is_never_vended_and_everything_goes_back(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    payer = wallet.payer("1000")

    await wallet.pay(payer, "499.99", payment["funding_instructions"]["memo"])

    refunded = await wait_for_status(api, payment["id"], {"refunded", "needs_review"})
    assert refunded["status"] == "refunded"
    assert [e["to_status"] for e in refunded["events"]] == [
        "awaiting_funds",
        "refunding",
        "refunded",
    ]
    assert "1 kobo short" in refunded["failure_reason"]
    [deposit] = await _settled(state)
    assert deposit["state"] == "refunded"
    [back] = wallet.sent_back(payer)
    assert (back["amount"], back["memo"]) == ("499.9900000", f"REFUND-{payment['short_id']}")
    assert wallet.cngn_balance(payer) == 1000 * STROOPS
    assert await ledger_kinds(state, payment["id"]) == [
        ("funds_received", 49_999),
        ("refund", 49_999),
    ]
    await books_balance(state)


async def test_wrong_issuer_goes_back_in_that_asset_and_the_payment_stays_payable(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    fake = Asset("cNGN", Keypair.random().public_key)
    wallet.state.fund_account(fake.issuer)
    wallet.grant(wallet.network.system, fake)  # billpay's account happens to trust it
    payer = wallet.payer("0")
    wallet.grant(payer, fake, "600")

    await wallet.pay(payer, "500", payment["funding_instructions"]["memo"], asset=fake)

    [deposit] = await _settled(state)
    assert deposit["state"] == "refunded"
    assert deposit["asset_issuer"] == fake.issuer
    [back] = wallet.sent_back(payer)
    assert (back["asset_issuer"], back["amount"]) == (fake.issuer, "500.0000000")
    current = await get_payment(api, payment["id"])
    assert current["status"] == "awaiting_funds"  # it can still be paid in real cNGN
    assert await ledger_kinds(state) == []  # not naira: never in the NGN books
    await books_balance(state)

    await wallet.pay(wallet.payer(), "500", payment["funding_instructions"]["memo"])
    await wait_for_status(api, payment["id"], {"paid"})


async def test_xlm_goes_back_as_xlm(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    payer = wallet.payer()

    await wallet.pay(payer, "25.5", payment["funding_instructions"]["memo"], asset=Asset.native())

    [deposit] = await _settled(state)
    assert (deposit["state"], deposit["asset_code"]) == ("refunded", None)
    [back] = wallet.sent_back(payer)
    assert (back["asset_type"], back["amount"]) == ("native", "25.5000000")
    await books_balance(state)


@pytest.mark.parametrize("extra_settings", [{"stellar_payment_expiry_seconds": 1}], indirect=True)
async def test_deposit_for_an_expired_payment_goes_back(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    await wait_for_status(api, payment["id"], {"expired"})  # the worker's expiry job
    payer = wallet.payer("1000")

    await wallet.pay(payer, "500", payment["funding_instructions"]["memo"])

    [deposit] = await _settled(state)
    assert deposit["state"] == "refunded"
    [back] = wallet.sent_back(payer)
    assert (back["amount"], back["memo"]) == ("500.0000000", f"REFUND-{payment['short_id']}")
    expired = await get_payment(api, payment["id"])
    assert expired["status"] == "expired"
    notes = [e for e in expired["events"] if e["from_status"] == e["to_status"] == "expired"]
    assert "had expired" in notes[0]["reason"]
    assert await ledger_kinds(state, payment["id"]) == [
        ("funds_received", 50_000),
        ("refund", 50_000),
    ]
    await books_balance(state)


@pytest.mark.parametrize("extra_settings", [{"stellar_payment_expiry_seconds": 1}], indirect=True)
async def test_deposit_after_the_window_but_before_expiry_ran_is_refused(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    # No worker: nothing has expired the payment yet, but the network applied the deposit
    # after its window closed.
    payment = await create_unfunded(api, stellar_airtime(50_000))
    await asyncio.sleep(2.1)
    payer = wallet.payer("1000")

    await wallet.pay(payer, "500", payment["funding_instructions"]["memo"])

    refunding = await wait_for_status(api, payment["id"], {"refunding"})
    assert "after the window closed" in refunding["failure_reason"]
    [deposit] = await deposits(state)
    assert deposit["state"] == "refund_pending"


@pytest.mark.parametrize("memo", ["BILL-NOSUCHPAYMNT", "dinner money", None])
async def test_unknown_or_missing_memo_goes_back_with_a_return_memo(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
    memo: str | None,
) -> None:
    payer = wallet.payer("1000")

    tx_hash = await wallet.pay(payer, "321.09", memo)

    [deposit] = await _settled(state)
    assert deposit["state"] == "refunded"
    assert deposit["payment_id"] is None
    assert ("no memo" if memo is None else "names no payment") in deposit["reason"]
    [back] = wallet.sent_back(payer)
    assert back["amount"] == "321.0900000"
    assert back["memo_type"] == "return"
    assert base64.b64decode(back["memo"]) == ReturnHashMemo(bytes.fromhex(tx_hash)).memo_return
    assert wallet.cngn_balance(payer) == 1000 * STROOPS
    assert await ledger_kinds(state) == [("funds_received", 32_109), ("refund", 32_109)]
    await books_balance(state)


async def test_second_deposit_for_a_funded_payment_goes_back(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    payer = wallet.payer("1000")
    memo = payment["funding_instructions"]["memo"]

    await wallet.pay(payer, "500", memo)
    await wallet.pay(payer, "500", memo)

    await wait_for_status(api, payment["id"], {"paid"})
    first, second = await _settled(state, 2)
    assert (first["state"], second["state"]) == ("funded", "refunded")
    assert "already" in second["reason"]
    [back] = wallet.sent_back(payer)
    assert back["amount"] == "500.0000000"
    assert wallet.cngn_balance(payer) == 500 * STROOPS
    await books_balance(state)


async def test_dust_is_quarantined_with_the_evidence(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    payer = wallet.payer("1")

    await wallet.pay(payer, "0.0099999", payment["funding_instructions"]["memo"])

    [deposit] = await _settled(state)
    assert deposit["state"] == "quarantined"
    assert "nothing can be sent back" in deposit["reason"]
    assert deposit["raw"]["amount"] == "0.0099999"
    assert (await get_payment(api, payment["id"]))["status"] == "awaiting_funds"
    assert await refunds(state) == []
    await books_balance(state)  # the dust is accounted for outside the kobo ledger


async def test_inexact_amount_is_refused_and_the_whole_kobo_go_back(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    payer = wallet.payer("1000")

    await wallet.pay(payer, "500.0000001", payment["funding_instructions"]["memo"])

    refunded = await wait_for_status(api, payment["id"], {"refunded"})
    assert "not a whole number of kobo" in refunded["failure_reason"]
    [deposit] = await _settled(state)
    assert (deposit["amount_kobo"], deposit["state"]) == (None, "refunded")
    [back] = wallet.sent_back(payer)
    assert back["amount"] == "500.0000000"  # never more than was received
    await books_balance(state)


async def test_vend_failure_after_funding_returns_everything_the_payer_sent(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
    vtpass: Any,
    network: CngnNetwork,
) -> None:
    vtpass.options.strict_magic_numbers = True  # VTpass's own rule: other numbers fail
    payment = await create_unfunded(api, stellar_airtime(50_000, phone="08031112222"))
    payer = wallet.payer("1000")

    await wallet.pay(payer, "520", payment["funding_instructions"]["memo"])  # ₦20 too much

    refunded = await wait_for_status(api, payment["id"], {"refunded", "needs_review"})
    assert refunded["status"] == "refunded"
    assert [e["to_status"] for e in refunded["events"] if e["from_status"] != e["to_status"]] == [
        "awaiting_funds",
        "pending",
        "processing",
        "refunding",
        "refunded",
    ]
    [deposit] = await _settled(state)
    assert deposit["state"] == "refunded"
    sent = sorted(float(b["amount"]) for b in wallet.sent_back(payer))
    assert sent == [20.0, 500.0]  # the excess, and the rest: everything the payer sent
    assert wallet.cngn_balance(payer) == 1000 * STROOPS
    causes = sorted(r["cause"] for r in await refunds(state))
    assert causes == sorted(
        [f"deposit:{deposit['operation_id']}:excess", f"payment:{payment['id']}:vend_failed"]
    )
    assert vtpass.vends() == []
    await books_balance(state)
