"""Shared fixtures for the VTpass connector tests: recorded JSON and connector settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from billpay.config import Settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vtpass"


@pytest.fixture
def vtpass_json() -> Callable[[str], Any]:
    """``vtpass_json("purchase_delivered")`` → the parsed fixture file."""

    def load(name: str) -> Any:
        return json.loads((FIXTURES / f"{name}.json").read_text())

    return load


@pytest.fixture
def vtpass_settings() -> Settings:
    return Settings.model_validate(
        {
            "vtpass_base_url": "https://sandbox.vtpass.test/api",
            "vtpass_api_key": "test-api-key-7f3a",
            "vtpass_secret_key": "SK_test_secret_9c1e",
            "vtpass_public_key": "PK_test_public_4b2d",
            "vtpass_webhook_token": "hook-token-5e8f",
            "provider_timeout_seconds": 2.0,
        }
    )
