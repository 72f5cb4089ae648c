"""Bringing billpay up: database URL, migrations, simulators, demo client, API + worker."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import stat
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

from billpay.cli.failures import ERROR, CommandFailed, options, say_error

# The heavy parts (FastAPI, SQLAlchemy, stellar-sdk, uvicorn) are imported by the functions
# that use them, so that ``billpay --help`` and one-shot commands start in well under a second.
if TYPE_CHECKING:
    from fastapi import FastAPI

    from billpay.catalog.service import SyncReport
    from billpay.config import Settings
    from billpay.sandbox.server import ThreadedServer
    from billpay.state import AppState

T = TypeVar("T")

DEMO_CLIENT = "demo"
DEMO_BALANCE_KOBO = 100_000_000  # ₦1,000,000 to try things with


def database_url(settings: Settings, console: Console | None = None) -> str:
    """``DATABASE_URL`` if set, else the embedded Postgres in the data folder, started now and
    stopped when this process exits (normally, on an error, on SIGINT or SIGTERM)."""
    if settings.database_url:
        return settings.database_url
    from billpay.db.embedded import start_embedded_postgres

    if console:
        console.print(f"[dim]starting embedded PostgreSQL in {settings.data_dir}/postgres …[/]")
    return start_embedded_postgres(settings.data_dir)


# --- the simulators ------------------------------------------------------------------------


def start_sandbox(settings: Settings) -> ThreadedServer:
    from billpay.sandbox.app import create_sandbox_app
    from billpay.sandbox.paystack.state import PaystackSandboxState
    from billpay.sandbox.server import ThreadedServer

    paystack = PaystackSandboxState()
    # Where Paystack's dashboard would send webhooks: this billpay's route, so a payer is
    # credited as soon as the checkout is paid (not at the next verification poll).
    paystack.webhooks.webhook_url = (
        f"http://{settings.api_host}:{settings.api_port}/v1/webhooks/paystack"
    )
    return ThreadedServer(
        create_sandbox_app(paystack=paystack), host=settings.api_host, port=settings.sandbox_port
    ).start()


@dataclass(frozen=True)
class Simulated:
    """Settings with the unconfigured providers pointed at the simulators, and which."""

    settings: Settings
    simulated: tuple[str, ...]
    kept: tuple[str, ...]


def simulated(settings: Settings, sandbox_url: str) -> Simulated:
    """Point every provider with no configuration of its own at the simulators at
    ``sandbox_url``; a configured provider keeps its settings (a partial one is refused later,
    by ``check_provider_settings``, naming what is missing)."""
    from billpay.config import PROVIDER_FIELDS, configured_providers
    from billpay.sandbox.app import sandbox_settings

    overlay = sandbox_settings(sandbox_url)
    kept = configured_providers(settings)
    simulated = tuple(name for name in PROVIDER_FIELDS if name not in kept)
    update = {
        field: overlay[field]
        for name in simulated
        for field in PROVIDER_FIELDS[name].all
        if field in overlay
    }
    return Simulated(settings.model_copy(update=update), simulated, tuple(kept))


def with_sandbox(settings: Settings, sandbox_url: str) -> Settings:
    """Point every provider that has no real configuration at the simulators."""
    return simulated(settings, sandbox_url).settings


# ``billpay up`` leaves a note in the data folder while it runs, so that a separate command
# (``billpay catalog sync``, ``worker``, ``reconcile``…) sees the same providers it does.
UP_NOTE = "up.json"


def write_up_note(settings: Settings, sandbox_url: str) -> Path:
    note = settings.data_dir / UP_NOTE
    note.write_text(json.dumps({"pid": os.getpid(), "sandbox_url": sandbox_url}))
    return note


def running_up_sandbox(settings: Settings) -> str | None:
    """The simulators' URL of a ``billpay up`` running on this data folder, if one is."""
    try:
        note = json.loads((settings.data_dir / UP_NOTE).read_text())
        pid, url = int(note["pid"]), str(note["sandbox_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- ports ---------------------------------------------------------------------------------


def check_ports_free(host: str, ports: dict[str, int]) -> None:
    """Refuse, before anything starts or is printed, when a port to listen on is taken."""
    for what, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise CommandFailed(
                    f"{what} port {port} on {host} is in use ({exc.strerror}): stop what "
                    "listens there or choose another port"
                ) from None


# --- the demo merchant, the catalog ----------------------------------------------------------


@dataclass
class DemoClient:
    api_key: str
    balance_kobo: int


async def ensure_demo_client(state: AppState, data_dir: Path) -> DemoClient:
    """One demo merchant, its key kept in the data folder (readable by the owner only)."""
    from billpay.clients.service import create_client, find_by_name, top_up
    from billpay.ledger.service import available_balance

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
    from billpay.catalog.service import sync

    async with state.unit_of_work() as session:
        report = await sync(session, state.providers, list_prices=state.settings.plan_prices)
    state.plans.forget()
    return report


# --- serving -------------------------------------------------------------------------------


def create_app(state: AppState, **options: Any) -> FastAPI:
    from billpay.app import create_app as build_app

    return build_app(state, **options)


def configure_logging(level: str) -> None:
    from billpay.logging import configure_logging as configure

    configure(level)


async def serve_api_and_worker(
    state: AppState, stop: asyncio.Event, run_worker: bool = True
) -> None:
    """The API (and, with ``run_worker``, a worker and the deposit watcher) until ``stop``
    is set or the server is signalled; then everything stops in order."""
    import uvicorn

    from billpay.api.server import server_options
    from billpay.funding.stellar.config import StellarConfig
    from billpay.funding.stellar.watcher import run_watcher
    from billpay.worker.runner import Worker

    settings = state.settings
    config = uvicorn.Config(
        create_app(state),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
        log_config=None,  # uvicorn's lines go through billpay.logging (and its redaction)
        proxy_headers=False,  # forwarded headers: only from BILLPAY_TRUSTED_PROXIES (ops)
        **server_options(settings),  # slow clients are cut off (api/server.py)
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    tasks = []
    if run_worker:
        tasks.append(asyncio.create_task(Worker(state).run(stop)))
        if StellarConfig.from_settings(settings) is not None:
            tasks.append(asyncio.create_task(run_watcher(state, stop)))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await serving
        if not server.started:
            raise CommandFailed(
                f"the API could not listen on {settings.api_host}:{settings.api_port}"
            )
    finally:
        stop.set()
        stopping.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- signals -------------------------------------------------------------------------------


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    # Asked to stop: a clean exit (atexit hooks run: the embedded Postgres stops).
    raise SystemExit(0)


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM's default action skips atexit hooks, and the embedded Postgres is stopped by
    one (pgserver): a SIGTERM outside a service's loop exits 0 instead, running them."""
    if threading.current_thread() is threading.main_thread():  # signals are main-thread only
        signal.signal(signal.SIGTERM, _exit_on_signal)


def _stop_on_signals(stop: asyncio.Event) -> None:
    """In a service's loop, SIGINT and SIGTERM end it gracefully (work finishes, exit 0)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)


# --- a command's frame -----------------------------------------------------------------------


def log_level(settings: Settings, service: bool) -> str:
    """A service (API, worker, watcher) logs at BILLPAY_LOG_LEVEL (INFO): its log is its
    record. A command a person runs shows library and progress logs only when asked:
    ``--verbose``, or BILLPAY_LOG_LEVEL set."""
    if options.verbose:
        return "DEBUG" if options.debug else "INFO"
    if service or "log_level" in settings.model_fields_set:
        return settings.log_level
    return "WARNING"


def prepare(
    settings: Settings,
    console: Console,
    sandbox_url: str | None = None,
    *,
    migrate: bool = False,
    service: bool = False,
) -> tuple[Settings, str]:
    """Settings checked (unconfigured providers at ``sandbox_url``'s simulators, or those of a
    running ``billpay up``), the database started and at the latest migration: migrated with
    ``migrate``, else refused when behind (only ``db upgrade`` and ``up`` migrate)."""
    from billpay.config import check_provider_settings

    exit_cleanly_on_sigterm()
    configure_logging(log_level(settings, service))
    sandbox_url = sandbox_url or running_up_sandbox(settings)
    if sandbox_url:
        settings = with_sandbox(settings, sandbox_url)
    check_provider_settings(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The embedded server's start is news for `up` and services; not for a one-shot command.
    url = database_url(settings, console if migrate or service or options.verbose else None)
    from billpay.db.migrate import SchemaBehind, require_current_schema, upgrade

    if migrate:
        upgrade(url)
        return settings, url
    try:
        require_current_schema(url)
    except SchemaBehind as exc:
        raise CommandFailed(str(exc)) from None
    return settings, url


def run_with_state(
    console: Console,
    work: Callable[[AppState], Awaitable[T]],
    sandbox_url: str | None = None,
) -> T:
    """A command's frame: ``prepare``, then ``run_in_state``."""
    from billpay.config import get_settings

    settings, url = prepare(get_settings(), console, sandbox_url)
    return run_in_state(settings, url, work)


def run_service(
    console: Console,
    work: Callable[[AppState, asyncio.Event], Awaitable[None]],
    sandbox_url: str | None = None,
) -> None:
    """A long-running command (API, worker, watcher): like ``run_with_state``, with a stop
    event that SIGINT and SIGTERM set, so the process finishes its work and exits 0."""
    from billpay.config import get_settings

    settings, url = prepare(get_settings(), console, sandbox_url, service=True)
    run_in_state(settings, url, lambda state: serve_until_stopped(state, work))


def defer_garbage_collection() -> None:
    """A service's start is mostly imports: hundreds of thousands of objects that live as long
    as the process, which the cyclic collector would otherwise scan over and over (a sixth of
    the start). Off until the service's work first waits (``serve_until_stopped``)."""
    gc.disable()


def _collect_garbage_again() -> None:
    gc.freeze()  # what start-up built stays for the process's life: never scanned again
    gc.enable()


async def serve_until_stopped(
    state: AppState, work: Callable[[AppState, asyncio.Event], Awaitable[None]]
) -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    # Runs once ``work`` first waits: its imports and set-up (the API's app) are done by then.
    asyncio.get_running_loop().call_soon(_collect_garbage_again)
    await work(state, stop)


def run_in_state(
    settings: Settings, database_url: str, work: Callable[[AppState], Awaitable[T]]
) -> T:
    """Build the process's state, run ``work`` with it to the end, and always close it.

    A refusal (an ``ApiError``: an unknown id, a bad amount…) is one line on stderr and exit
    status 1 (``failures.Cli``); its unit of work rolled back, so nothing was written.
    """
    from billpay.bootstrap import build_state
    from billpay.errors import ApiError

    state = build_state(settings, database_url)

    async def main() -> T:
        try:
            return await work(state)
        finally:
            await state.aclose()

    try:
        return asyncio.run(main())
    except ApiError as exc:
        if options.debug:
            raise
        say_error(exc.message)
        raise typer.Exit(ERROR) from exc
