"""Bringing billpay up: database URL, migrations, simulators, demo client, API + worker."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TypeVar

import uvicorn
from rich.console import Console

from billpay.app import create_app
from billpay.bootstrap import build_state
from billpay.catalog.service import SyncReport, sync
from billpay.clients.service import create_client, find_by_name, top_up
from billpay.config import Settings, get_settings
from billpay.db.embedded import start_embedded_postgres
from billpay.db.migrate import upgrade
from billpay.funding.stellar.config import StellarConfig
from billpay.funding.stellar.watcher import run_watcher
from billpay.ledger.service import available_balance
from billpay.logging import configure_logging
from billpay.sandbox.app import create_sandbox_app, sandbox_settings
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState
from billpay.worker.runner import Worker

T = TypeVar("T")

DEMO_CLIENT = "demo"
DEMO_BALANCE_KOBO = 100_000_000  # ₦1,000,000 to try things with


def database_url(settings: Settings, console: Console | None = None) -> str:
    """``DATABASE_URL`` if set, else the embedded Postgres in the data folder (started now)."""
    if settings.database_url:
        return settings.database_url
    if console:
        console.print(f"[dim]starting embedded PostgreSQL in {settings.data_dir}/postgres …[/]")
    return start_embedded_postgres(settings.data_dir)


def start_sandbox(settings: Settings) -> ThreadedServer:
    return ThreadedServer(
        create_sandbox_app(), host=settings.api_host, port=settings.sandbox_port
    ).start()


def with_sandbox(settings: Settings, sandbox_url: str) -> Settings:
    """Point every provider that has no real configuration at the simulators."""
    overlay = sandbox_settings(sandbox_url)
    return settings.model_copy(update=overlay)


@dataclass
class DemoClient:
    api_key: str
    balance_kobo: int


async def ensure_demo_client(state: AppState, data_dir: Path) -> DemoClient:
    """One demo merchant, its key kept in the data folder (readable by the owner only)."""
    key_file = data_dir / "demo-api-key"
    async with state.unit_of_work() as session:
        client = await find_by_name(session, DEMO_CLIENT)
        if client is None or not key_file.exists():
            if client is not None:
                client.name = f"{DEMO_CLIENT}-retired"
            client, api_key = await create_client(session, DEMO_CLIENT)
            balance = await top_up(session, client.id, DEMO_BALANCE_KOBO, "demo balance")
            key_file.write_text(api_key)
            os.chmod(key_file, stat.S_IRUSR | stat.S_IWUSR)
            return DemoClient(api_key, balance)
        return DemoClient(key_file.read_text().strip(), await available_balance(session, client.id))


async def sync_catalog(state: AppState) -> SyncReport:
    async with state.unit_of_work() as session:
        report = await sync(session, state.providers)
    state.plans.forget()
    return report


async def serve_api_and_worker(state: AppState, run_worker: bool = True) -> None:
    settings = state.settings
    config = uvicorn.Config(
        create_app(state),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(server.serve())]
    if run_worker:
        tasks.append(asyncio.create_task(Worker(state).run(stop)))
        if StellarConfig.from_settings(settings) is not None:
            tasks.append(asyncio.create_task(run_watcher(state, stop)))
    try:
        await tasks[0]
    finally:
        stop.set()
        await asyncio.gather(*tasks[1:], return_exceptions=True)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def exit_cleanly_on_sigterm() -> None:
    """For ``billpay up``: SIGTERM's default action skips atexit hooks, and the embedded
    Postgres is stopped by one (pgserver). uvicorn re-raises the signal once the API has shut
    down, so exiting here lets the worker stop and the database stop after it."""
    if threading.current_thread() is threading.main_thread():  # signals are main-thread only
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def prepare(settings: Settings, console: Console) -> tuple[Settings, str]:
    configure_logging(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url(settings, console)
    upgrade(url)
    return settings, url


def run_with_state(
    console: Console,
    work: Callable[[AppState], Awaitable[T]],
    sandbox_url: str | None = None,
) -> T:
    """A command's frame: settings from the environment (unconfigured providers pointed at the
    simulators at ``sandbox_url``, if given), the database migrated, then ``run_in_state``."""
    settings, url = prepare(get_settings(), console)
    if sandbox_url:
        settings = with_sandbox(settings, sandbox_url)
    return run_in_state(settings, url, work)


def run_in_state(
    settings: Settings, database_url: str, work: Callable[[AppState], Awaitable[T]]
) -> T:
    """Build the process's state, run ``work`` with it to the end, and always close it."""
    state = build_state(settings, database_url)

    async def main() -> T:
        try:
            return await work(state)
        finally:
            await state.aclose()

    return asyncio.run(main())
