"""Shared fixtures: a real Postgres (the running server when TEST_DATABASE_URL/DATABASE_URL is
set, otherwise billpay's embedded one), the provider simulators over real HTTP, an app state,
an API client and a worker."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import structlog

from billpay.app import create_app
from billpay.bootstrap import build_state
from billpay.catalog.service import sync as sync_catalog
from billpay.clients.service import create_client, top_up
from billpay.config import Settings
from billpay.db.embedded import embedded_postgres
from billpay.db.engine import asyncpg_dsn
from billpay.db.migrate import upgrade
from billpay.ledger.repository import ACCOUNT_IDS
from billpay.sandbox.app import create_sandbox_app
from billpay.sandbox.flutterwave.state import FlutterwaveSandboxState
from billpay.sandbox.interswitch.state import InterswitchSandboxState
from billpay.sandbox.paystack.state import PaystackSandboxState
from billpay.sandbox.server import ThreadedServer
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import make_settings

# Tables emptied between tests; the catalog is synced once per session and kept.
TRANSIENT_TABLES = (
    "provider_calls",
    "payment_events",
    "payment_attempts",
    "ledger_entries",
    "ledger_accounts",
    "payments",
    "clients",
    "webhook_inbox",
    "operators",
    "operator_sessions",
    "operator_signin_failures",
    "provider_breakers",
    "provider_switches",
    "learned_networks",
)


def _admin_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    admin = _admin_url()
    if admin is None:
        with tempfile.TemporaryDirectory(prefix="billpay-test-") as data_dir:
            server = embedded_postgres(Path(data_dir))
            try:
                upgrade(server.url)
                yield server.url
            finally:
                server.stop()  # before its folder is deleted, or it outlives the tests
        return
    name = f"billpay_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    base, _, _ = asyncpg_dsn(admin).rpartition("/")
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    asyncio.run(_admin(admin, f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sandbox_states() -> dict[str, Any]:
    return {
        "vtpass": VTpassSandboxState(),
        "flutterwave": FlutterwaveSandboxState(),
        "interswitch": InterswitchSandboxState(),
        "paystack": PaystackSandboxState(),
    }


@pytest.fixture(scope="session")
def sandbox(sandbox_states: dict[str, Any]) -> Iterator[ThreadedServer]:
    server = ThreadedServer(create_sandbox_app(**sandbox_states)).start()
    yield server
    server.stop()


@pytest.fixture
def vtpass(sandbox_states: dict[str, Any]) -> VTpassSandboxState:
    state: VTpassSandboxState = sandbox_states["vtpass"]
    return state


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """A CLI command run in-process configures billpay's production logging (structlog
    printing straight to stderr); later tests' log captures must not inherit it."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _reset_sandboxes(sandbox_states: dict[str, Any]) -> None:
    for state in sandbox_states.values():
        state.reset()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Tests override settings by redefining this fixture or parametrizing it indirectly."""
    return {}


@pytest.fixture
def settings(
    sandbox: ThreadedServer, database_url: str, settings_overrides: dict[str, Any]
) -> Settings:
    return make_settings(sandbox.url, database_url, **settings_overrides)


_catalog_synced: set[str] = set()


@pytest.fixture
async def state(
    settings: Settings, database_url: str, sandbox: ThreadedServer
) -> AsyncIterator[AppState]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute(f"TRUNCATE {', '.join(TRANSIENT_TABLES)} CASCADE")
    finally:
        await connection.close()
    ACCOUNT_IDS.clear()  # the ledger's id cache would point at truncated rows
    if database_url not in _catalog_synced:
        # Every simulator's catalog, whatever providers this test configures.
        full = build_state(make_settings(sandbox.url, database_url), database_url)
        async with full.unit_of_work() as session:
            await sync_catalog(session, full.providers)
        await full.aclose()
        _catalog_synced.add(database_url)
    app_state = build_state(settings, database_url)
    yield app_state
    await app_state.aclose()


@pytest.fixture
async def merchant(state: AppState) -> tuple[uuid.UUID, str]:
    """A client with ₦1,000,000 of prepaid balance: (client id, API key)."""
    async with state.unit_of_work() as session:
        client, api_key = await create_client(session, "test merchant")
        await top_up(session, client.id, 100_000_000, "test top-up")
    return client.id, api_key


@pytest.fixture
async def api(state: AppState, merchant: tuple[uuid.UUID, str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(state)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://billpay.test",
        headers={"Authorization": f"Bearer {merchant[1]}"},
    ) as client:
        yield client


@pytest.fixture
async def worker(state: AppState) -> AsyncIterator[Worker]:
    stop = asyncio.Event()
    running = Worker(state)
    task = asyncio.create_task(running.run(stop))
    yield running
    stop.set()
    await asyncio.wait_for(task, timeout=30)
