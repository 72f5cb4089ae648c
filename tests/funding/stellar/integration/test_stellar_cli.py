"""``billpay pay --funding stellar`` playing the payer, and ``billpay stellar check``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rich.console import Console
from stellar_flows import Wallet, WatcherHandle, create_unfunded, stellar_airtime
from typer.testing import CliRunner

from billpay.app import create_app
from billpay.bootstrap import build_state
from billpay.cli.client import pay_and_follow
from billpay.cli.main import app as cli
from billpay.config import Settings, get_settings
from billpay.funding.stellar.check import check_balance
from billpay.sandbox.horizon import TrustlineGrant
from billpay.sandbox.server import ThreadedServer, serve
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import wait_for_status


@pytest.fixture
def billpay_server(
    state: AppState, settings: Settings, database_url: str
) -> Iterator[ThreadedServer]:
    """The API over real HTTP (its own state: an engine belongs to the loop it runs on)."""
    with serve(create_app(build_state(settings, database_url), close_state=True)) as server:
        yield server


async def test_pay_plays_the_payer_on_the_simulator(
    billpay_server: ThreadedServer,
    horizon: ThreadedServer,
    merchant: tuple[uuid.UUID, str],
    watcher: WatcherHandle,
    worker: Worker,
) -> None:
    console = Console(record=True, width=200)

    await pay_and_follow(
        console,
        billpay_server.url,
        merchant[1],
        "mtn-airtime",
        "08031234567",
        50_000,
        None,
        uuid.uuid4().hex,
        20.0,
        funding="stellar",
        horizon=horizon.url,
    )

    output = console.export_text()
    assert "paying 500.0000000 cNGN" in output
    assert "deposit sent: tx" in output
    assert "status: paid" in output


def test_stellar_check_command(
    api: httpx.AsyncClient,
    settings: Settings,
    database_url: str,
    wallet: Wallet,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "BILLPAY_DATA_DIR": str(tmp_path),
        "STELLAR_HORIZON_URL": settings.stellar_horizon_url,
        "STELLAR_NETWORK_PASSPHRASE": settings.stellar_network_passphrase,
        "STELLAR_SYSTEM_SECRET": settings.stellar_system_secret,
        "CNGN_ASSET_ISSUER": settings.cngn_asset_issuer,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()
    try:
        ok = CliRunner().invoke(cli, ["stellar", "check"])
        assert ok.exit_code == 0, ok.output
        assert "cNGN balance matches the ledger" in ok.output

        # cNGN that reached the account outside any deposit record: the books cannot know it.
        wallet.state.fund_account(
            wallet.network.system.public_key,
            trustlines=[TrustlineGrant(wallet.network.asset, "1.5")],
        )
        mismatch = CliRunner().invoke(cli, ["stellar", "check"])
        assert mismatch.exit_code == 1
        assert "MISMATCH: the network holds 1.5000000 more" in mismatch.output
    finally:
        get_settings.cache_clear()


async def test_check_counts_sub_kobo_dust_outside_the_ledger(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle, worker: Worker
) -> None:
    payment = await create_unfunded(api, stellar_airtime(50_000))
    await wallet.pay(wallet.payer(), "500.0000042", payment["funding_instructions"]["memo"])
    await wait_for_status(api, payment["id"], {"refunded"})

    result = await check_balance(state)

    assert result.ok, result.lines()
    assert (result.ledger_kobo, result.dust_stroops, result.on_chain_stroops) == (0, 42, 42)
