"""The embedded PostgreSQL stops with the process that started it: SIGTERM to `billpay api`
exits 0 and leaves no server behind, even after an earlier process was SIGKILLed and left
its pid in pgserver's handle list; a busy port fails before anything is printed."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import psutil
from cli_helpers import billpay, one_line_error, start_billpay

from billpay.sandbox.server import free_port


def _postgres_serving(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(pgdata) in cmdline:
            found.append(process)
    return found


def _api_until_healthy(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    process = start_billpay(tmp_path, "api", BILLPAY_API_PORT=str(port))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError("billpay api did not come up")


def test_sigterm_to_api_exits_0_and_stops_its_postgres_after_a_killed_one(
    tmp_path: Path,
) -> None:
    pgdata = (tmp_path / "data" / "postgres").resolve()
    migrated = billpay(tmp_path, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    assert _postgres_serving(pgdata) == []

    killed = _api_until_healthy(tmp_path, free_port())
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    # The killed process is still on pgserver's list: its server is left running.
    assert killed.pid in json.loads((pgdata / ".handle_pids.json").read_text())

    api = _api_until_healthy(tmp_path, free_port())
    api.send_signal(signal.SIGTERM)
    _, stderr = api.communicate(timeout=120)

    assert api.returncode == 0, stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 30
    while _postgres_serving(pgdata) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _postgres_serving(pgdata) == []
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []


def test_up_on_a_busy_port_fails_before_printing_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = billpay(tmp_path, "up", "--port", str(port), "--sandbox-port", str(free_port()))

    assert result.returncode == 1
    assert result.stdout == ""  # no banner, no demo key, no admin token
    line = one_line_error(result)
    assert f"port {port}" in line and "in use" in line
    assert not (tmp_path / "data" / "postgres").exists()  # nothing was started
