"""Helpers for the operator tests: the app with configured operator settings, signing in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from billpay.app import create_app
from billpay.ops.settings import OpsSettings, get_ops_settings
from billpay.state import AppState

ADMIN_TOKEN = "operators-test-admin-token-4be1c9d27a03f6e8"
ADMIN_NAME = "root"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@asynccontextmanager
async def dashboard(state: AppState, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client on the app, whose operator settings are ``settings`` over the
    admin (``ADMIN_NAME`` with ``ADMIN_TOKEN``)."""
    app = create_app(state)
    ops = OpsSettings(
        _env_file=None,  # type: ignore[call-arg]
        **{"admin_token": ADMIN_TOKEN, "admin_name": ADMIN_NAME, **settings},
    )
    app.dependency_overrides[get_ops_settings] = lambda: ops
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://billpay.test"
    ) as client:
        yield client


async def sign_in(
    client: httpx.AsyncClient,
    name: str = ADMIN_NAME,
    token: str = ADMIN_TOKEN,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        "/dashboard/login",
        data={"name": name, "token": token, "next": "/dashboard"},
        headers=headers or {},
    )


async def csrf_of(client: httpx.AsyncClient, path: str = "/dashboard") -> str:
    match = CSRF_FIELD.search((await client.get(path)).text)
    assert match is not None, "no form on the page: not signed in?"
    return match.group(1)
