"""Helpers for the dashboard tests: the app with a known operator token."""

from __future__ import annotations

import re

from fastapi import FastAPI

from billpay.app import create_app
from billpay.ops.settings import OpsSettings, get_ops_settings
from billpay.state import AppState

ADMIN_TOKEN = "dashboard-test-token-7d1e44b0"
REVIEW_PHONE = "08030000003"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def dashboard_app(state: AppState, *, close_state: bool = False) -> FastAPI:
    app = create_app(state, close_state=close_state)
    app.dependency_overrides[get_ops_settings] = lambda: OpsSettings(admin_token=ADMIN_TOKEN)
    return app


def token_digits(token: str) -> str:
    return "".join(c for c in token if c.isalnum())
