"""Alert fixtures: the operators' webhook receiver over real HTTP, their SMTP server (aiosmtpd),
alert settings pointing at both, and a dispatcher delivering the outbox to them."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

# The outbox tests' receiver and dispatcher helpers (which bring the SMTP test server along).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "outbox"))

from alert_helpers import ALERT_SECRET, OPERATORS_EMAIL
from outbox_helpers import RECEIVER_PATH, Dispatchers, Receiver
from smtp_test_server import SmtpServer, running_smtp_server

from billpay.db.engine import asyncpg_dsn
from billpay.sandbox.server import ThreadedServer, serve
from billpay.state import AppState


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, ThreadedServer]]:
    hook = Receiver()
    with serve(hook.asgi_app()) as server:
        yield hook, server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def settings_overrides(receiver: tuple[Receiver, ThreadedServer]) -> dict[str, Any]:
    return {
        "alert_webhook_url": receiver[1].url + RECEIVER_PATH,
        "alert_webhook_secret": ALERT_SECRET,
        "alert_email": OPERATORS_EMAIL,
        # The receiver is on loopback over plain http: the development setting allows it.
        "allow_private_webhook_urls": True,
        "alert_min_attempts": 3,
        "alert_stuck_minutes": 30.0,
        "alert_webhook_backlog_minutes": 15.0,
        "alert_float_min_kobo": 5_000_000,
    }


@pytest.fixture
async def fresh_alerts(state: AppState, database_url: str) -> None:
    """No incidents, breakers or switches left by earlier tests (payments are emptied by
    ``state``, and with them every outbox message)."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute(
            "TRUNCATE alert_incidents, provider_breakers, provider_switches CASCADE"
        )
    finally:
        await connection.close()


@pytest.fixture
async def dispatcher(
    state: AppState, smtp_server: SmtpServer, fresh_alerts: None
) -> AsyncIterator[Dispatchers]:
    """One dispatcher delivering the outbox to the receiver and the SMTP server."""
    running = Dispatchers(state)
    running.start(smtp_server.settings())
    yield running
    await running.stop_all()
