"""Input an attacker (or a broken client) sends gets a specific 4xx and changes nothing: NUL
bytes and lone surrogates anywhere, ids out of range, bodies too large (declared or streamed),
too deep or trickled, the wrong content type, and malformed JSON reported by line and column."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from billpay.app import create_app
from billpay.config import Settings
from billpay.state import AppState
from flows import airtime, row_count


def _error(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("plan", {"plan": "mtn-air\x00time"}),
        ("email", {"email": "a\x00b@example.com", "funding_method": "paystack"}),
        ("customer_id", {"customer_id": "0803\ud8001234567"}),
        ("biller", {"biller": "mtn\x00"}),
    ],
)
async def test_unstorable_text_in_a_body_field_is_a_422_naming_it(
    api: httpx.AsyncClient, state: AppState, field: str, change: dict[str, Any]
) -> None:
    content = json.dumps({**airtime(), **change}).encode()  # \u0000 and \ud800 as JSON escapes
    response = await api.post(
        "/v1/payments", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert (_error(response)["code"], _error(response)["details"]["field"]) == (
        "unstorable_text",
        field,
    )
    assert await row_count(state, "payments") == 0


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/payments?biller=mtn%00", "biller"),
        ("/v1/payments?cursor=%00", "cursor"),
        ("/v1/payments/by-reference/ref%00x", "request_reference"),
        ("/v1/billers/mtn%00/plans", "biller"),
    ],
)
async def test_unstorable_text_in_a_query_or_path_is_a_422_naming_it(
    api: httpx.AsyncClient, path: str, field: str
) -> None:
    response = await api.get(path)
    assert response.status_code == 422, response.text
    assert (_error(response)["code"], _error(response)["details"]["field"]) == (
        "unstorable_text",
        field,
    )


@pytest.mark.parametrize("delivery_id", [2**63, 10**30, 0, -1])
async def test_a_delivery_id_out_of_range_is_a_422(
    api: httpx.AsyncClient, delivery_id: int
) -> None:
    response = await api.post(f"/v1/webhook-deliveries/{delivery_id}/replay")
    assert response.status_code == 422, response.text
    assert "delivery_id" in _error(response)["message"]


async def test_a_delivery_id_in_range_that_does_not_exist_is_a_404(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(f"/v1/webhook-deliveries/{2**63 - 1}/replay")
    assert response.status_code == 404, response.text


async def test_malformed_json_is_a_400_with_its_line_and_column(api: httpx.AsyncClient) -> None:
    content = b'{\n  "plan": "mtn-airtime",\n  "customer_id" "08031234567"\n}'
    response = await api.post(
        "/v1/payments", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = _error(response)
    assert error["code"] == "invalid_json"
    assert "line 3, column 17" in error["message"]
    assert (error["details"]["line"], error["details"]["column"]) == (3, 17)


async def test_a_body_that_is_not_utf8_is_invalid_json(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/payments",
        content=b'{"plan": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert _error(response)["code"] == "invalid_json"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_a_json_route_sent_another_media_type_is_a_415(
    api: httpx.AsyncClient, state: AppState, content_type: str
) -> None:
    response = await api.post(
        "/v1/payments", content=json.dumps(airtime()), headers={"content-type": content_type}
    )
    assert response.status_code == 415, response.text
    assert _error(response)["code"] == "unsupported_media_type"
    assert await row_count(state, "payments") == 0


async def test_json_nested_past_the_limit_is_a_422_before_parsing(api: httpx.AsyncClient) -> None:
    deep = b'{"plan": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    response = await api.post(
        "/v1/payments", content=deep, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert _error(response)["code"] == "json_too_deep"


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(10):
            read += 1
            yield b"x" * settings.max_body_bytes

    response = await api.post(
        "/v1/payments",
        content=body(),
        headers={
            "content-type": "application/json",
            "content-length": str(10 * settings.max_body_bytes),
        },
    )
    assert response.status_code == 413, response.text
    assert _error(response)["code"] == "body_too_large"
    assert read <= 1  # ASGITransport pulls the first chunk itself; the app read nothing more


async def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100):  # 100 × 16 KiB without a Content-Length (chunked)
            sent += 1
            yield b" " * 16384

    response = await api.post(
        "/v1/webhooks/flutterwave", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert sent * 16384 <= settings.max_webhook_body_bytes + 2 * 16384


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"body_read_timeout_seconds": 0.5}


async def test_a_trickled_body_is_cut_off_at_the_read_deadline(
    state: AppState, merchant: tuple[Any, str]
) -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"plan": '
        await asyncio.sleep(30)  # far past the 0.5 s deadline
        yield b'"mtn-airtime"}'

    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://billpay.test") as client:
        response = await asyncio.wait_for(
            client.post(
                "/v1/payments",
                content=trickle(),
                headers={
                    "content-type": "application/json",
                    "authorization": f"Bearer {merchant[1]}",
                },
            ),
            timeout=20,
        )
    assert response.status_code == 408, response.text
    assert _error(response)["code"] == "request_timeout"
