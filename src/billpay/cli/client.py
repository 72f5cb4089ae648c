"""``billpay pay``: a client of the public API, as a merchant would write one."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from rich.console import Console

from billpay.money import format_naira

FINAL = {"paid", "refunded", "failed", "expired", "needs_review"}


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
) -> None:
    body: dict[str, Any] = {"request_reference": reference, "plan": plan, "customer_id": customer}
    if amount_kobo is not None:
        body["amount_kobo"] = amount_kobo
    if phone is not None:
        body["phone"] = phone
    if funding != "balance":
        body["funding_method"] = funding
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=30) as client:
        response = await client.post("/v1/payments", json=body)
        if response.status_code >= 400:
            error = response.json().get("error", {})
            console.print(
                f"[red]{response.status_code} {error.get('code')}: {error.get('message')}[/]"
            )
            return
        payment = response.json()
        console.print(
            f"payment {payment['id']} {payment['status']} "
            f"({format_naira(payment['total_kobo'])} for {payment['plan_name']})"
        )
        if funding == "stellar" and horizon is not None:
            await _pay_on_stellar(console, horizon, payment["funding_instructions"])
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while payment["status"] not in FINAL and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
            payment = (await client.get(f"/v1/payments/{payment['id']}")).json()
        console.print(f"status: [bold]{payment['status']}[/]")
        if payment.get("token"):
            console.print(f"token: [bold]{payment['token']}[/]  units: {payment.get('units')}")
        if payment.get("failure_reason"):
            console.print(f"reason: {payment['failure_reason']}")


async def _pay_on_stellar(console: Console, horizon: str, instructions: dict[str, Any]) -> None:
    """Play the payer: send the instructed cNGN with the memo, from a simulator account."""
    from billpay.funding.stellar.payer import pay_instructions

    console.print(
        f"paying {instructions['amount']} {instructions['asset_code']} to "
        f"{instructions['destination']} with memo {instructions['memo']}"
    )
    tx_hash = await pay_instructions(horizon, instructions)
    console.print(f"deposit sent: tx {tx_hash}")
