"""The one provider transport: never sent vs sent-but-unknown vs answered, over MockTransport."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import structlog

from billpay.config import Settings
from billpay.providers.http import Delivery, HttpxSender, ProviderTransport

URL = "https://provider.test/api/pay"
Handler = Callable[[httpx.Request], httpx.Response]


def transport_for(handler: Handler) -> ProviderTransport:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ProviderTransport("test", HttpxSender(client, timeout=2.0, owns_client=True))


def raising(error: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return handler


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("no route"),
        httpx.PoolTimeout("no free connection"),
    ],
)
async def test_a_failure_before_connecting_is_never_sent(error: Exception) -> None:
    http = transport_for(raising(error))

    exchange = await http.send("POST", URL, content=b"{}")

    assert exchange.delivery is Delivery.NEVER_SENT
    assert not exchange.sent
    assert exchange.answer is None
    assert exchange.error is error
    await http.aclose()


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("slow"),
        httpx.WriteTimeout("slow"),
        httpx.RemoteProtocolError("peer closed the connection"),
        httpx.ReadError("reset"),
    ],
)
async def test_a_failure_after_sending_may_have_reached_the_provider(error: Exception) -> None:
    http = transport_for(raising(error))

    exchange = await http.send("POST", URL, content=b"{}")

    assert exchange.delivery is Delivery.SENT_UNKNOWN
    assert exchange.sent
    assert exchange.answer is None
    assert exchange.problem.startswith(type(error).__name__)
    await http.aclose()


async def test_a_500_with_an_html_body_is_answered_with_its_status() -> None:
    page = "<html><body>Bad gateway 26362054405982757802</body></html>"
    http = transport_for(lambda request: httpx.Response(500, text=page))

    exchange = await http.send("GET", URL)

    assert exchange.delivery is Delivery.ANSWERED
    assert exchange.answer is not None
    assert exchange.answer.status == 500
    assert exchange.answer.body is None
    assert exchange.answer.masked_object() is None
    stored = exchange.answer.masked_text()
    assert stored.startswith("<html>")
    assert "26362054405982757802" not in stored  # a token-like digit run is masked
    await http.aclose()


async def test_a_json_answer_is_read_and_masked_for_storing() -> None:
    body = {"code": "000", "token": "Token : 26362054405982757802", "amount": 100}
    http = transport_for(lambda request: httpx.Response(200, json=body))

    answer = (await http.send("POST", URL, json={"ping": 1})).answer

    assert answer is not None
    assert answer.json_object == body
    assert "26362054405982757802" not in repr(answer.masked_object())
    await http.aclose()


async def test_the_request_goes_out_as_given_with_the_transport_timeout() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    http = transport_for(handler)
    await http.send("GET", URL, params={"q": "1"}, headers={"api-key": "k"})

    assert str(seen[0].url) == f"{URL}?q=1"
    assert seen[0].headers["api-key"] == "k"
    assert seen[0].extensions["timeout"]["read"] == 2.0
    await http.aclose()


async def test_a_failure_is_logged_with_the_path_only() -> None:
    http = transport_for(raising(httpx.ReadTimeout("slow")))

    with structlog.testing.capture_logs() as logs:
        await http.send("GET", URL, params={"customer": "08011111111"}, headers={"key": "sk_x"})

    assert [(log["path"], log["delivery"]) for log in logs] == [("/api/pay", "sent_unknown")]
    assert "08011111111" not in repr(logs) and "sk_x" not in repr(logs)
    await http.aclose()


async def test_a_lent_client_sends_and_is_left_open() -> None:
    lent = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    http = ProviderTransport.for_provider("test", Settings(), lent)

    assert (await http.send("GET", URL)).delivery is Delivery.ANSWERED
    await http.aclose()
    assert not lent.is_closed
    await lent.aclose()
