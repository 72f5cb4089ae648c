"""Helpers shared by the flow tests (imported as ``from flows import …``)."""

from __future__ import annotations

import asyncio
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
