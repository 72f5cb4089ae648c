"""Reconciliation tests: real Postgres, the provider simulators and the Horizon simulator over
real HTTP; the runs and adjustments tables emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from billpay.db.engine import asyncpg_dsn
from billpay.sandbox.horizon import CngnNetwork, HorizonState, bootstrap_cngn, create_app
from billpay.sandbox.server import ThreadedServer, serve
from billpay.state import AppState

# VTpass alone is configured (the others' every setting unset).
ONLY_VTPASS = {
    name: None
    for name in (
        "flutterwave_base_url",
        "flutterwave_secret_key",
        "flutterwave_secret_hash",
        "interswitch_base_url",
        "interswitch_passport_url",
        "interswitch_client_id",
        "interswitch_client_secret",
        "interswitch_terminal_id",
    )
}


@pytest.fixture(scope="module")
def horizon_state() -> HorizonState:
    return HorizonState()


@pytest.fixture(scope="module")
def horizon(horizon_state: HorizonState) -> Iterator[ThreadedServer]:
    with serve(create_app(horizon_state, sse_retry_ms=20)) as server:
        yield server
        horizon_state.end_streams()


@pytest.fixture
def network(horizon_state: HorizonState) -> CngnNetwork:
    """A fresh network: the cNGN issuer and billpay's system account, holding no cNGN."""
    horizon_state.reset()
    return bootstrap_cngn(horizon_state, system_balance="0")


@pytest.fixture
def settings_overrides(
    horizon: ThreadedServer, horizon_state: HorizonState, network: CngnNetwork
) -> dict[str, Any]:
    """VTpass alone sells; Stellar is configured on the simulator; Horizon payments count
    as soon as they are applied (no grace for the watcher)."""
    return {
        **ONLY_VTPASS,
        "stellar_horizon_url": horizon.url,
        "stellar_network_passphrase": horizon_state.network_passphrase,
        "stellar_system_secret": network.system.secret,
        "cngn_asset_code": "cNGN",
        "cngn_asset_issuer": network.issuer.public_key,
        "reconcile_stellar_grace_seconds": 0.0,
        "reconcile_requeries_per_second": 50.0,
    }


@pytest.fixture(autouse=True)
async def _clean_books(state: AppState, database_url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute(
            "TRUNCATE reconciliation_runs, ledger_adjustments, stellar_refunds, "
            "stellar_deposits, stellar_cursors, paystack_refunds"
        )
    finally:
        await connection.close()
