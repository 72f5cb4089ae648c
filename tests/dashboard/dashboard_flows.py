"""Helpers for the dashboard tests: the app with a known operator token."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

from billpay.app import create_app
from billpay.ops.settings import OpsSettings, get_ops_settings
from billpay.state import AppState

ADMIN_TOKEN = "dashboard-test-token-7d1e44b0c5a2f9e3"
# The admin identity the token signs in as: what resolutions record ("operator:ada").
ADMIN_NAME = "ada"
REVIEW_PHONE = "08030000003"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def dashboard_app(state: AppState, *, close_state: bool = False, **settings: Any) -> FastAPI:
    """The app with ``ADMIN_TOKEN`` as the admin's (signing in as ``ADMIN_NAME``); ``settings``
    are more ``OpsSettings`` (trusted proxies, a metrics token)."""
    app = create_app(state, close_state=close_state)
    app.dependency_overrides[get_ops_settings] = lambda: OpsSettings(
        admin_token=ADMIN_TOKEN, admin_name=ADMIN_NAME, **settings
    )
    return app


def token_digits(token: str) -> str:
    return "".join(c for c in token if c.isalnum())
