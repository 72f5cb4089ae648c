"""Each alert raises one incident while its condition lasts — evaluated twice, the operators get
one signed webhook and one email — and resolves it (one more of each) when it clears."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from alert_helpers import ALERT_SECRET, OPERATORS_EMAIL
from outbox_helpers import Receiver
from smtp_test_server import SmtpServer
from sqlalchemy import text

from billpay.alerts.jobs import evaluate_now
from billpay.outbox.signing import verify
from billpay.payments.lifecycle import transition
from billpay.payments.status import Status
from billpay.sandbox.flutterwave.state import FlutterwaveSandboxState
from billpay.sandbox.server import ThreadedServer
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import DEFAULT_BALANCE_KOBO, VTpassSandboxState
from billpay.state import AppState
from flows import create, query, query_until

ALERT_ROWS = "SELECT key, opened_at, last_seen_at, resolved_at FROM alert_incidents ORDER BY id"
UNDELIVERED = (
    "SELECT count(*) AS n FROM outbox_messages WHERE alert_id IS NOT NULL AND status <> 'delivered'"
)
ALERT_MESSAGES = "SELECT count(*) AS n FROM outbox_messages WHERE alert_id IS NOT NULL"


@dataclass
class World:
    state: AppState
    api: httpx.AsyncClient
    vtpass: VTpassSandboxState
    flutterwave: FlutterwaveSandboxState

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.state.unit_of_work() as session:
            await session.execute(text(sql), params)

    async def move(self, payment_id: str, *moves: tuple[Status, Status]) -> None:
        for from_status, to_status in moves:
            async with self.state.unit_of_work() as session:
                await transition(
                    session,
                    uuid.UUID(payment_id),
                    from_status,
                    to_status,
                    reason="provider said 099 past the deadline",
                    actor="test",
                )


@dataclass(frozen=True)
class Scenario:
    """How to bring one alert's condition about (returning its key) and how to clear it."""

    name: str
    start: Callable[[World], Awaitable[str]]
    clear: Callable[[World, str], Awaitable[None]]

    def __str__(self) -> str:
        return self.name


async def _stuck(world: World) -> str:
    payment_id = await create(world.api)  # no worker: it stays pending
    await world.execute(
        "UPDATE payments SET created_at = now() - interval '2 hours' WHERE id = :id",
        id=payment_id,
    )
    return f"payment_stuck:{payment_id}"


async def _stuck_cleared(world: World, key: str) -> None:
    await world.move(key.split(":")[1], (Status.PENDING, Status.FAILED))


async def _needs_review(world: World) -> str:
    payment_id = await create(world.api)
    await world.move(
        payment_id,
        (Status.PENDING, Status.PROCESSING),
        (Status.PROCESSING, Status.NEEDS_REVIEW),
    )
    return f"payment_needs_review:{payment_id}"


async def _reviewed(world: World, key: str) -> None:
    await world.move(key.split(":")[1], (Status.NEEDS_REVIEW, Status.REFUNDING))


async def _webhook_backlog(world: World) -> str:
    payment_id = await create(world.api)
    # A merchant webhook undelivered for an hour, its next try far away.
    await world.execute(
        """
        INSERT INTO outbox_messages (channel, payment_id, client_id, event_id, event_type,
            destination, body, idempotency_key, next_attempt_at, created_at)
        SELECT 'webhook', p.id, p.client_id, 1, 'payment.pending', 'https://merchant.example/h',
            '{}'::jsonb, 'test-backlog', now() + interval '1 day', now() - interval '1 hour'
        FROM payments AS p WHERE p.id = :id
        """,
        id=payment_id,
    )
    return "webhook_backlog:merchant-webhooks"


async def _webhooks_caught_up(world: World, key: str) -> None:
    await world.execute(
        "UPDATE outbox_messages SET status = 'delivered' WHERE idempotency_key = 'test-backlog'"
    )


async def _breaker_open(world: World) -> str:
    await world.execute(
        """
        INSERT INTO provider_breakers (provider, biller, state, reason, since, open_until)
        VALUES ('vtpass', '', 'open', '5 definite failures in a row', now(),
                now() + interval '1 hour')
        """
    )
    return "breaker_open:vtpass"


async def _breaker_closed(world: World, key: str) -> None:
    await world.execute("DELETE FROM provider_breakers")


def _attempts(outcome: str) -> Callable[[World], Awaitable[str]]:
    async def start(world: World) -> str:
        payment_id = await create(world.api)
        # Three recent interswitch attempts of a live payment, all with this outcome.
        await world.execute(
            """
            INSERT INTO payment_attempts (id, payment_id, number, provider, provider_reference,
                route_reason, outcome)
            SELECT gen_random_uuid(), CAST(:id AS uuid), n, 'interswitch',
                'ref-' || n || '-' || :id, 'test', :outcome
            FROM generate_series(1, 3) AS n
            """,
            id=payment_id,
            outcome=outcome,
        )
        kind = "failure" if outcome == "failed" else "unknown"
        return f"provider_{kind}_rate:interswitch"

    return start


async def _attempts_aged(world: World, key: str) -> None:
    # Out of the window: nothing left to judge the rate by.
    await world.execute(
        "UPDATE payment_attempts SET created_at = now() - interval '1 day', "
        "updated_at = now() - interval '1 day'"
    )


def _float_low(provider: str) -> Callable[[World], Awaitable[str]]:
    async def start(world: World) -> str:
        sandbox = world.vtpass if provider == "vtpass" else world.flutterwave
        sandbox.balance_kobo = 1_234_56  # ₦1,234.56, below the ₦50,000 threshold
        return f"provider_float_low:{provider}"

    return start


async def _float_topped_up(world: World, key: str) -> None:
    world.vtpass.balance_kobo = DEFAULT_BALANCE_KOBO
    world.flutterwave.balance_kobo = DEFAULT_BALANCE_KOBO


SCENARIOS = [
    Scenario("payment stuck", _stuck, _stuck_cleared),
    Scenario("payment needs review", _needs_review, _reviewed),
    Scenario("merchant webhook backlog", _webhook_backlog, _webhooks_caught_up),
    Scenario("breaker open", _breaker_open, _breaker_closed),
    Scenario("failure rate", _attempts("failed"), _attempts_aged),
    Scenario("unknown rate", _attempts("unknown"), _attempts_aged),
    Scenario("vtpass float low", _float_low("vtpass"), _float_topped_up),
    Scenario("flutterwave float low", _float_low("flutterwave"), _float_topped_up),
]


@pytest.fixture
def world(
    state: AppState, api: httpx.AsyncClient, sandbox_states: dict[str, Any], dispatcher: None
) -> World:
    return World(state, api, sandbox_states["vtpass"], sandbox_states["flutterwave"])


def _events(receiver: Receiver) -> list[dict[str, Any]]:
    """Every webhook the operators' receiver accepted, after checking its signature."""
    events = []
    for hit in receiver.accepted():
        assert verify(hit.body, hit.signature, [ALERT_SECRET])
        assert not verify(hit.body, hit.signature, ["another-secret"])
        events.append(json.loads(hit.body))
    return events


def _told(receiver: Receiver, smtp: SmtpServer) -> tuple[list[tuple[str, str]], list[str]]:
    webhooks = [(event["type"], event["data"]["alert"]["key"]) for event in _events(receiver)]
    # A long subject is folded across lines: read back as one line.
    return webhooks, [" ".join(str(message["Subject"]).split()) for message in smtp.inbox.messages]


async def _all_delivered(state: AppState, count: int) -> None:
    await query_until(state, ALERT_MESSAGES, lambda rows: rows[0]["n"] == count)
    await query_until(state, UNDELIVERED, lambda rows: rows[0]["n"] == 0, timeout=30)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_each_alert_fires_once_per_incident_and_resolves(
    scenario: Scenario,
    world: World,
    receiver: tuple[Receiver, ThreadedServer],
    smtp_server: SmtpServer,
) -> None:
    key = await scenario.start(world)

    first, second = await evaluate_now(world.state), await evaluate_now(world.state)
    assert [incident.key for incident in first.opened] == [key]
    assert second.evaluated and not second.opened and not second.resolved
    [incident] = await query(world.state, ALERT_ROWS)
    assert incident["key"] == key and incident["resolved_at"] is None
    assert incident["last_seen_at"] > incident["opened_at"]  # seen again, not raised again
    await _all_delivered(world.state, 2)
    webhooks, subjects = _told(receiver[0], smtp_server)
    assert webhooks == [("alert.opened", key)]
    assert len(subjects) == 1 and subjects[0].startswith("[billpay ALERT]")
    assert smtp_server.inbox.messages[0]["To"] == OPERATORS_EMAIL

    await scenario.clear(world, key)
    first, second = await evaluate_now(world.state), await evaluate_now(world.state)
    assert [incident.key for incident in first.resolved] == [key]
    assert not second.opened and not second.resolved
    [incident] = await query(world.state, ALERT_ROWS)
    assert incident["resolved_at"] is not None
    await _all_delivered(world.state, 4)
    webhooks, subjects = _told(receiver[0], smtp_server)
    assert webhooks == [("alert.opened", key), ("alert.resolved", key)]
    assert len(subjects) == 2 and subjects[1].startswith("[billpay RESOLVED]")


async def test_a_condition_that_returns_is_a_new_incident(
    world: World, receiver: tuple[Receiver, ThreadedServer], smtp_server: SmtpServer
) -> None:
    key = await _breaker_open(world)
    await evaluate_now(world.state)
    await _breaker_closed(world, key)
    await evaluate_now(world.state)
    await _breaker_open(world)
    await evaluate_now(world.state)
    await evaluate_now(world.state)

    rows = await query(world.state, ALERT_ROWS)
    assert [(row["key"], row["resolved_at"] is None) for row in rows] == [
        (key, False),
        (key, True),
    ]
    await _all_delivered(world.state, 6)
    webhooks, _ = _told(receiver[0], smtp_server)
    assert webhooks == [("alert.opened", key), ("alert.resolved", key), ("alert.opened", key)]


async def test_an_unreadable_float_leaves_its_incident_as_it_was(world: World) -> None:
    key = await _float_low("vtpass")(world)
    await evaluate_now(world.state)
    await _float_topped_up(world, key)
    world.vtpass.add_fault(FaultRule(kind=FaultKind.ERROR_5XX, endpoint="balance"))

    evaluation = await evaluate_now(world.state)

    assert not evaluation.resolved  # a balance that did not answer proves nothing
    [incident] = await query(world.state, ALERT_ROWS)
    assert incident["key"] == key and incident["resolved_at"] is None
    world.vtpass.set_faults(Faults())
    assert [i.key for i in (await evaluate_now(world.state)).resolved] == [key]


async def test_the_emails_say_what_happened(world: World, smtp_server: SmtpServer) -> None:
    key = await _needs_review(world)
    await evaluate_now(world.state)
    await _all_delivered(world.state, 2)

    [message] = smtp_server.inbox.messages
    body = _message_text(message)
    assert "needs review: provider said 099 past the deadline" in body
    assert key.split(":")[1] in body  # the payment id, to look it up


def _message_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def test_a_resolution_is_never_delivered_before_its_opening(
    world: World, receiver: tuple[Receiver, ThreadedServer]
) -> None:
    hook = receiver[0]
    hook.statuses = [503, 503]  # the opening fails twice: the resolution must wait for it
    key = await _breaker_open(world)
    await evaluate_now(world.state)
    await _breaker_closed(world, key)
    await evaluate_now(world.state)

    await _all_delivered(world.state, 4)
    sent = [(json.loads(hit.body)["type"], hit.status) for hit in hook.hits]
    assert sent == [
        ("alert.opened", 503),
        ("alert.opened", 503),
        ("alert.opened", 200),
        ("alert.resolved", 200),
    ]
