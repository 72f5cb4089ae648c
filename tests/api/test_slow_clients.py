"""A client that sends its request line and headers a byte at a time (slowloris) is cut off at
the header deadline, on a real uvicorn served with billpay's options; a normal client on the
same server is answered."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from billpay.api.server import server_options
from billpay.config import Settings
from billpay.sandbox.server import free_port


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture
def server() -> Iterator[str]:
    settings = Settings(header_read_timeout_seconds=0.5, keep_alive_timeout_seconds=5.0)
    port = free_port()
    config = uvicorn.Config(
        _hello, host="127.0.0.1", port=port, log_level="warning", **server_options(settings)
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=30)


def _trickle_headers(url: str) -> float:
    """Seconds until the server closed a connection sending a header byte every 0.1 s."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 600:
            try:
                connection.sendall(bytes([byte]))
                time.sleep(0.1)
                connection.setblocking(False)
                if connection.recv(1) == b"":
                    return time.monotonic() - started
            except BlockingIOError:
                pass
            except OSError:  # reset by the server
                return time.monotonic() - started
            finally:
                connection.setblocking(True)
    raise AssertionError("a minute of trickled headers and the connection is still open")


async def test_trickled_headers_are_cut_off_and_a_normal_client_is_served(server: str) -> None:
    held = await asyncio.to_thread(_trickle_headers, server)
    async with httpx.AsyncClient() as client:
        response = await client.get(server)
    assert (response.status_code, response.text) == (200, "hello")
    print(f"\nslow header sender cut off after {held:.1f} s (deadline 0.5 s)")
