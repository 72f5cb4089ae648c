"""Helpers for the operator tests: an operator API client and payments driven to an outcome."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from billpay.app import create_app
from billpay.ops.settings import OpsSettings, get_ops_settings
from billpay.state import AppState
from flows import create, wait_for_status

ADMIN_TOKEN = "ops-test-token-5f0c2a9e"
FINAL = {"paid", "refunded", "needs_review", "failed"}


@asynccontextmanager
async def operator_client(
    state: AppState, token: str | None = ADMIN_TOKEN, configured: str | None = ADMIN_TOKEN
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with ``configured`` as its BILLPAY_ADMIN_TOKEN, called with ``token``."""
    app = create_app(state)
    app.dependency_overrides[get_ops_settings] = lambda: OpsSettings(admin_token=configured)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://billpay.test", headers=headers
    ) as client:
        yield client


def electricity(meter: str = "1111111111111", amount_kobo: int = 500_000) -> dict[str, Any]:
    return {
        "request_reference": uuid.uuid4().hex,
        "plan": "ikeja-electric-prepaid",
        "customer_id": meter,
        "amount_kobo": amount_kobo,
        "phone": "08031234567",
    }


async def pay(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create a payment and wait for the worker to bring it to an outcome."""
    return await wait_for_status(api, await create(api, body), FINAL)
