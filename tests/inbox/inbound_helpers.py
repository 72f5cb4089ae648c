"""Helpers of the inbound webhook tests (imported as ``from inbound_helpers import …``)."""

from __future__ import annotations

from typing import Any

from billpay.sandbox.app import VTPASS_WEBHOOK_TOKEN
from billpay.state import AppState
from flows import query

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


async def attempt_of(state: AppState, payment_id: str) -> dict[str, Any]:
    (attempt,) = await query(
        state, "SELECT * FROM payment_attempts WHERE payment_id = :id", id=payment_id
    )
    return attempt
