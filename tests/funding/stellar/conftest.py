"""The Horizon simulator over real HTTP, with the cNGN issuer, billpay's system account and a
``HorizonClient`` pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from billpay.funding.stellar.horizon import HorizonClient
from billpay.sandbox.horizon import CngnNetwork, HorizonState, bootstrap_cngn, create_app
from billpay.sandbox.server import ThreadedServer, serve


@pytest.fixture(scope="module")
def horizon_state() -> HorizonState:
    return HorizonState()


@pytest.fixture(scope="module")
def horizon(horizon_state: HorizonState) -> Iterator[ThreadedServer]:
    with serve(create_app(horizon_state, sse_retry_ms=20)) as server:
        yield server
        horizon_state.end_streams()


@pytest.fixture
def cngn(horizon_state: HorizonState) -> CngnNetwork:
    horizon_state.reset()
    return bootstrap_cngn(horizon_state, system_balance="100000")


@pytest.fixture
async def client(horizon: ThreadedServer) -> AsyncIterator[HorizonClient]:
    async with HorizonClient(horizon.url, reconnect_delay=0.05) as horizon_client:
        yield horizon_client
