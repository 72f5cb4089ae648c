"""Paystack funding end to end: the Paystack simulator (mounted at ``/paystack`` of the shared
sandbox server) and, for webhooks it sends itself, the billpay API served over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from billpay.app import create_app
from billpay.bootstrap import build_state
from billpay.config import Settings
from billpay.sandbox.paystack import PaystackSandboxState
from billpay.sandbox.server import ThreadedServer, serve
from billpay.state import AppState


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The worker's periodic jobs (inbox, verify poll, refunder) on a fast beat; VTpass alone
    # sells, so a vend is easy to count on its simulator.
    return {
        "periodic_interval_seconds": 0.1,
        "flutterwave_base_url": None,
        "interswitch_base_url": None,
    }


@pytest.fixture
def paystack_sandbox(sandbox_states: dict[str, Any]) -> Iterator[PaystackSandboxState]:
    sandbox: PaystackSandboxState = sandbox_states["paystack"]
    sandbox.webhooks = sandbox.webhooks.model_copy(update={"webhook_url": None})
    yield sandbox
    sandbox.webhooks = sandbox.webhooks.model_copy(update={"webhook_url": None})


@pytest.fixture
async def payer(sandbox: ThreadedServer) -> AsyncIterator[httpx.AsyncClient]:
    """The payer's browser on the Paystack checkout, and the simulator's controls."""
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/paystack", trust_env=False) as client:
        yield client


@pytest.fixture
def billpay_server(
    state: AppState,
    settings: Settings,
    database_url: str,
    paystack_sandbox: PaystackSandboxState,
) -> Iterator[ThreadedServer]:
    """The API over real HTTP, where the simulator POSTs its signed webhooks.

    It runs on its own thread and event loop, so it gets its own ``AppState`` (an engine is
    bound to the loop it connects on); ``state`` comes first so the tables are already clean.
    """
    server_state = build_state(settings, database_url)
    with serve(create_app(server_state, close_state=True)) as server:
        paystack_sandbox.webhooks = paystack_sandbox.webhooks.model_copy(
            update={"webhook_url": f"{server.url}/v1/webhooks/paystack"}
        )
        yield server
