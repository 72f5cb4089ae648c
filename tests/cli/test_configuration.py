"""Configuration as the seeds name it: FLUTTERWAVE_API_KEY is the Flutterwave secret key; a
provider configured halfway is refused at startup naming what is missing; `billpay up` points
only unconfigured providers at the simulators, and the Paystack simulator's webhooks at
billpay; a process other than `db upgrade`/`up` refuses a schema that is behind."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from cli_helpers import billpay_async, drop_database, empty_database, one_line_error

from billpay.cli import runtime
from billpay.config import Settings, configured_providers
from billpay.state import AppState


def _settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_flutterwave_api_key_is_the_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUTTERWAVE_SECRET_KEY", raising=False)
    monkeypatch.setenv("FLUTTERWAVE_API_KEY", "FLWSECK_TEST-from-the-seed")
    monkeypatch.setenv("FLUTTERWAVE_BASE_URL", "https://api.flutterwave.com")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.flutterwave_secret_key == "FLWSECK_TEST-from-the-seed"
    assert "flutterwave" in configured_providers(settings)


async def test_a_provider_configured_halfway_is_refused_naming_what_is_missing(
    state: AppState, database_url: str, tmp_path: Path
) -> None:
    result = await billpay_async(
        tmp_path,
        "clients",
        "create",
        "acme",
        DATABASE_URL=database_url,
        VTPASS_BASE_URL="https://sandbox.vtpass.com/api",
        VTPASS_API_KEY="the-api-key",
    )

    assert result.returncode == 2
    line = one_line_error(result)
    assert "vtpass" in line
    assert "VTPASS_SECRET_KEY" in line and "VTPASS_PUBLIC_KEY" in line
    assert "the-api-key" not in line
    assert result.stdout == ""


def test_up_keeps_a_configured_provider_and_simulates_the_others() -> None:
    real = _settings(
        vtpass_base_url="https://vtpass.com/api",
        vtpass_api_key="live-api-key",
        vtpass_secret_key="live-secret",
        vtpass_public_key="live-public",
    )

    pointed = runtime.simulated(real, "http://127.0.0.1:8100")

    assert pointed.kept == ("vtpass",)
    assert "vtpass" not in pointed.simulated and "flutterwave" in pointed.simulated
    assert pointed.settings.vtpass_base_url == "https://vtpass.com/api"
    assert pointed.settings.vtpass_api_key == "live-api-key"
    assert pointed.settings.flutterwave_base_url == "http://127.0.0.1:8100/flutterwave/v3"
    # the same through the function every command uses
    assert runtime.with_sandbox(real, "http://127.0.0.1:8100").vtpass_public_key == "live-public"


def test_up_points_the_paystack_simulators_webhooks_at_billpay() -> None:
    from billpay.sandbox.server import free_port

    settings = _settings().model_copy(update={"api_port": 18555, "sandbox_port": free_port()})

    sandbox = runtime.start_sandbox(settings)
    try:
        import httpx

        answer = httpx.post(f"{sandbox.url}/paystack/_sandbox/config", json={}, timeout=10)
    finally:
        sandbox.stop()

    assert answer.json()["webhook_url"] == "http://127.0.0.1:18555/v1/webhooks/paystack"


async def test_api_refuses_to_start_on_a_schema_that_is_behind(
    database_url: str, tmp_path: Path
) -> None:
    name = f"billpay_behind_{uuid.uuid4().hex[:8]}"
    behind = await empty_database(database_url, name)
    try:
        result = await billpay_async(
            tmp_path,
            "api",
            DATABASE_URL=behind,
            BILLPAY_API_PORT="9",  # never reached
        )
    finally:
        await drop_database(database_url, name)

    assert result.returncode == 1
    line = one_line_error(result)
    assert "schema is behind" in line and "billpay db upgrade" in line
