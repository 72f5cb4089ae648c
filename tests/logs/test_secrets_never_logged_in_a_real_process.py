"""A real ``billpay api`` process, logging at DEBUG, is fed a secret down every path a log line
can take — the request log (VTpass's callback token in the path, secrets in the query),
uvicorn's crash traceback, a database error with the secret as a parameter (and SQLAlchemy's
statement log), httpx's request line with the secret in the URL — and its stderr holds none."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
SECRETS = {
    # Configured secrets: masked wherever they appear.
    "VTPASS_WEBHOOK_TOKEN": "vtpass-callback-token-planted-6c1f0a93",
    "BILLPAY_ADMIN_TOKEN": "admin-token-planted-in-a-crash-b2d94e7710",
    # Values the process cannot know: masked by where they sit.
    "PLANTED_QUERY": "query-secret-planted-5d0e8b",
    "PLANTED_DB": "database-parameter-planted-94ac1e",
    "PLANTED_URL": "outbound-url-secret-planted-7f2b60",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def api_process(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    log = tmp_path / "api.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BILLPAY_", "VTPASS_"))}
    env.update(
        {
            **SECRETS,
            "DATABASE_URL": database_url,
            "BILLPAY_API_PORT": str(port),
            "BILLPAY_LOG_LEVEL": "DEBUG",
            "BILLPAY_DB_POOL_SIZE": "2",
            "BILLPAY_DATA_DIR": str(tmp_path / "data"),
        }
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "planted_api.py"), "api"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield base, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"billpay api exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("billpay api did not come up")


def test_no_secret_reaches_the_process_log(api_process: tuple[str, Path]) -> None:
    base, log = api_process
    token = SECRETS["VTPASS_WEBHOOK_TOKEN"]
    # A connection each: uvicorn closes one after a 500, and a reused one would be reset.
    fresh = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base, timeout=30, limits=fresh) as client:
        client.post(
            f"/v1/webhooks/vtpass/{token}",
            params={"api_key": SECRETS["PLANTED_QUERY"], "token": SECRETS["PLANTED_QUERY"]},
            json={"type": "transaction-update", "data": {}},
        )
        client.get("/v1/payments", params={"secret": SECRETS["PLANTED_QUERY"]})
        assert client.get("/_planted/crash").status_code == 500
        assert client.get("/_planted/database").status_code == 500
        assert client.get("/_planted/outbound").json() == {"status": 200}
    output = _read_until(log, "HTTP Request: GET")

    for name, secret in SECRETS.items():
        assert secret not in output, f"{name} leaked into the log"
    # Every path was taken, and logged, masked:
    assert "/v1/webhooks/vtpass/***" in output  # the request log
    assert "Exception in ASGI application" in output  # uvicorn's own traceback…
    assert "planted crash quoting ***" in output  # …with the crash's message masked
    assert "query argument $1: ***" in output  # asyncpg's error, the value hidden
    assert "access_token=***" in output  # httpx's request line


def _read_until(log: Path, marker: str) -> str:
    """The log once ``marker`` is in it (lines are flushed as they are written)."""
    deadline = time.monotonic() + 30
    while True:
        output = log.read_text(errors="replace")
        if marker in output or time.monotonic() > deadline:
            return output
        time.sleep(0.1)
