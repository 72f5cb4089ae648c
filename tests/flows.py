"""Helpers shared by the tests (imported as ``from flows import …``): a request body per bill
type, creating and paying payments over the API, waiting, and reading rows back."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import text

from billpay.clients.service import create_client
from billpay.config import PROVIDER_FIELDS, Settings
from billpay.ledger.reconcile import reconcile
from billpay.sandbox.app import sandbox_settings
from billpay.state import AppState
from billpay.worker.runner import Worker

PHONE = "08031234567"
# The simulators' documented valid customers.
METER = "1111111111111"
SMARTCARD = "1212121212"
BETTING_ACCOUNT = "BETTOR01"
# Where the worker leaves a balance-funded payment.
FINAL = frozenset({"paid", "refunded", "needs_review", "failed"})
Rows = list[dict[str, Any]]


BILL_PROVIDERS = ("vtpass", "flutterwave", "interswitch")


def make_settings(sandbox_url: str, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        **sandbox_settings(sandbox_url),
        "database_url": database_url,
        "retry_schedule_seconds": [0.05, 0.1, 0.2],
        "poll_interval_seconds": 0.5,
        "lease_seconds": 5.0,
        "provider_timeout_seconds": 2.0,
        # Up to 20 connections per state: several test runs share one server's 100. A busy
        # machine makes a burst of requests wait for a connection far longer than production
        # would: the wait is generous so that it slows a test down instead of failing it.
        "db_pool_size": 10,
        "db_pool_timeout_seconds": 120.0,
        # Opening a connection on a loaded machine (the CI suite beside a chaos soak) took
        # longer than the 5 s default: 50 concurrent creates answered 503.
        "db_connect_timeout_seconds": 60.0,
        # Alert rules call the simulators' balance endpoints: only the alert tests turn them on.
        "alert_interval_seconds": 0.0,
    }
    values.update(overrides)
    # A test leaves a provider out by blanking one of its settings: blank the rest with it,
    # or the settings are a provider configured halfway (refused at startup).
    for fields in PROVIDER_FIELDS.values():
        if any(field in overrides and overrides[field] is None for field in fields.required):
            values.update(dict.fromkeys(fields.required))
    return Settings.model_validate(values)


def routed_only_to(*providers: str) -> dict[str, Any]:
    """Settings overrides leaving every bill provider but ``providers`` wholly unconfigured
    (a provider configured halfway is a startup error)."""
    dropped = [name for name in BILL_PROVIDERS if name not in providers]
    return {
        key: None
        for key in sandbox_settings("http://sandbox")
        if key.split("_")[0] in dropped and Settings.model_fields[key].default is None
    }


def _body(plan: str, customer_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "request_reference": uuid.uuid4().hex,
        "plan": plan,
        "customer_id": customer_id,
        **fields,
    }


def airtime(phone: str = PHONE, amount_kobo: int = 50_000, **extra: Any) -> dict[str, Any]:
    return _body("mtn-airtime", phone, {"amount_kobo": amount_kobo, **extra})


def data(phone: str = PHONE, plan: str = "mtn-data-10gb-30d", **extra: Any) -> dict[str, Any]:
    """A fixed-price bundle: the catalog sets the amount."""
    return _body(plan, phone, extra)


def electricity(
    meter: str = METER,
    amount_kobo: int = 500_000,
    plan: str = "ikeja-electric-prepaid",
    **extra: Any,
) -> dict[str, Any]:
    return _body(plan, meter, {"amount_kobo": amount_kobo, "phone": PHONE, **extra})


def cable(smartcard: str = SMARTCARD, plan: str = "dstv-compact", **extra: Any) -> dict[str, Any]:
    """The bouquet ``plan`` at its price (a change: every provider sells it). A renewal —
    ``subscription_type="renew"`` — is charged the renewal amount VTpass quotes instead."""
    return _body(plan, smartcard, {"phone": PHONE, "subscription_type": "change", **extra})


def betting(
    account: str = BETTING_ACCOUNT, amount_kobo: int = 100_000, **extra: Any
) -> dict[str, Any]:
    return _body("bet9ja-wallet", account, {"amount_kobo": amount_kobo, "phone": PHONE, **extra})


async def create_payment(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """The payment as the API returned it on creation."""
    response = await api.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def create(api: httpx.AsyncClient, body: dict[str, Any] | None = None) -> str:
    """A new payment's id (an airtime top-up unless ``body``)."""
    payment = await create_payment(api, body or airtime())
    payment_id: str = payment["id"]
    return payment_id


async def get_payment(api: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get(f"/v1/payments/{payment_id}")).json()
    return body


async def status_of(api: httpx.AsyncClient, payment_id: str) -> str:
    status: str = (await get_payment(api, payment_id))["status"]
    return status


async def wait_until(
    condition: Callable[[], Any],
    what: str = "condition",
    timeout: float = 15.0,
) -> None:
    """Poll ``condition`` (plain or async) until it is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_for_status(
    api: httpx.AsyncClient, payment_id: str, statuses: Collection[str], timeout: float = 20.0
) -> dict[str, Any]:
    """Poll the API until the payment reaches one of ``statuses``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = await get_payment(api, payment_id)
        if body.get("status") in statuses:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"payment stuck in {body.get('status')}: {body}")
        await asyncio.sleep(0.05)


async def pay(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create a payment and wait for the worker to bring it to an outcome."""
    return await wait_for_status(api, await create(api, body), FINAL)


async def query(state: AppState, sql: str, **params: Any) -> Rows:
    async with state.unit_of_work() as session:
        result = await session.execute(text(sql), params)
        return [dict(row._mapping) for row in result]


async def row_count(state: AppState, table: str) -> int:
    async with state.unit_of_work() as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def query_until(
    state: AppState,
    sql: str,
    condition: Callable[[Rows], Any],
    timeout: float = 15.0,
    **params: Any,
) -> Rows:
    """``query`` repeated until its rows satisfy ``condition`` (results commit after a send)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition(rows := await query(state, sql, **params)):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"rows never matched: {rows}")
        await asyncio.sleep(0.05)
    return rows


async def insert_payment(
    state: AppState, status: str, client_id: uuid.UUID | None = None, total_kobo: int = 100
) -> uuid.UUID:
    """A balance-funded airtime payment in ``status``, written straight to its table (for a
    new client unless ``client_id``): no reservation, no events."""
    payment_id = uuid.uuid4()
    async with state.unit_of_work() as session:
        if client_id is None:
            client_id = (await create_client(session, "direct payments"))[0].id
        await session.execute(
            text(
                "INSERT INTO payments (id, short_id, client_id, request_reference, "
                "request_fingerprint, bill_type, biller, plan, plan_name, customer_id, "
                "amount_kobo, fee_kobo, total_kobo, funding_method, status) VALUES "
                "(:id, :short, :client, :ref, 'x', 'airtime', 'mtn', 'mtn-airtime', 'MTN', "
                "'08011111111', :total, 0, :total, 'balance', :status)"
            ),
            {
                "id": payment_id,
                "short": payment_id.hex[:12],
                "client": client_id,
                "ref": payment_id.hex,
                "total": total_kobo,
                "status": str(status),  # a Status is a StrEnum
            },
        )
    return payment_id


async def inbox(state: AppState, provider: str | None = None) -> Rows:
    """The inbound webhooks billpay recorded (of one provider, or all)."""
    if provider is None:
        return await query(state, "SELECT * FROM webhook_inbox ORDER BY id")
    return await query(
        state,
        "SELECT * FROM webhook_inbox WHERE provider = :provider ORDER BY id",
        provider=provider,
    )


async def account_balance(state: AppState, code: str) -> int:
    """Credits − debits of a ledger account, summed from its entries."""
    found = await query(
        state,
        "SELECT COALESCE(SUM(CASE WHEN e.credit_account_id = a.id THEN e.amount_kobo "
        "ELSE -e.amount_kobo END), 0) AS held FROM ledger_accounts a JOIN ledger_entries e "
        "ON a.id IN (e.credit_account_id, e.debit_account_id) WHERE a.code = :code",
        code=code,
    )
    return int(found[0]["held"])


async def ledger_ok(state: AppState) -> None:
    async with state.unit_of_work() as session:
        report = await reconcile(session)
    assert report.ok, report.lines()


@asynccontextmanager
async def running_worker(state: AppState) -> AsyncIterator[Worker]:
    """A worker running on ``state`` for the block (the ``worker`` fixture runs one per test)."""
    stop = asyncio.Event()
    worker = Worker(state)
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
