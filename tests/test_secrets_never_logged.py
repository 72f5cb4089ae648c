"""Electricity tokens and API keys never reach the logs (DESIGN §1.7)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from billpay.logging import configure_logging
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import electricity, wait_for_status


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"flutterwave_base_url": None, "interswitch_base_url": None}


@pytest.fixture
def production_logging() -> Iterator[None]:
    """billpay's real log configuration, undone afterwards."""
    configure_logging("DEBUG")
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


async def test_token_and_api_key_stay_out_of_logs(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    merchant: tuple[uuid.UUID, str],
    capfd: pytest.CaptureFixture[str],
    production_logging: None,
) -> None:
    response = await api.post(
        "/v1/payments",
        json=electricity(request_reference="log-check"),
    )
    payment = await wait_for_status(api, response.json()["id"], {"paid", "refunded"})
    assert payment["status"] == "paid"
    token = payment["token"]
    digits = "".join(ch for ch in token if ch.isdigit())
    assert len(digits) == 20  # the owner sees the token…
    output = capfd.readouterr()
    logs = output.out + output.err
    assert "provider_answer" in logs  # …the provider's answer was logged…
    assert digits not in logs.replace("-", "").replace(" ", "")  # …without the token,
    assert token not in logs
    assert merchant[1] not in logs  # and the API key never appears.
    assert "sandbox-secret-key" not in logs and "sandbox-api-key" not in logs
