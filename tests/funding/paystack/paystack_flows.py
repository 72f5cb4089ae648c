"""Helpers of the Paystack funding tests (imported as ``from paystack_flows import …``)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import text

from billpay.funding.paystack.webhooks import SIGNATURE_HEADER, signature_for
from billpay.ledger.reconcile import reconcile
from billpay.sandbox.app import PAYSTACK_SECRET_KEY
from billpay.state import AppState

EMAIL = "payer@example.com"
PHONE = "08031234567"


def paystack_airtime(amount_kobo: int = 50_000, **extra: Any) -> dict[str, Any]:
    return {
        "request_reference": uuid.uuid4().hex,
        "plan": "mtn-airtime",
        "customer_id": PHONE,
        "amount_kobo": amount_kobo,
        "funding_method": "paystack",
        "email": EMAIL,
        **extra,
    }


async def create(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def pay(payer: httpx.AsyncClient, reference: str, **how: Any) -> None:
    """The payer completes the checkout (``amount_kobo``/``currency`` to pay the wrong thing)."""
    response = await payer.post(f"/_sandbox/checkout/{reference}/pay", json=how)
    assert response.status_code == 200, response.text


async def status_of(api: httpx.AsyncClient, payment_id: str) -> str:
    status: str = (await api.get(f"/v1/payments/{payment_id}")).json()["status"]
    return status


async def rows(state: AppState, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with state.unit_of_work() as session:
        result = await session.execute(text(sql), params)
        return [dict(row._mapping) for row in result]


async def refund_rows(state: AppState) -> list[dict[str, Any]]:
    return await rows(state, "SELECT * FROM paystack_refunds ORDER BY id")


async def inbox(state: AppState, provider: str = "paystack") -> list[dict[str, Any]]:
    return await rows(
        state,
        "SELECT * FROM webhook_inbox WHERE provider = :provider ORDER BY id",
        provider=provider,
    )


async def held_by_paystack(state: AppState) -> int:
    """What the ledger says billpay holds of Paystack payers' money (credits − debits)."""
    found = await rows(
        state,
        "SELECT COALESCE(SUM(CASE WHEN e.credit_account_id = a.id THEN e.amount_kobo "
        "ELSE -e.amount_kobo END), 0) AS held "
        "FROM ledger_accounts a JOIN ledger_entries e "
        "ON a.id IN (e.credit_account_id, e.debit_account_id) "
        "WHERE a.code = 'funding:paystack:held'",
    )
    return int(found[0]["held"])


async def ledger_ok(state: AppState) -> None:
    async with state.unit_of_work() as session:
        report = await reconcile(session)
    assert report.ok, report.lines()


def signed(
    event: str, data: dict[str, Any], key: str = PAYSTACK_SECRET_KEY
) -> tuple[bytes, dict[str, str]]:
    """A webhook body and headers as Paystack sends them (HMAC-SHA512 of the raw body)."""
    body = json.dumps({"event": event, "data": data}, separators=(",", ":")).encode()
    return body, {"content-type": "application/json", SIGNATURE_HEADER: signature_for(body, key)}


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 15.0, what: str = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
