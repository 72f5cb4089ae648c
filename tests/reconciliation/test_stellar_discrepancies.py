"""The Stellar side, on the Horizon simulator over HTTP: the system account's cNGN against the
ledger's view, and every incoming payment against the deposits billpay recorded. And the
clean case end to end: a cNGN deposit watched, vended and reconciled on every side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from books_flows import kinds, of_kind, run
from stellar_sdk import Keypair, TextMemo, TransactionBuilder
from stellar_sdk.client.aiohttp_client import AiohttpClient
from stellar_sdk.server_async import ServerAsync

from billpay.funding.stellar.watcher import run_watcher
from billpay.reconciliation.schemas import Side
from billpay.sandbox.horizon import CngnNetwork, HorizonState, TrustlineGrant, create_payer
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, create_payment, query_until, wait_for_status

STELLAR_ONLY = {Side.STELLAR}


@pytest.fixture
async def server(horizon: ThreadedServer) -> AsyncIterator[ServerAsync]:
    async with ServerAsync(horizon.url, AiohttpClient()) as stellar:
        yield stellar


async def send_cngn(
    server: ServerAsync,
    horizon_state: HorizonState,
    network: CngnNetwork,
    payer: Keypair,
    amount: str,
    memo: str,
) -> str:
    """A signed cNGN payment to the system account; its hash."""
    transaction = (
        TransactionBuilder(
            await server.load_account(payer.public_key), horizon_state.network_passphrase, 100
        )
        .append_payment_op(network.system.public_key, network.asset, amount)
        .add_memo(TextMemo(memo))
        .set_timeout(300)
        .build()
    )
    transaction.sign(payer)
    return str((await server.submit_transaction(transaction))["hash"])


async def test_a_cngn_balance_the_ledger_does_not_know_is_found(
    state: AppState, horizon_state: HorizonState, network: CngnNetwork
) -> None:
    # 5 cNGN land on the system account with no operation record (as from before history)
    horizon_state.fund_account(
        network.system.public_key, trustlines=[TrustlineGrant(network.asset, "5")]
    )
    report = await run(state, STELLAR_ONLY)
    assert kinds(report) == {"stellar_balance_mismatch"}
    [found] = of_kind(report, "stellar_balance_mismatch")
    assert found.evidence["account"] == network.system.public_key
    assert found.evidence["on_chain_stroops"] == 50_000_000
    assert found.evidence["ledger_stroops"] == 0
    assert found.evidence["difference_stroops"] == 50_000_000


async def test_a_payment_on_horizon_billpay_never_recorded_is_found(
    state: AppState,
    horizon_state: HorizonState,
    network: CngnNetwork,
    server: ServerAsync,
) -> None:
    payer = create_payer(horizon_state, network, "100")
    tx_hash = await send_cngn(server, horizon_state, network, payer, "12.5", "BILL-NOWATCHER")
    report = await run(state, STELLAR_ONLY)
    [missing] = of_kind(report, "deposit_not_recorded")
    assert missing.evidence["tx_hash"] == tx_hash
    assert missing.evidence["amount"] == "12.5000000"
    assert missing.evidence["from"] == payer.public_key
    assert of_kind(report, "stellar_balance_mismatch")  # and the ledger never saw the money


async def test_a_cngn_deposit_watched_vended_and_reconciled_on_every_side_is_clean(
    state: AppState,
    api: httpx.AsyncClient,
    worker: Worker,
    horizon_state: HorizonState,
    network: CngnNetwork,
    server: ServerAsync,
) -> None:
    stop = asyncio.Event()
    watcher = asyncio.create_task(run_watcher(state, stop, reconnect_delay=0.05))
    try:
        payment = await create_payment(api, airtime("08011111111", funding_method="stellar"))
        instructions = payment["funding_instructions"]
        payer = create_payer(horizon_state, network, "1000")
        await query_until(
            state, "SELECT * FROM stellar_cursors", lambda rows: bool(rows), timeout=30
        )
        await send_cngn(
            server, horizon_state, network, payer, instructions["amount"], instructions["memo"]
        )
        assert (await wait_for_status(api, payment["id"], {"paid"}, 30))["status"] == "paid"
    finally:
        stop.set()
        await asyncio.wait_for(watcher, timeout=30)
    report = await run(state)
    assert report.ok, report.discrepancies
    checked = {side.side: side.checked for side in report.sides}
    assert checked == {Side.LEDGER: 1, Side.PROVIDERS: 1, Side.STELLAR: 2}
