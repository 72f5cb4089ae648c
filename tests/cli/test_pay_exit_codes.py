"""``billpay pay`` says how the payment ended in its exit status: 0 only when it is paid,
3 when it was rejected, 5 when it is still pending; a rejection is one line on stderr.
Against a real ``billpay api`` process and this test's worker."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_helpers import billpay_async, one_line_error, provider_env, start_billpay

from billpay.sandbox.server import ThreadedServer, free_port
from billpay.state import AppState
from billpay.worker.runner import Worker


@pytest.fixture
def api_url(
    database_url: str, sandbox: ThreadedServer, tmp_path: Path, state: AppState
) -> Iterator[str]:
    port = free_port()
    process = start_billpay(
        tmp_path,
        "api",
        DATABASE_URL=database_url,
        BILLPAY_API_PORT=str(port),
        **provider_env(sandbox.url),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert process.poll() is None, process.communicate()
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=60)


async def _pay(
    tmp_path: Path, api_url: str, key: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return await billpay_async(
        tmp_path, "pay", "--api", api_url, "--key", key, "--customer", "08031234567", *args
    )


async def test_a_paid_payment_exits_0(
    api_url: str, merchant: tuple[uuid.UUID, str], worker: Worker, tmp_path: Path
) -> None:
    result = await _pay(tmp_path, api_url, merchant[1], "--plan", "mtn-airtime", "--amount", "5000")

    assert result.returncode == 0, result.stderr
    assert "status: paid" in result.stdout


async def test_a_rejected_payment_exits_3_with_the_apis_reason(
    api_url: str, merchant: tuple[uuid.UUID, str], tmp_path: Path
) -> None:
    result = await _pay(tmp_path, api_url, merchant[1], "--plan", "no-such-plan", "--amount", "5")

    assert result.returncode == 3
    line = one_line_error(result)
    assert "HTTP 422" in line and "plan" in line


async def test_a_payment_still_pending_exits_5(
    api_url: str, merchant: tuple[uuid.UUID, str], tmp_path: Path
) -> None:
    # No worker: it waits in the queue; --wait 0 gives up at once.
    result = await _pay(
        tmp_path, api_url, merchant[1], "--plan", "mtn-airtime", "--amount", "5000", "--wait", "0"
    )

    assert result.returncode == 5, result.stderr
    assert "status: pending" in result.stdout
