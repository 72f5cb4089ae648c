"""Several workers evaluate the alert rules on their own beats: the operators still hear once
per incident, and signing secrets stay out of the logs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog
from alert_helpers import ALERT_SECRET, OPERATORS_EMAIL
from outbox_helpers import RECEIVER_PATH, Receiver
from smtp_test_server import SmtpServer
from sqlalchemy import text

from billpay.alerts.jobs import evaluate_now
from billpay.logging import configure_logging
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import query, query_until

OPEN_BREAKER = """
    INSERT INTO provider_breakers (provider, biller, state, reason, since, open_until)
    VALUES ('flutterwave', 'BIL119', 'open', '3 of 4 definite failures', now(),
            now() + interval '1 hour')
"""
KEY = "breaker_open:flutterwave/BIL119"


@pytest.fixture
def settings_overrides(receiver: tuple[Receiver, ThreadedServer]) -> dict[str, Any]:
    return {
        "alert_webhook_url": receiver[1].url + RECEIVER_PATH,
        "alert_webhook_secret": ALERT_SECRET,
        "alert_email": OPERATORS_EMAIL,
        "allow_private_webhook_urls": True,
        # Every worker evaluates at every beat, as often as the machine lets it.
        "alert_interval_seconds": 0.01,
        "periodic_interval_seconds": 0.1,
    }


@pytest.fixture
def operators_smtp(monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer) -> SmtpServer:
    """The workers' dispatchers read SMTP_* from the environment."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("SMTP_FROM", "billpay <alerts@billpay.example>")
    return smtp_server


@pytest.fixture
async def workers(
    state: AppState, fresh_alerts: None, operators_smtp: SmtpServer
) -> AsyncIterator[list[Worker]]:
    stop = asyncio.Event()
    running = [Worker(state, worker_id=f"alerts-{n}") for n in range(3)]
    tasks = [asyncio.create_task(worker.run(stop)) for worker in running]
    yield running
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)


async def _execute(state: AppState, sql: str) -> None:
    async with state.unit_of_work() as session:
        await session.execute(text(sql))


def _webhook_types(receiver: Receiver) -> list[str]:
    return [json.loads(hit.body)["type"] for hit in receiver.accepted()]


async def test_three_workers_raise_one_incident_and_tell_the_operators_once(
    state: AppState,
    workers: list[Worker],
    receiver: tuple[Receiver, ThreadedServer],
    operators_smtp: SmtpServer,
) -> None:
    await _execute(state, OPEN_BREAKER)
    opened = await query_until(
        state,
        "SELECT id, opened_at, last_seen_at FROM alert_incidents WHERE key = :key",
        lambda rows: rows and rows[0]["last_seen_at"] > rows[0]["opened_at"],
        timeout=30,
        key=KEY,
    )
    # Seen again and again (last_seen_at moves on), raised once.
    seen = opened[0]["last_seen_at"]
    await query_until(
        state,
        "SELECT last_seen_at FROM alert_incidents WHERE key = :key",
        lambda rows: rows[0]["last_seen_at"] > seen,
        timeout=30,
        key=KEY,
    )
    await _execute(state, "DELETE FROM provider_breakers")
    await query_until(
        state,
        "SELECT resolved_at FROM alert_incidents WHERE key = :key",
        lambda rows: rows[0]["resolved_at"] is not None,
        timeout=30,
        key=KEY,
    )
    await query_until(
        state,
        "SELECT status FROM outbox_messages WHERE alert_id IS NOT NULL",
        lambda rows: [row["status"] for row in rows] == ["delivered"] * 4,
        timeout=30,
    )

    assert len(await query(state, "SELECT id FROM alert_incidents")) == 1
    assert _webhook_types(receiver[0]) == ["alert.opened", "alert.resolved"]
    assert len(operators_smtp.inbox.messages) == 2


async def test_concurrent_evaluations_open_one_incident(
    state: AppState, dispatcher: None, receiver: tuple[Receiver, ThreadedServer]
) -> None:
    await _execute(state, OPEN_BREAKER)

    evaluations = await asyncio.gather(*(evaluate_now(state) for _ in range(4)))

    assert sum(len(evaluation.opened) for evaluation in evaluations) == 1
    await query_until(
        state,
        "SELECT status FROM outbox_messages WHERE alert_id IS NOT NULL",
        lambda rows: [row["status"] for row in rows] == ["delivered"] * 2,
    )
    assert _webhook_types(receiver[0]) == ["alert.opened"]


@pytest.fixture
def production_logging() -> Iterator[None]:
    configure_logging("DEBUG")
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


async def test_the_signing_secret_never_reaches_the_logs(
    state: AppState,
    dispatcher: None,
    receiver: tuple[Receiver, ThreadedServer],
    capfd: pytest.CaptureFixture[str],
    production_logging: None,
) -> None:
    await _execute(state, OPEN_BREAKER)
    await evaluate_now(state)
    await query_until(
        state,
        "SELECT status FROM outbox_messages WHERE alert_id IS NOT NULL",
        lambda rows: [row["status"] for row in rows] == ["delivered"] * 2,
    )
    receiver[0].statuses = [500]  # a failed try is logged too
    await _execute(state, "DELETE FROM provider_breakers")
    await evaluate_now(state)
    await query_until(
        state,
        "SELECT status FROM outbox_messages WHERE alert_id IS NOT NULL",
        lambda rows: [row["status"] for row in rows] == ["delivered"] * 4,
        timeout=30,
    )

    output = capfd.readouterr()
    logs = output.out + output.err
    assert "alert_opened" in logs and "outbox_try_failed" in logs  # the logs were captured
    assert ALERT_SECRET not in logs
    assert ALERT_SECRET not in repr(state.settings)
