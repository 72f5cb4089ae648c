"""Paying a bill with cNGN: instructions, the deposit that funds it, the vend, the books."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from stellar_flows import (
    Wallet,
    WatcherHandle,
    books_balance,
    create_unfunded,
    deposits,
    ledger_kinds,
    stellar_airtime,
    stellar_electricity,
)

from billpay.funding.stellar.memo import payment_memo
from billpay.sandbox.horizon import CngnNetwork
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import query, wait_for_status, wait_until


async def test_instructions_say_exactly_what_to_send(
    api: httpx.AsyncClient, network: CngnNetwork
) -> None:
    payment = await create_unfunded(api, stellar_electricity(500_000))  # + the ₦30 electricity fee

    instructions = payment["funding_instructions"]
    assert instructions == {
        "method": "stellar",
        "destination": network.system.public_key,
        "asset_code": "cNGN",
        "asset_issuer": network.issuer.public_key,
        "amount": "5030.0000000",
        "memo": f"BILL-{payment['short_id']}",
        "memo_type": "text",
        "expires_at": instructions["expires_at"],
    }
    assert len(instructions["memo"].encode()) <= 28
    assert instructions["memo"] == payment_memo(payment["short_id"])
    expires_at = datetime.fromisoformat(payment["funding_expires_at"])
    assert datetime.fromisoformat(instructions["expires_at"]) == expires_at
    assert (
        timedelta(minutes=29)
        < expires_at - datetime.now(UTC)
        <= timedelta(minutes=30)  # STELLAR_PAYMENT_EXPIRY_SECONDS default
    )


async def test_deposit_with_the_right_memo_and_amount_is_paid_once(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    worker: Worker,
    vtpass: VTpassSandboxState,
) -> None:
    payment = await create_unfunded(api, stellar_electricity(500_000))
    payer = wallet.payer("6000")
    tx_hash = await wallet.pay(payer, "5030.0000000", payment["funding_instructions"]["memo"])

    paid = await wait_for_status(api, payment["id"], {"paid"})
    assert paid["token"]  # the electricity token reached its owner
    assert [e["to_status"] for e in paid["events"]] == [
        "awaiting_funds",
        "pending",
        "processing",
        "paid",
    ]
    [deposit] = await deposits(state)
    assert (
        deposit
        | {
            "tx_hash": tx_hash,
            "from_account": payer.public_key,
            "asset_code": "cNGN",
            "asset_issuer": wallet.network.issuer.public_key,
            "amount": "5030.0000000",
            "amount_kobo": 503_000,
            "memo_type": "text",
            "memo": f"BILL-{payment['short_id']}",
            "state": "funded",
            "funded_payment": True,
        }
        == deposit
    )
    assert str(deposit["payment_id"]) == payment["id"]
    [attempt] = await query(
        state,
        "SELECT provider_reference FROM payment_attempts WHERE payment_id = :id",
        id=payment["id"],
    )
    assert vtpass.vend_count(attempt["provider_reference"]) == 1
    assert await ledger_kinds(state, payment["id"]) == [
        ("funds_received", 503_000),
        ("vend", 500_000),
        ("fee", 3_000),
    ]
    assert wallet.sent_back(payer) == []
    await books_balance(state)


async def test_path_payment_counts_by_the_amount_received(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    payment = await create_unfunded(api, stellar_airtime(250_000))
    payer = wallet.payer("0")  # holds XLM only; the path converts it

    await wallet.path_pay(payer, "2500", "400", payment["funding_instructions"]["memo"])

    await wait_for_status(api, payment["id"], {"pending", "processing", "paid"})
    [deposit] = await deposits(state)
    assert (deposit["path_payment"], deposit["amount_kobo"], deposit["state"]) == (
        True,
        250_000,
        "funded",
    )


async def test_the_same_record_delivered_twice_funds_once(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    await wallet.pay(wallet.payer(), "500", payment["funding_instructions"]["memo"])
    await wait_for_status(api, payment["id"], {"pending"})
    account = wallet.network.system.public_key

    # The stream delivers the record again: a restart from an older cursor (a restored
    # backup, a replayed stream…) hands the same operation to the watcher once more.
    await watcher.stop()
    async with state.unit_of_work() as session:
        await session.execute(
            text("UPDATE stellar_cursors SET paging_token = '0' WHERE account = :a"), {"a": account}
        )
    await watcher.start()
    later = await create_unfunded(api, stellar_airtime(70_000))
    await wallet.pay(wallet.payer(), "700", later["funding_instructions"]["memo"])
    await wait_for_status(api, later["id"], {"pending"})

    found = await deposits(state)
    assert [d["state"] for d in found] == ["funded", "funded"]
    assert await ledger_kinds(state, payment["id"]) == [("funds_received", 50_000)]
    events = [
        e["to_status"] for e in (await api.get(f"/v1/payments/{payment['id']}")).json()["events"]
    ]
    assert events == ["awaiting_funds", "pending"]


async def test_handler_given_the_same_record_twice_stores_it_once(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet
) -> None:
    from billpay.funding.stellar.config import StellarConfig
    from billpay.funding.stellar.watcher import DepositHandler

    payment = await create_unfunded(api, stellar_airtime(50_000))
    await wallet.pay(wallet.payer(), "500", payment["funding_instructions"]["memo"])
    account = wallet.network.system.public_key
    page = await wallet.server.payments().for_account(account).join("transactions").call()
    [record] = page["_embedded"]["records"]
    config = StellarConfig.from_settings(state.settings)
    assert config is not None
    handler = DepositHandler(state, config)
    async with state.unit_of_work() as session:
        await session.execute(
            text("INSERT INTO stellar_cursors (account, paging_token) VALUES (:a, '0')"),
            {"a": account},
        )

    cursor = await handler.handle([record, record], "0")  # twice in one batch
    async with state.unit_of_work() as session:  # and again from the old cursor
        await session.execute(
            text("UPDATE stellar_cursors SET paging_token = '0' WHERE account = :a"), {"a": account}
        )
    assert await handler.handle([record], "0") == record["paging_token"]

    [deposit] = await deposits(state)
    assert deposit["state"] == "funded"
    assert await ledger_kinds(state, payment["id"]) == [("funds_received", 50_000)]
    assert cursor == record["paging_token"]


async def test_unreadable_record_is_quarantined_and_the_stream_goes_on(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    from billpay.funding.stellar.config import StellarConfig
    from billpay.funding.stellar.watcher import DepositHandler

    await watcher.stop()
    payment = await create_unfunded(api, stellar_airtime(50_000))
    await wallet.pay(wallet.payer(), "500", payment["funding_instructions"]["memo"])
    account = wallet.network.system.public_key
    page = await wallet.server.payments().for_account(account).join("transactions").call()
    [good] = page["_embedded"]["records"]
    broken: dict[str, Any] = good | {
        "id": "1",
        "paging_token": "1",
        "amount": "lots",
        "transaction_hash": "ab" * 32,
    }
    config = StellarConfig.from_settings(state.settings)
    assert config is not None
    cursor = await _cursor(state, account)

    new_cursor = await DepositHandler(state, config).handle([broken, "garbage", good], cursor)

    assert new_cursor == good["paging_token"]
    found = {d["operation_id"]: d for d in await deposits(state)}
    assert found["1"]["state"] == "quarantined"
    assert "amount" in found["1"]["reason"] or "transaction" in found["1"]["reason"]
    assert found["1"]["raw"]["amount"] == "lots"
    [garbage] = [d for op, d in found.items() if op.startswith("sha256:")]
    assert garbage["state"] == "quarantined" and garbage["raw"] == {"record": "'garbage'"}
    assert found[good["id"]]["state"] == "funded"
    await wait_until(lambda: _status_is(api, payment["id"], "pending"))


async def test_deposit_whose_handling_fails_is_held_with_who_paid_what(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A readable deposit that cannot be handled is quarantined for an operator, with the
    payer, amount and memo on the row, not only in the raw record."""
    from billpay.funding.stellar.config import StellarConfig
    from billpay.funding.stellar.matching import Matcher
    from billpay.funding.stellar.watcher import DepositHandler

    await watcher.stop()
    payment = await create_unfunded(api, stellar_airtime(50_000))
    payer = wallet.payer()
    await wallet.pay(payer, "500", payment["funding_instructions"]["memo"])
    account = wallet.network.system.public_key
    page = await wallet.server.payments().for_account(account).join("transactions").call()
    [record] = page["_embedded"]["records"]
    config = StellarConfig.from_settings(state.settings)
    assert config is not None

    async def broken_policy(*_: Any) -> Any:
        raise ValueError("a rule that cannot be applied")

    monkeypatch.setattr(Matcher, "apply", broken_policy)
    cursor = await DepositHandler(state, config).handle([record], await _cursor(state, account))

    assert cursor == record["paging_token"]
    [held] = await deposits(state)
    assert held["state"] == "quarantined"
    assert "an operator decides" in held["reason"]
    assert held["from_account"] == payer.public_key
    assert held["amount_kobo"] == 50_000
    assert held["memo"] == payment["funding_instructions"]["memo"]
    assert await _status_is(api, payment["id"], "awaiting_funds")


async def _cursor(state: AppState, account: str) -> str:
    [row] = await query(
        state, "SELECT paging_token FROM stellar_cursors WHERE account = :a", a=account
    )
    return str(row["paging_token"])


async def _status_is(api: httpx.AsyncClient, payment_id: str, status: str) -> bool:
    return bool((await api.get(f"/v1/payments/{payment_id}")).json()["status"] == status)
