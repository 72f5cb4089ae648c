"""``billpay pay``: a client of the public API, as a merchant would write one."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from rich.console import Console

from billpay.cli.failures import ERROR, OK, CommandFailed, say_error
from billpay.money import format_naira

FINAL = {"paid", "refunded", "failed", "expired", "needs_review"}

# ``billpay pay``'s exit status: how the payment ended (the README's table).
PAID = OK
REJECTED = 3  # refused by the API, or failed/expired: nothing was charged
REFUNDED = 4  # refunded (or being refunded): the payer has their money back
PENDING = 5  # not final when --wait ran out: look again with `billpay payments show`
NEEDS_REVIEW = 6  # in front of an operator, with the evidence
EXIT_BY_STATUS = {
    "paid": PAID,
    "failed": REJECTED,
    "expired": REJECTED,
    "refunding": REFUNDED,
    "refunded": REFUNDED,
    "needs_review": NEEDS_REVIEW,
}


async def pay_and_follow(
    console: Console,
    api: str,
    key: str,
    plan: str,
    customer: str,
    amount_kobo: int | None,
    phone: str | None,
    reference: str,
    wait_seconds: float,
    *,
    funding: str = "balance",
    horizon: str | None = None,
    email: str | None = None,
) -> int:
    """Create the payment and follow it; the exit status for how it ended (``PAID``…)."""
    body: dict[str, Any] = {"request_reference": reference, "plan": plan, "customer_id": customer}
    if amount_kobo is not None:
        body["amount_kobo"] = amount_kobo
    if phone is not None:
        body["phone"] = phone
    if email is not None:
        body["email"] = email
    if funding != "balance":
        body["funding_method"] = funding
    headers = {"Authorization": f"Bearer {key}"}
    try:
        async with httpx.AsyncClient(base_url=api, headers=headers, timeout=30) as client:
            response = await client.post("/v1/payments", json=body)
            if response.status_code >= 400:
                return _refused(response)
            payment = _json(response)
            console.print(
                f"payment {payment['id']} {payment['status']} "
                f"({format_naira(payment['total_kobo'])} for {payment['plan_name']})"
            )
            instructions = payment.get("funding_instructions") or {}
            if funding == "stellar" and horizon is not None:
                await _pay_on_stellar(console, horizon, instructions)
            elif instructions.get("checkout_url"):
                console.print(f"payer: pay at {instructions['checkout_url']}")
            deadline = asyncio.get_running_loop().time() + wait_seconds
            while payment["status"] not in FINAL and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.2)
                payment = _json(await client.get(f"/v1/payments/{payment['id']}"))
            console.print(f"status: [bold]{payment['status']}[/]")
            if payment.get("token"):
                console.print(f"token: [bold]{payment['token']}[/]  units: {payment.get('units')}")
            if payment.get("failure_reason"):
                console.print(f"reason: {payment['failure_reason']}")
            return EXIT_BY_STATUS.get(payment["status"], PENDING)
    except httpx.TransportError as exc:
        raise CommandFailed(
            f"cannot reach the billpay API at {api} ({type(exc).__name__}: {exc}); is "
            "`billpay up` (or `billpay api`) running there? --api sets the address"
        ) from None


def _json(response: httpx.Response) -> dict[str, Any]:
    """The API's JSON object; anything else means this is not a billpay API."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or not isinstance(body, dict):
        raise CommandFailed(
            f"{response.request.url} answered HTTP {response.status_code} without a payment: "
            "is --api a billpay API?"
        )
    return body


def _refused(response: httpx.Response) -> int:
    """A create the API refused: its error in one line; 3 when the payment itself was
    rejected (4xx), 1 when the server failed (5xx: try again, same reference)."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code") or "error"
    message = error.get("message") or response.reason_phrase
    say_error(f"payment refused: HTTP {response.status_code} {code}: {message}")
    return REJECTED if response.status_code < 500 else ERROR


async def _pay_on_stellar(console: Console, horizon: str, instructions: dict[str, Any]) -> None:
    """Play the payer: send the instructed cNGN with the memo, from a simulator account."""
    from billpay.funding.stellar.payer import pay_instructions

    console.print(
        f"paying {instructions['amount']} {instructions['asset_code']} to "
        f"{instructions['destination']} with memo {instructions['memo']}"
    )
    tx_hash = await pay_instructions(horizon, instructions)
    console.print(f"deposit sent: tx {tx_hash}")
