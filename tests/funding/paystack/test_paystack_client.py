"""PaystackClient over httpx.MockTransport: edge shapes, transport failures, masking."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import httpx
import pytest

from billpay.config import Settings
from billpay.funding.paystack import (
    Collection,
    InitializeFailed,
    InvalidReference,
    PaystackClient,
    PaystackNotConfigured,
    RefundState,
    VerifyAnswer,
    judge_collection,
)

SECRET = "sk_test_client_secret_value_42"
BASE = "https://api.paystack.test"
Handler = Callable[[httpx.Request], httpx.Response]


def settings(**overrides: Any) -> Settings:
    values = {"paystack_base_url": BASE, "paystack_secret_key": SECRET}
    return Settings.model_validate({**values, "provider_timeout_seconds": 1.0, **overrides})


def client_with(handler: Handler) -> tuple[PaystackClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(recording))
    return PaystackClient(settings(), http), seen


def answer(data: Any, status_code: int = 200, ok: bool = True) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status_code, json={"status": ok, "message": "m", "data": data})

    return handler


def raising(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def verify_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "id": 7,
        "status": "success",
        "reference": "ref-1",
        "amount": 503_000,
        "currency": "NGN",
        "authorization": {"authorization_code": "AUTH_secretcard", "signature": "SIG_x"},
    }
    return {**data, **overrides}


def test_no_secret_key_means_not_configured() -> None:
    with pytest.raises(PaystackNotConfigured):
        PaystackClient(Settings.model_validate({"paystack_secret_key": None}))


async def test_calls_carry_the_bearer_key_but_stored_records_do_not() -> None:
    client, seen = client_with(answer(verify_data()))
    verification = await client.verify("ref-1")
    assert seen[0].headers["authorization"] == f"Bearer {SECRET}"
    assert seen[0].url == httpx.URL(f"{BASE}/transaction/verify/ref-1")
    stored = json.dumps(asdict(verification))
    assert SECRET not in stored
    assert "AUTH_secretcard" not in stored  # the reusable card authorization is masked
    assert verification.exchange is not None
    assert verification.exchange.request["headers"]["Authorization"] == "***"


async def test_initialize_posts_integer_kobo_in_naira() -> None:
    data = {"authorization_url": "https://checkout/x", "access_code": "x", "reference": "ref-1"}
    client, seen = client_with(answer(data))
    initialized = await client.initialize("ref-1", 503_000, "payer@example.com", "https://cb")
    assert initialized.authorization_url == "https://checkout/x"
    assert json.loads(seen[0].content) == {
        "email": "payer@example.com",
        "amount": 503_000,
        "reference": "ref-1",
        "currency": "NGN",
        "callback_url": "https://cb",
    }


async def test_duplicate_reference_on_initialize_fails_with_the_evidence() -> None:
    refusal = {"status": False, "message": "Duplicate Transaction Reference"}
    client, _ = client_with(lambda request: httpx.Response(400, json=refusal))
    with pytest.raises(InitializeFailed, match="Duplicate Transaction Reference") as failed:
        await client.initialize("ref-1", 100, "payer@example.com")
    assert failed.value.exchange.http_status == 400


async def test_bad_references_never_leave_the_process() -> None:
    client, seen = client_with(answer(verify_data()))
    with pytest.raises(InvalidReference):
        await client.verify("../refund")
    with pytest.raises(InvalidReference):
        await client.initialize("a b", 100, "payer@example.com")
    assert seen == []


@pytest.mark.parametrize(
    ("exc", "sent"),
    [
        (httpx.ReadTimeout("slow"), True),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.ConnectError("refused"), False),
        (httpx.RemoteProtocolError("cut"), True),
    ],
)
async def test_transport_failures_are_unknown(exc: Exception, sent: bool) -> None:
    client, _ = client_with(raising(exc))
    verification = await client.verify("ref-1")
    assert verification.answer is VerifyAnswer.NO_ANSWER
    assert judge_collection(verification, 503_000).collection is Collection.UNKNOWN
    assert verification.exchange is not None
    assert verification.exchange.sent is sent


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(502, text="<html><body>Bad Gateway</body></html>"),
        httpx.Response(200, text="not json at all"),
        httpx.Response(200, json={"status": True, "data": verify_data(amount=503_000.0)}),
        httpx.Response(200, json={"status": True, "data": verify_data(amount="503000.5")}),
        httpx.Response(500, json={"status": True, "data": verify_data()}),
    ],
)
async def test_unreadable_answers_are_unknown(response: httpx.Response) -> None:
    client, _ = client_with(lambda request: response)
    verification = await client.verify("ref-1")
    assert judge_collection(verification, 503_000).collection is Collection.UNKNOWN


async def test_a_non_json_body_is_kept_truncated_and_masked() -> None:
    text = "Token : 4216 7939 1234 5678 9012 " + "x" * 1000
    client, _ = client_with(lambda request: httpx.Response(502, text=text))
    verification = await client.verify("ref-1")
    assert verification.exchange is not None
    raw = verification.exchange.raw_text
    assert raw is not None and len(raw) <= 500
    assert "4216 7939" not in raw


async def test_refund_answers_map_to_states() -> None:
    created = {
        "id": 9,
        "status": "pending",
        "amount": 503_000,
        "currency": "NGN",
        "transaction": {"id": 7, "reference": "ref-1"},
    }
    client, seen = client_with(answer(created))
    refund = await client.create_refund("ref-1", merchant_note="vend failed")
    assert (refund.state, refund.refund_id, refund.transaction_reference) == (
        RefundState.IN_PROGRESS,
        9,
        "ref-1",
    )
    assert json.loads(seen[0].content) == {"transaction": "ref-1", "merchant_note": "vend failed"}


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("processed", RefundState.DONE),
        ("failed", RefundState.FAILED),
        ("needs-attention", RefundState.NEEDS_ATTENTION),
        ("partially-processed", RefundState.UNKNOWN),
    ],
)
async def test_fetched_refund_states(status: str, state: RefundState) -> None:
    data = {"id": 9, "status": status, "amount": 100, "currency": "NGN", "transaction": 7}
    client, seen = client_with(answer(data))
    refund = await client.fetch_refund(9)
    assert refund.state is state
    assert refund.transaction_id == 7
    assert seen[0].url.path == "/refund/9"


async def test_over_refund_is_rejected_and_a_timeout_is_unknown() -> None:
    refusal = {"status": False, "message": "Refund amount cannot be more than the transaction"}
    client, _ = client_with(lambda request: httpx.Response(400, json=refusal))
    assert (await client.create_refund("ref-1", 10**9)).state is RefundState.REJECTED
    timing_out, _ = client_with(raising(httpx.ReadTimeout("slow")))
    assert (await timing_out.create_refund("ref-1")).state is RefundState.UNKNOWN


async def test_list_refunds_asks_for_the_transaction_and_filters_anyway() -> None:
    items = [
        {"id": 1, "status": "processed", "amount": 100, "currency": "NGN", "transaction": 7},
        {"id": 2, "status": "pending", "amount": 100, "currency": "NGN", "transaction": 8},
    ]
    client, seen = client_with(answer(items))
    listing = await client.list_refunds(7)
    assert seen[0].url.params["transaction"] == "7"
    assert listing.complete
    assert [refund.refund_id for refund in listing.refunds] == [1]


async def test_logs_carry_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = client_with(answer(verify_data()))
    await client.verify("ref-1")
    failing, _ = client_with(raising(httpx.ReadTimeout("slow")))
    await failing.verify("ref-1")
    assert "paystack GET /transaction/verify/ref-1" in caplog.text
    assert SECRET not in caplog.text
    assert "AUTH_secretcard" not in caplog.text


async def test_a_client_it_was_given_is_left_open() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer(verify_data())))
    async with PaystackClient(settings(), http) as client:
        await client.verify("ref-1")
    assert not http.is_closed
    await http.aclose()


async def test_a_client_it_made_is_closed() -> None:
    client = PaystackClient(settings())
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.verify("ref-1")
