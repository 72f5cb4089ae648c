"""The owned (aiohttp) transport over real sockets: never sent only when nothing could have left.

Each test runs a small TCP server that reads requests and then answers, stalls, or hangs up,
so what the transport reports is checked against what the server actually received.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
import structlog

from billpay.config import Settings
from billpay.providers.http import Delivery, ProviderTransport, delivery_after

TIMEOUT = 0.3  # seconds: every wait in these tests is a few of these at most

# What the server does with the n-th request (0-based) on a connection, given its bytes.
Behaviour = Callable[[asyncio.StreamWriter, bytes, int], Awaitable[None]]


class Provider:
    """A TCP server that reads each HTTP request in full, then behaves as it is told."""

    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            for index in range(100):
                request = await read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                await self._behaviour(writer, request, index)
                if writer.is_closing():
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def url(self, path: str = "/api/pay") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@asynccontextmanager
async def provider(behaviour: Behaviour) -> AsyncIterator[Provider]:
    server_side = Provider(behaviour)
    server = await asyncio.start_server(server_side._serve, "127.0.0.1", 0)
    server_side.port = server.sockets[0].getsockname()[1]
    try:
        yield server_side
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's bytes (head and body), or None when the client closed the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


def response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def answer_ok(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
    writer.write(response(200, b'{"code": "000"}'))
    await writer.drain()


async def hang_up(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
    writer.close()


async def answer_late(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
    await asyncio.sleep(TIMEOUT * 3)
    await answer_ok(writer, request, index)


def transport(max_connections: int = 4) -> ProviderTransport:
    settings = Settings.model_validate(
        {"provider_timeout_seconds": TIMEOUT, "provider_max_connections": max_connections}
    )
    return ProviderTransport.for_provider("test", settings)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_a_refused_connection_is_never_sent() -> None:
    http = transport()

    exchange = await http.send("POST", f"http://127.0.0.1:{unused_port()}/api/pay", content=b"{}")

    assert exchange.delivery is Delivery.NEVER_SENT
    assert isinstance(exchange.error, aiohttp.ClientConnectorError)
    await http.aclose()


async def test_a_server_that_reads_the_request_and_hangs_up_may_have_acted_on_it() -> None:
    http = transport()
    async with provider(hang_up) as server:
        exchange = await http.send("POST", server.url(), content=b'{"request_id": "r1"}')

    assert exchange.delivery is Delivery.SENT_UNKNOWN
    assert isinstance(exchange.error, aiohttp.ServerDisconnectedError)
    assert len(server.requests) == 1  # aiohttp does not send a POST again on its own
    await http.aclose()


async def test_no_request_is_sent_twice_by_the_client_itself() -> None:
    """aiohttp would retry a GET whose connection failed; then a refused retry would read as
    never sent although the first try arrived. The transport turns that retry off."""
    http = transport()
    async with provider(hang_up) as server:
        exchange = await http.send("GET", server.url())

    assert exchange.delivery is Delivery.SENT_UNKNOWN
    assert len(server.requests) == 1
    await http.aclose()


async def test_an_answer_after_the_timeout_is_sent_unknown() -> None:
    http = transport()
    async with provider(answer_late) as server:
        exchange = await http.send("POST", server.url(), content=b"{}")

    assert exchange.delivery is Delivery.SENT_UNKNOWN
    assert isinstance(exchange.error, TimeoutError)
    assert not isinstance(exchange.error, aiohttp.ConnectionTimeoutError)
    assert len(server.requests) == 1
    await http.aclose()


async def test_an_html_500_is_answered_with_its_status_and_body() -> None:
    page = b"<html><body>Bad gateway 26362054405982757802</body></html>"

    async def fail(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
        writer.write(response(500, page, "text/html; charset=utf-8"))
        await writer.drain()

    http = transport()
    async with provider(fail) as server:
        exchange = await http.send("POST", server.url(), content=b"{}")

    assert exchange.delivery is Delivery.ANSWERED
    assert exchange.answer is not None
    assert (exchange.answer.status, exchange.answer.content) == (500, page)
    assert exchange.answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert exchange.answer.body is None
    assert "26362054405982757802" not in exchange.answer.masked_text()
    await http.aclose()


async def test_a_redirect_is_answered_not_followed() -> None:
    async def redirect(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
        writer.write(b"HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()

    http = transport()
    async with provider(redirect) as server:
        exchange = await http.send("POST", server.url(), content=b"{}")

    assert exchange.answer is not None and exchange.answer.status == 302
    assert len(server.requests) == 1
    await http.aclose()


async def test_calls_reuse_one_kept_alive_connection() -> None:
    http = transport()
    async with provider(answer_ok) as server:
        for _ in range(3):
            assert (await http.send("POST", server.url(), content=b"{}")).answer is not None

    assert (server.connections, len(server.requests)) == (1, 3)
    await http.aclose()


async def test_a_kept_alive_connection_the_server_closed_is_replaced() -> None:
    async def answer_and_close(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
        await answer_ok(writer, request, index)
        writer.close()  # the server drops the idle connection (its keep-alive expired)

    http = transport()
    async with provider(answer_and_close) as server:
        first = await http.send("POST", server.url(), content=b"{}")
        await asyncio.sleep(0.05)  # the close has reached the client
        second = await http.send("POST", server.url(), content=b"{}")

    assert (first.delivery, second.delivery) == (Delivery.ANSWERED, Delivery.ANSWERED)
    assert (server.connections, len(server.requests)) == (2, 2)
    await http.aclose()


@pytest.mark.parametrize("pause", [0.0, 0.001, 0.01])
async def test_a_second_call_racing_the_servers_close_is_never_reported_unsent(
    pause: float,
) -> None:
    """The server closes right after answering; the next call may find the connection still
    looking alive and write into it. Whatever happens, it is not "never sent"."""

    async def answer_then_close(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
        await answer_ok(writer, request, index)
        await asyncio.sleep(pause)
        writer.close()

    http = transport()
    async with provider(answer_then_close) as server:
        await http.send("POST", server.url(), content=b"{}")
        second = await http.send("POST", server.url(), content=b"{}")

    assert second.delivery in (Delivery.ANSWERED, Delivery.SENT_UNKNOWN)
    assert len(server.requests) <= 2  # never sent twice
    await http.aclose()


async def test_a_second_request_the_server_read_then_dropped_is_sent_unknown() -> None:
    async def answer_first_only(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
        if index == 0:
            await answer_ok(writer, request, index)
        else:
            writer.close()

    http = transport()
    async with provider(answer_first_only) as server:
        await http.send("POST", server.url(), content=b"{}")
        second = await http.send("POST", server.url(), content=b"{}")

    assert second.delivery is Delivery.SENT_UNKNOWN
    assert (server.connections, len(server.requests)) == (1, 2)
    await http.aclose()


async def test_waiting_too_long_for_a_pooled_connection_is_never_sent() -> None:
    async def trickle(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
        # keeps the only connection busy past the timeout without letting its read time out
        body = b'{"code": "000"}'
        writer.write(f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n".encode())
        for _ in range(8):
            await asyncio.sleep(TIMEOUT / 3)
            writer.write(b"x-wait: 1\r\n")
            await writer.drain()
        writer.write(b"\r\n" + body)
        await writer.drain()

    http = transport(max_connections=1)
    async with provider(trickle) as server:
        busy = asyncio.create_task(http.send("POST", server.url(), content=b"{}"))
        await asyncio.sleep(0.05)
        waiting = await http.send("POST", server.url(), content=b"{}")
        assert (await busy).delivery is Delivery.ANSWERED

    assert waiting.delivery is Delivery.NEVER_SENT
    assert isinstance(waiting.error, aiohttp.ConnectionTimeoutError)
    assert len(server.requests) == 1
    await http.aclose()


async def test_the_request_goes_out_as_given() -> None:
    async def echo(writer: asyncio.StreamWriter, request: bytes, index: int) -> None:
        writer.write(response(200, json.dumps({"seen": request.decode()}).encode()))
        await writer.drain()

    http = transport()
    async with provider(echo) as server:
        answer = (
            await http.send(
                "POST",
                server.url(),
                params={"q": "a b"},
                headers={"api-key": "k"},
                json={"amount": 100, "name": "Adé"},
            )
        ).answer

    assert answer is not None and answer.json_object is not None
    seen: str = answer.json_object["seen"]
    assert seen.startswith("POST /api/pay?q=a+b HTTP/1.1\r\n")
    assert "api-key: k\r\n" in seen.lower()
    assert "content-type: application/json\r\n" in seen.lower()
    assert seen.endswith('{"amount":100,"name":"Adé"}')  # encoded as httpx encodes it
    await http.aclose()


async def test_the_environments_egress_proxy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async with provider(answer_ok) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        http = transport()
        exchange = await http.send("POST", "http://provider.test/api/pay", content=b"{}")

    assert exchange.delivery is Delivery.ANSWERED
    assert proxy.requests[0].startswith(b"POST http://provider.test/api/pay HTTP/1.1\r\n")
    await http.aclose()


async def test_a_failure_is_logged_with_the_path_only() -> None:
    http = transport()
    async with provider(hang_up) as server:
        with structlog.testing.capture_logs() as logs:
            await http.send("GET", server.url(), params={"customer": "08011111111"})

    assert [(log["path"], log["delivery"]) for log in logs] == [("/api/pay", "sent_unknown")]
    assert "08011111111" not in repr(logs)
    await http.aclose()


async def test_aclose_closes_the_session_and_the_transport_sends_no_more() -> None:
    http = transport()
    async with provider(answer_ok) as server:
        await http.send("GET", server.url())
        await http.aclose()

        assert http.closed
        with pytest.raises(RuntimeError, match="closed"):
            await http.send("GET", server.url())


@pytest.mark.parametrize(
    ("error", "delivery"),
    [
        (aiohttp.ClientConnectorDNSError(None, OSError(-2, "unknown host")), Delivery.NEVER_SENT),  # type: ignore[arg-type]
        (aiohttp.ConnectionTimeoutError("connect"), Delivery.NEVER_SENT),
        (TimeoutError(), Delivery.SENT_UNKNOWN),
        (aiohttp.SocketTimeoutError("read"), Delivery.SENT_UNKNOWN),
        (aiohttp.ServerDisconnectedError(), Delivery.SENT_UNKNOWN),
        (aiohttp.ClientOSError(104, "reset"), Delivery.SENT_UNKNOWN),
        (aiohttp.ClientPayloadError("truncated"), Delivery.SENT_UNKNOWN),
    ],
)
def test_what_each_aiohttp_failure_proves(error: Exception, delivery: Delivery) -> None:
    assert delivery_after(error) is delivery
