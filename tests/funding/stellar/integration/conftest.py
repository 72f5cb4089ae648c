"""Stellar funding end to end: real Postgres, the Horizon simulator over real HTTP (with an
adjustable clock), payers signing with stellar-sdk, the deposit watcher and the worker (whose
periodic jobs run the refunder) in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from stellar_flows import ShiftedClock, Wallet, WatcherHandle
from stellar_sdk.client.aiohttp_client import AiohttpClient
from stellar_sdk.server_async import ServerAsync

from billpay.db.engine import asyncpg_dsn
from billpay.sandbox.horizon import CngnNetwork, HorizonState, bootstrap_cngn
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState

PASSPHRASE = "Test SDF Network ; September 2015"


@pytest.fixture(scope="module")
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture(scope="module")
def horizon_state(clock: ShiftedClock) -> HorizonState:
    return HorizonState(PASSPHRASE, clock=clock)


@pytest.fixture
def network(horizon_state: HorizonState, clock: ShiftedClock) -> CngnNetwork:
    """A fresh network: the cNGN issuer and billpay's system account, holding no cNGN."""
    clock.offset = 0.0
    horizon_state.reset()
    return bootstrap_cngn(horizon_state, system_balance="0")


@pytest.fixture
def extra_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Per-test settings, by indirect parametrization."""
    extra: dict[str, Any] = getattr(request, "param", {})
    return extra


@pytest.fixture
def settings_overrides(
    horizon: ThreadedServer,
    horizon_state: HorizonState,
    network: CngnNetwork,
    extra_settings: dict[str, Any],
) -> dict[str, Any]:
    return {
        "periodic_interval_seconds": 0.1,
        "flutterwave_base_url": None,  # VTpass alone sells: vends are counted on its simulator
        "interswitch_base_url": None,
        "stellar_horizon_url": horizon.url,
        "stellar_network_passphrase": horizon_state.network_passphrase,
        "stellar_system_secret": network.system.secret,
        "cngn_asset_code": "cNGN",
        "cngn_asset_issuer": network.issuer.public_key,
        **extra_settings,
    }


@pytest.fixture(autouse=True)
async def _clean_stellar_tables(state: AppState, database_url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute("TRUNCATE stellar_refunds, stellar_deposits, stellar_cursors")
    finally:
        await connection.close()


@pytest.fixture
async def wallet(
    horizon: ThreadedServer, horizon_state: HorizonState, network: CngnNetwork
) -> AsyncIterator[Wallet]:
    async with ServerAsync(horizon.url, AiohttpClient()) as server:
        yield Wallet(server, horizon_state, network)


@pytest.fixture
async def watcher(state: AppState, network: CngnNetwork) -> AsyncIterator[WatcherHandle]:
    handle = WatcherHandle(state, network)
    await handle.start()
    yield handle
    await handle.stop()
