"""Helpers shared by the flow tests (imported as ``from flows import …``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx


async def wait_for_status(
    api: httpx.AsyncClient, payment_id: str, statuses: set[str], timeout: float = 15.0
) -> dict[str, Any]:
    """Poll the API until the payment reaches one of ``statuses``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await api.get(f"/v1/payments/{payment_id}")
        body: dict[str, Any] = response.json()
        if body.get("status") in statuses:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"payment stuck in {body.get('status')}: {body}")
        await asyncio.sleep(0.05)


def airtime(phone: str, amount_kobo: int = 50_000) -> dict[str, Any]:
    return {
        "request_reference": uuid.uuid4().hex,
        "plan": "mtn-airtime",
        "customer_id": phone,
        "amount_kobo": amount_kobo,
    }


async def create(api: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await api.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text
    payment_id: str = response.json()["id"]
    return payment_id
