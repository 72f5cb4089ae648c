"""Helpers for the operator tests: an API client holding the operator token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from billpay.app import create_app
from billpay.ops.settings import OpsSettings, get_ops_settings
from billpay.state import AppState

ADMIN_TOKEN = "ops-test-token-5f0c2a9e81b34d6f7a20c9"


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
