"""Outbox test helpers: a client's webhook receiver, a fast retry schedule, dispatchers."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from billpay.notifications import NotificationSettings
from billpay.outbox.dispatcher import Dispatcher
from billpay.outbox.signing import SIGNATURE_HEADER
from billpay.payments import repository as payments_repo
from billpay.payments import settlement
from billpay.payments.lifecycle import transition
from billpay.payments.status import Status
from billpay.state import AppState

# The payer-notification test servers live with the notification tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notifications"))

from sms_test_hook import HOOK_TOKEN
from smtp_test_server import SmtpServer

RECEIVER_PATH = "/billpay-events"
RetryAt = Callable[[int, datetime, datetime], datetime | None]


@dataclass(frozen=True)
class Hit:
    at: float
    body: bytes
    signature: str | None
    status: int


@dataclass
class Receiver:
    """A client's webhook endpoint: answers ``statuses`` in turn (then 200), keeps every hit."""

    statuses: list[int] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)

    def asgi_app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            body = await request.body()
            status = self.statuses.pop(0) if self.statuses else 200
            self.hits.append(Hit(time.time(), body, request.headers.get(SIGNATURE_HEADER), status))
            return Response(status_code=status)

        return Starlette(routes=[Route(RECEIVER_PATH, receive, methods=["POST"])])

    def accepted(self) -> list[Hit]:
        return [hit for hit in self.hits if hit.status < 300]


@dataclass(frozen=True)
class HookedClient:
    id: uuid.UUID
    api_key: str
    secret: str
    url: str


def fast_retries(step_seconds: float = 0.2, max_attempts: int = 20) -> RetryAt:
    """The backoff's shape on a test clock: ``step × attempt``, given up after ``max_attempts``."""

    def retry_at(attempt: int, first_attempt_at: datetime, now: datetime) -> datetime | None:
        if attempt >= max_attempts:
            return None
        return now + timedelta(seconds=step_seconds * attempt)

    return retry_at


Handle = tuple[asyncio.Event, "asyncio.Task[None]"]


class Dispatchers:
    """Starts dispatchers on the test's loop; whatever is still running is stopped at the end."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.running: list[Handle] = []

    def start(
        self, notifications: NotificationSettings | None = None, retry_at: RetryAt | None = None
    ) -> Handle:
        settings = notifications or NotificationSettings(_env_file=None)
        dispatcher = Dispatcher(self.state, settings, retry_at or fast_retries())
        stop = asyncio.Event()
        handle = (stop, asyncio.create_task(dispatcher.run(stop)))
        self.running.append(handle)
        return handle

    @staticmethod
    async def stop(handle: Handle) -> None:
        handle[0].set()
        await asyncio.wait_for(handle[1], timeout=30)

    async def stop_all(self) -> None:
        for handle in self.running:
            if not handle[1].done():
                await self.stop(handle)


def notification_settings(smtp: SmtpServer, sms_url: str | None = None) -> NotificationSettings:
    overrides: dict[str, Any] = {}
    if sms_url:
        overrides = {"sms_webhook_url": sms_url, "sms_webhook_token": HOOK_TOKEN}
    return smtp.settings(**overrides)


async def pay_by_hand(
    state: AppState, payment_id: str, token: str | None = None, units: str | None = None
) -> None:
    """pending → processing → paid, as the worker would, without a provider."""
    async with state.unit_of_work() as session:
        await transition(
            session,
            uuid.UUID(payment_id),
            Status.PENDING,
            Status.PROCESSING,
            reason="test",
            actor="test",
        )
    async with state.unit_of_work() as session:
        payment = await payments_repo.get(session, uuid.UUID(payment_id))
        assert payment is not None
        await settlement.mark_paid(
            session,
            payment,
            from_status=Status.PROCESSING,
            provider="vtpass",
            provider_transaction_id="tx-1",
            token=token,
            units=units,
            reason="test",
            actor="test",
        )
