"""Helpers of the inbound webhook tests (imported as ``from inbound_helpers import …``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from billpay.sandbox.app import VTPASS_WEBHOOK_TOKEN
from billpay.state import AppState

VTPASS_URL = f"/v1/webhooks/vtpass/{VTPASS_WEBHOOK_TOKEN}"


def transaction_update(request_id: str, status: str, code: str = "000") -> dict[str, Any]:
    """A VTpass ``transaction-update`` callback, shaped like providers.md §1.10."""
    return {
        "type": "transaction-update",
        "data": {
            "code": code,
            "content": {"transactions": {"status": status, "transactionId": "17415980564672"}},
            "response_description": f"TRANSACTION {status.upper()}",
            "requestId": request_id,
            "amount": 500,
            "transaction_date": None,
            "purchased_code": "",
        },
    }


async def rows(state: AppState, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with state.unit_of_work() as session:
        result = await session.execute(text(sql), params)
        return [dict(row._mapping) for row in result]


async def inbox(state: AppState) -> list[dict[str, Any]]:
    return await rows(state, "SELECT * FROM webhook_inbox ORDER BY id")


async def attempt_of(state: AppState, payment_id: str) -> dict[str, Any]:
    (attempt,) = await rows(
        state, "SELECT * FROM payment_attempts WHERE payment_id = :id", id=payment_id
    )
    return attempt


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 15.0, what: str = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
