"""Helpers for the dashboard tests: the app with a known operator token, and test payments."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from billpay.app import create_app
from billpay.ops.settings import OpsSettings, get_ops_settings
from billpay.state import AppState
from flows import wait_for_status

ADMIN_TOKEN = "dashboard-test-token-7d1e44b0"
FINAL = {"paid", "refunded", "needs_review", "failed"}
REVIEW_PHONE = "08030000003"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def dashboard_app(state: AppState, *, close_state: bool = False) -> FastAPI:
    app = create_app(state, close_state=close_state)
    app.dependency_overrides[get_ops_settings] = lambda: OpsSettings(admin_token=ADMIN_TOKEN)
    return app


async def pay(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text
    return await wait_for_status(api, response.json()["id"], FINAL)


def airtime(phone: str) -> dict[str, Any]:
    return {
        "request_reference": uuid.uuid4().hex,
        "plan": "mtn-airtime",
        "customer_id": phone,
        "amount_kobo": 50_000,
    }


def electricity() -> dict[str, Any]:
    return {
        "request_reference": uuid.uuid4().hex,
        "plan": "ikeja-electric-prepaid",
        "customer_id": "1111111111111",
        "amount_kobo": 500_000,
        "phone": "08031234567",
    }


def token_digits(token: str) -> str:
    return "".join(c for c in token if c.isalnum())
