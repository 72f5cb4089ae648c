"""Helpers of the Paystack funding tests (imported as ``from paystack_flows import …``)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from billpay.funding.paystack.webhooks import SIGNATURE_HEADER, signature_for
from billpay.sandbox.app import PAYSTACK_SECRET_KEY
from billpay.state import AppState
from flows import account_balance, airtime, query

EMAIL = "payer@example.com"


def paystack_airtime(amount_kobo: int = 50_000, **extra: Any) -> dict[str, Any]:
    """An airtime top-up the payer funds through a Paystack checkout."""
    return airtime(amount_kobo=amount_kobo, funding_method="paystack", email=EMAIL, **extra)


async def pay(payer: httpx.AsyncClient, reference: str, **how: Any) -> None:
    """The payer completes the checkout (``amount_kobo``/``currency`` to pay the wrong thing)."""
    response = await payer.post(f"/_sandbox/checkout/{reference}/pay", json=how)
    assert response.status_code == 200, response.text


async def refund_rows(state: AppState) -> list[dict[str, Any]]:
    return await query(state, "SELECT * FROM paystack_refunds ORDER BY id")


async def held_by_paystack(state: AppState) -> int:
    """What the ledger says billpay holds of Paystack payers' money (credits − debits)."""
    return await account_balance(state, "funding:paystack:held")


def signed(
    event: str, data: dict[str, Any], key: str = PAYSTACK_SECRET_KEY
) -> tuple[bytes, dict[str, str]]:
    """A webhook body and headers as Paystack sends them (HMAC-SHA512 of the raw body)."""
    body = json.dumps({"event": event, "data": data}, separators=(",", ":")).encode()
    return body, {"content-type": "application/json", SIGNATURE_HEADER: signature_for(body, key)}
