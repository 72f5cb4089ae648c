"""Helpers of the Stellar funding tests (imported as ``from stellar_flows import …``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from stellar_sdk import Asset, Keypair, Memo, TextMemo, TransactionBuilder
from stellar_sdk.server_async import ServerAsync

from billpay.funding.stellar.check import check_balance
from billpay.funding.stellar.watcher import run_watcher
from billpay.sandbox.horizon import CngnNetwork, HorizonState, TrustlineGrant, create_payer
from billpay.state import AppState
from flows import (
    PHONE,
    account_balance,
    airtime,
    create_payment,
    electricity,
    ledger_ok,
    query,
    wait_until,
)


class ShiftedClock:
    """The simulator's (and the refunder's) clock, which a test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Wallet:
    """Payers on the simulated network, paying with stellar-sdk over HTTP."""

    def __init__(self, server: ServerAsync, state: HorizonState, network: CngnNetwork) -> None:
        self.server = server
        self.state = state
        self.network = network

    def payer(self, balance: str = "100000", *, trustline: bool = True) -> Keypair:
        return create_payer(self.state, self.network, balance, trustline=trustline)

    def grant(self, account: Keypair | str, asset: Asset, balance: str = "0") -> None:
        account_id = account if isinstance(account, str) else account.public_key
        self.state.fund_account(account_id, trustlines=[TrustlineGrant(asset, balance)])

    async def pay(
        self,
        payer: Keypair,
        amount: str,
        memo: str | Memo | None,
        *,
        asset: Asset | None = None,
        destination: str | None = None,
    ) -> str:
        """A signed payment to the system account (cNGN unless ``asset``); its hash."""
        builder = TransactionBuilder(
            await self.server.load_account(payer.public_key), self.state.network_passphrase, 100
        ).append_payment_op(
            destination or self.network.system.public_key, asset or self.network.asset, amount
        )
        if memo is not None:
            builder.add_memo(TextMemo(memo) if isinstance(memo, str) else memo)
        transaction = builder.set_timeout(300).build()
        transaction.sign(payer)
        response = await self.server.submit_transaction(transaction)
        return str(response["hash"])

    async def path_pay(self, payer: Keypair, received: str, send_max_xlm: str, memo: str) -> str:
        """Spend XLM, the system account receives exactly ``received`` cNGN."""
        account = await self.server.load_account(payer.public_key)
        transaction = (
            TransactionBuilder(account, self.state.network_passphrase, 100)
            .append_path_payment_strict_receive_op(
                self.network.system.public_key,
                Asset.native(),
                send_max_xlm,
                self.network.asset,
                received,
                [],
            )
            .add_text_memo(memo)
            .set_timeout(300)
            .build()
        )
        transaction.sign(payer)
        response = await self.server.submit_transaction(transaction)
        return str(response["hash"])

    def sent_back(self, payer: Keypair | str) -> list[dict[str, Any]]:
        """Every payment the system account made to ``payer`` that the network applied."""
        payer_id = payer if isinstance(payer, str) else payer.public_key
        return [
            payment.body | {"memo": stored.body.get("memo"), "memo_type": stored.body["memo_type"]}
            for payment, stored in self.state.payments(account_id=payer_id, limit=10_000)
            if payment.body.get("from") == self.network.system.public_key
            and payment.body.get("to") == payer_id
        ]

    def cngn_balance(self, account: Keypair | str) -> int:
        """In stroops."""
        account_id = account if isinstance(account, str) else account.public_key
        found = self.state.account(account_id)
        assert found is not None
        trustline = found.trustlines.get(self.network.asset)
        return trustline.balance if trustline is not None else 0


def stellar_airtime(amount_kobo: int = 50_000, phone: str = PHONE) -> dict[str, Any]:
    """An airtime top-up the payer funds with a cNGN deposit."""
    return airtime(phone, amount_kobo, funding_method="stellar")


def stellar_electricity(amount_kobo: int = 500_000) -> dict[str, Any]:
    return electricity(amount_kobo=amount_kobo, funding_method="stellar")


async def create_unfunded(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """A Stellar-funded payment, created and waiting for its deposit."""
    payment = await create_payment(api, body)
    assert payment["status"] == "awaiting_funds"
    return payment


async def deposits(state: AppState) -> list[dict[str, Any]]:
    return await query(state, "SELECT * FROM stellar_deposits ORDER BY id")


async def refunds(state: AppState) -> list[dict[str, Any]]:
    return await query(state, "SELECT * FROM stellar_refunds ORDER BY id")


async def cursor_of(state: AppState, account: str) -> str | None:
    found = await query(
        state, "SELECT paging_token FROM stellar_cursors WHERE account = :a", a=account
    )
    return str(found[0]["paging_token"]) if found else None


async def ledger_kinds(state: AppState, payment_id: str | None = None) -> list[tuple[str, int]]:
    """(kind, amount) of the Stellar ledger entries, in order (of one payment, or all)."""
    found = await query(
        state,
        "SELECT e.kind, e.amount_kobo FROM ledger_entries e "
        "JOIN ledger_accounts d ON d.id = e.debit_account_id "
        "JOIN ledger_accounts c ON c.id = e.credit_account_id "
        "WHERE 'funding:stellar:held' IN (d.code, c.code) "
        "AND (CAST(:p AS uuid) IS NULL OR e.payment_id = CAST(:p AS uuid)) ORDER BY e.id",
        p=payment_id,
    )
    return [(r["kind"], r["amount_kobo"]) for r in found]


async def held_kobo(state: AppState) -> int:
    return await account_balance(state, "funding:stellar:held")


async def books_balance(state: AppState) -> None:
    """The ledger reconciles and the on-chain cNGN equals the ledger's view."""
    await ledger_ok(state)
    check = await check_balance(state)
    assert check.ok, check.lines()


class WatcherHandle:
    """``billpay watch`` in the test's loop, which a test can kill and start again."""

    def __init__(self, state: AppState, network: CngnNetwork) -> None:
        self.state = state
        self.network = network
        self.task: asyncio.Task[None] | None = None
        self.stop_event = asyncio.Event()

    async def start(self) -> None:
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(
            run_watcher(self.state, self.stop_event, reconnect_delay=0.05)
        )
        account = self.network.system.public_key
        await wait_until(lambda: _has_cursor(self.state, account))

    async def stop(self) -> None:
        if self.task is not None:
            self.stop_event.set()
            await asyncio.wait_for(self.task, timeout=30)
            self.task = None

    async def kill(self) -> None:
        """Die at once, as a killed process would (no clean stop)."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None


async def _has_cursor(state: AppState, account: str) -> bool:
    return await cursor_of(state, account) is not None
