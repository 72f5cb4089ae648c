"""The Paystack sandbox over real HTTP: wire shapes, checkout, signed webhooks, refunds, faults.

A small receiver app, served in the test like a merchant's endpoint, records the exact bytes
and headers of every webhook it gets.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from billpay.funding.paystack import parse_event, verify_signature
from billpay.sandbox.paystack import PaystackSandboxState, WebhookConfig, create_app
from billpay.sandbox.server import serve

SECRET = "sk_test_sandbox_tests_9876543210"
AUTH = {"Authorization": f"Bearer {SECRET}"}


class Receiver:
    """A merchant's webhook endpoint: keeps raw bodies and headers, answers scripted statuses."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.statuses: list[int] = []
        self.app = Starlette(routes=[Route("/hooks/paystack", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.received.append((await request.body(), dict(request.headers)))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

    def events(self) -> list[str]:
        return [json.loads(body)["event"] for body, _ in self.received]


@pytest.fixture(scope="module")
def sandbox_state() -> PaystackSandboxState:
    return PaystackSandboxState()


@pytest.fixture(scope="module")
def sandbox_url(sandbox_state: PaystackSandboxState) -> Iterator[str]:
    with serve(create_app(sandbox_state, secret_key=SECRET)) as server:
        yield server.url


@pytest.fixture(scope="module")
def receiver_and_url() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    with serve(receiver.app) as server:
        yield receiver, f"{server.url}/hooks/paystack"


@pytest.fixture
def receiver(
    receiver_and_url: tuple[Receiver, str], sandbox_state: PaystackSandboxState
) -> Receiver:
    receiver, url = receiver_and_url
    receiver.received.clear()
    receiver.statuses.clear()
    sandbox_state.webhooks = WebhookConfig(webhook_url=url, webhook_retry_delay_seconds=0.01)
    return receiver


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox_state: PaystackSandboxState) -> None:
    sandbox_state.reset()
    sandbox_state.webhooks = WebhookConfig()


@pytest.fixture
async def http(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox_url, trust_env=False) as client:
        yield client


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def initialize(
    http: httpx.AsyncClient, reference: str, amount: int = 503_000, **extra: Any
) -> dict[str, Any]:
    body = {"email": "payer@example.com", "amount": amount, "reference": reference, **extra}
    response = await http.post("/transaction/initialize", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def paid(http: httpx.AsyncClient, reference: str, amount: int = 503_000) -> None:
    await initialize(http, reference, amount)
    response = await http.post(f"/_sandbox/checkout/{reference}/pay")
    assert response.status_code == 200, response.text


async def refund(http: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await http.post("/refund", json=body, headers=AUTH)


# --- Paystack's API shapes -------------------------------------------------------------------


async def test_initialize_answers_like_paystack(http: httpx.AsyncClient) -> None:
    body = {"email": "payer@example.com", "amount": "503000", "reference": "bp-init-1"}
    response = await http.post("/transaction/initialize", json=body, headers=AUTH)
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["message"]) == (True, "Authorization URL created")
    assert set(answer["data"]) == {"authorization_url", "access_code", "reference"}
    assert answer["data"]["reference"] == "bp-init-1"
    assert answer["data"]["authorization_url"].endswith(
        f"/checkout/{answer['data']['access_code']}"
    )


async def test_a_duplicate_reference_is_refused(http: httpx.AsyncClient) -> None:
    await initialize(http, "bp-dup-1")
    again = await http.post(
        "/transaction/initialize",
        json={"email": "payer@example.com", "amount": 100, "reference": "bp-dup-1"},
        headers=AUTH,
    )
    assert again.status_code == 400
    assert again.json() == {"status": False, "message": "Duplicate Transaction Reference"}


@pytest.mark.parametrize("amount", [100.5, "50.00", 0, -5, True, None])
async def test_amounts_must_be_whole_kobo(http: httpx.AsyncClient, amount: Any) -> None:
    body = {"email": "payer@example.com", "amount": amount}
    response = await http.post("/transaction/initialize", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json() == {"status": False, "message": "Invalid Amount Sent"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk_test_wrong"}])
async def test_the_api_wants_the_secret_key(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await http.get("/transaction/verify/anything", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": False, "message": "Invalid key"}


async def test_verify_answers_with_the_real_fields(http: httpx.AsyncClient) -> None:
    await paid(http, "bp-verify-1")
    response = await http.get("/transaction/verify/bp-verify-1", headers=AUTH)
    answer = response.json()
    assert (answer["status"], answer["message"]) == (True, "Verification successful")
    data = answer["data"]
    fields = {"status", "amount", "currency", "reference", "id", "paid_at", "gateway_response"}
    assert fields | {"channel", "customer", "authorization"} <= set(data)
    assert (data["status"], data["amount"], data["currency"]) == ("success", 503_000, "NGN")
    assert isinstance(data["amount"], int)
    assert data["customer"]["email"] == "payer@example.com"


async def test_verify_of_an_unknown_reference(http: httpx.AsyncClient) -> None:
    response = await http.get("/transaction/verify/nope", headers=AUTH)
    assert response.status_code == 400
    assert response.json() == {"status": False, "message": "Transaction reference not found"}


# --- checkout --------------------------------------------------------------------------------


async def test_the_checkout_page_pays_and_returns_to_the_callback(
    http: httpx.AsyncClient,
) -> None:
    data = await initialize(http, "bp-page-1", callback_url="https://merchant.test/back?x=1")
    page = await http.get(data["authorization_url"])
    assert page.status_code == 200
    assert "Pay ₦5,030" in page.text
    assert 'id="pay"' in page.text
    # What the browser does when the "Pay" button is pressed.
    action = "/_sandbox/checkout/bp-page-1/pay"
    assert 'action="../_sandbox/checkout/bp-page-1/pay"' in page.text
    pressed = await http.post(action, data={"outcome": "success"})
    assert pressed.status_code == 303
    assert pressed.headers["location"] == (
        "https://merchant.test/back?x=1&trxref=bp-page-1&reference=bp-page-1"
    )
    verify = await http.get("/transaction/verify/bp-page-1", headers=AUTH)
    assert verify.json()["data"]["status"] == "success"
    assert "Already paid" in (await http.get(data["authorization_url"])).text


async def test_paying_twice_is_refused(http: httpx.AsyncClient) -> None:
    await paid(http, "bp-twice-1")
    again = await http.post("/_sandbox/checkout/bp-twice-1/pay")
    assert again.status_code == 400


async def test_an_unknown_checkout_is_404(http: httpx.AsyncClient) -> None:
    assert (await http.get("/checkout/nothing-here")).status_code == 404


# --- webhooks --------------------------------------------------------------------------------


async def test_charge_success_is_sent_signed_over_the_raw_bytes(
    http: httpx.AsyncClient, receiver: Receiver, sandbox_state: PaystackSandboxState
) -> None:
    await paid(http, "bp-hook-1")
    await eventually(lambda: len(sandbox_state.deliveries) == 1)
    raw, headers = receiver.received[0]
    signature = headers["x-paystack-signature"]
    assert signature == hmac.new(SECRET.encode(), raw, hashlib.sha512).hexdigest()
    assert verify_signature(raw, signature, SECRET)
    event = parse_event(raw, headers, SECRET)
    assert (event.event, event.reference, event.amount_kobo, event.currency) == (
        "charge.success",
        "bp-hook-1",
        503_000,
        "NGN",
    )
    [attempt] = sandbox_state.deliveries
    assert (attempt.event, attempt.attempt, attempt.status_code, attempt.delivered) == (
        "charge.success",
        1,
        200,
        True,
    )


async def test_a_failed_payment_sends_no_charge_success(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await initialize(http, "bp-hook-2")
    await http.post("/_sandbox/checkout/bp-hook-2/pay", json={"outcome": "failed"})
    await asyncio.sleep(0.1)
    assert receiver.received == []


async def test_deliveries_are_retried_until_2xx_and_every_attempt_is_logged(
    http: httpx.AsyncClient, receiver: Receiver, sandbox_state: PaystackSandboxState
) -> None:
    receiver.statuses = [500, 503]
    await paid(http, "bp-hook-3")
    await eventually(lambda: len(sandbox_state.deliveries) == 3)
    log = (await http.get("/_sandbox/webhooks")).json()["deliveries"]
    assert [(entry["attempt"], entry["status_code"], entry["delivered"]) for entry in log] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert len({entry["delivery_id"] for entry in log}) == 1
    # Every retry carries the same bytes, so the receiver dedupes them on one event id.
    assert len({body for body, _ in receiver.received}) == 1


async def test_delivery_gives_up_after_the_configured_attempts(
    http: httpx.AsyncClient, receiver: Receiver, sandbox_state: PaystackSandboxState
) -> None:
    configured = await http.post("/_sandbox/config", json={"webhook_max_attempts": 2})
    assert configured.json()["webhook_max_attempts"] == 2
    receiver.statuses = [500, 500, 500]
    await paid(http, "bp-hook-4")
    await eventually(lambda: len(sandbox_state.deliveries) == 2)
    await asyncio.sleep(0.1)  # room for a third attempt, which must not come
    assert [attempt.delivered for attempt in sandbox_state.deliveries] == [False, False]
    assert len(receiver.received) == 2


async def test_an_unreachable_webhook_url_is_logged_as_an_error(
    http: httpx.AsyncClient, sandbox_state: PaystackSandboxState
) -> None:
    sandbox_state.webhooks = WebhookConfig(
        webhook_url="http://127.0.0.1:9/nothing", webhook_max_attempts=1
    )
    await paid(http, "bp-hook-5")
    await eventually(lambda: len(sandbox_state.deliveries) == 1)
    assert sandbox_state.deliveries[0].status_code is None
    assert sandbox_state.deliveries[0].error == "ConnectError"


# --- refunds ---------------------------------------------------------------------------------


async def test_refund_goes_pending_processing_processed_with_signed_webhooks(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await paid(http, "bp-refund-1")
    created = await refund(http, transaction="bp-refund-1", merchant_note="vend failed")
    assert created.json()["message"] == "Refund has been queued for processing"
    data = created.json()["data"]
    assert (data["status"], data["amount"], data["transaction"]["reference"]) == (
        "pending",
        503_000,
        "bp-refund-1",
    )
    for _ in range(2):
        await http.post(f"/_sandbox/refunds/{data['id']}/advance")
    fetched = (await http.get(f"/refund/{data['id']}", headers=AUTH)).json()["data"]
    assert (fetched["status"], fetched["transaction"]) == ("processed", data["transaction"]["id"])
    expected = ["charge.success", "refund.pending", "refund.processing", "refund.processed"]
    await eventually(lambda: receiver.events() == expected)
    for raw, headers in receiver.received:
        assert verify_signature(raw, headers["x-paystack-signature"], SECRET)
    last = parse_event(*receiver.received[-1], SECRET)
    assert (last.reference, last.amount_kobo, last.status) == ("bp-refund-1", 503_000, "processed")
    verify = await http.get("/transaction/verify/bp-refund-1", headers=AUTH)
    assert verify.json()["data"]["status"] == "reversed"


async def test_refund_forced_to_fail_sends_refund_failed(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await paid(http, "bp-refund-2")
    await http.post("/_sandbox/faults", json={"refund_outcome": "failed"})
    refund_id = (await refund(http, transaction="bp-refund-2")).json()["data"]["id"]
    await http.post(f"/_sandbox/refunds/{refund_id}/advance")
    final = await http.post(f"/_sandbox/refunds/{refund_id}/advance")
    assert final.json()["data"]["status"] == "failed"
    await eventually(lambda: receiver.events()[-1:] == ["refund.failed"])
    ended = await http.post(f"/_sandbox/refunds/{refund_id}/advance")
    assert ended.status_code == 400
    assert ended.json() == {"status": False, "message": "Refund is already failed"}


async def test_over_refund_is_refused(http: httpx.AsyncClient) -> None:
    await paid(http, "bp-refund-3", amount=10_000)
    too_much = await refund(http, transaction="bp-refund-3", amount=10_001)
    assert too_much.status_code == 400
    assert too_much.json()["status"] is False
    assert (await refund(http, transaction="bp-refund-3", amount=6_000)).status_code == 200
    assert (await refund(http, transaction="bp-refund-3", amount=4_001)).status_code == 400
    rest = await refund(http, transaction="bp-refund-3")
    assert rest.json()["data"]["amount"] == 4_000
    nothing_left = await refund(http, transaction="bp-refund-3")
    assert nothing_left.json() == {
        "status": False,
        "message": "Transaction has been fully reversed",
    }


async def test_unpaid_or_unknown_transactions_cannot_be_refunded(http: httpx.AsyncClient) -> None:
    await initialize(http, "bp-refund-4")
    assert (await refund(http, transaction="bp-refund-4")).status_code == 400
    assert (await refund(http, transaction="no-such")).status_code == 404


async def test_refunds_can_be_listed_by_transaction(http: httpx.AsyncClient) -> None:
    await paid(http, "bp-list-1")
    await paid(http, "bp-list-2")
    await refund(http, transaction="bp-list-1", amount=100)
    other = (await refund(http, transaction="bp-list-2", amount=200)).json()["data"]
    by_id = await http.get(
        "/refund", params={"transaction": other["transaction"]["id"]}, headers=AUTH
    )
    assert [item["amount"] for item in by_id.json()["data"]] == [200]
    everything = (await http.get("/refund", headers=AUTH)).json()
    assert everything["meta"]["total"] == 2


# --- faults and controls ---------------------------------------------------------------------


async def test_next_n_calls_fail_with_500(http: httpx.AsyncClient) -> None:
    await http.post("/_sandbox/faults", json={"fail_next": 2})
    statuses = [
        (await http.get("/transaction/verify/x", headers=AUTH)).status_code for _ in range(3)
    ]
    assert statuses == [500, 500, 400]


async def test_latency_slows_the_api(http: httpx.AsyncClient) -> None:
    await http.post("/_sandbox/faults", json={"latency_seconds": 0.3})
    started = asyncio.get_running_loop().time()
    await http.get("/transaction/verify/x", headers=AUTH)
    assert asyncio.get_running_loop().time() - started >= 0.3


async def test_a_timeout_fault_does_the_work_then_hangs(
    http: httpx.AsyncClient, sandbox_state: PaystackSandboxState
) -> None:
    await http.post("/_sandbox/faults", json={"timeout_next": 1, "hang_seconds": 1.0})
    with pytest.raises(httpx.ReadTimeout):
        await http.post(
            "/transaction/initialize",
            json={"email": "payer@example.com", "amount": 100, "reference": "bp-hang-1"},
            headers=AUTH,
            timeout=0.2,
        )
    assert "bp-hang-1" in sandbox_state.transactions


@pytest.mark.parametrize(
    "faults", [{"no_such_fault": 1}, {"fail_next": -1}, {"refund_outcome": "processed"}]
)
async def test_bad_fault_settings_are_refused(
    http: httpx.AsyncClient, faults: dict[str, Any]
) -> None:
    response = await http.post("/_sandbox/faults", json=faults)
    assert response.status_code == 400
    assert response.json()["status"] is False


async def test_reset_forgets_everything_but_the_webhook_settings(
    http: httpx.AsyncClient, sandbox_state: PaystackSandboxState
) -> None:
    await http.post("/_sandbox/config", json={"webhook_url": "http://127.0.0.1:9/x"})
    await initialize(http, "bp-reset-1")
    await http.post("/_sandbox/faults", json={"fail_next": 5})
    assert (await http.post("/_sandbox/reset")).json() == {"reset": True}
    assert sandbox_state.transactions == {}
    assert sandbox_state.faults.fail_next == 0
    assert sandbox_state.webhooks.webhook_url == "http://127.0.0.1:9/x"


# --- in process ------------------------------------------------------------------------------


async def test_the_app_runs_in_process_too() -> None:
    """Over an ASGI transport, with deliveries drained instead of waited for."""
    state = PaystackSandboxState()
    state.webhooks = WebhookConfig(webhook_url="http://127.0.0.1:9/hooks")
    app = create_app(state, secret_key=SECRET, public_base_url="https://pay.example/ps")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        data = await initialize(http, "bp-asgi-1")
        assert data["authorization_url"] == f"https://pay.example/ps/checkout/{data['access_code']}"
        wrong = await http.post(
            "/_sandbox/checkout/bp-asgi-1/pay", json={"amount_kobo": 1, "currency": "GHS"}
        )
        assert (wrong.json()["data"]["amount"], wrong.json()["data"]["currency"]) == (1, "GHS")
        assert wrong.json()["data"]["requested_amount"] == 503_000
    # The webhook went to an address nobody serves: one logged failure per attempt.
    await app.state.outbox.drain()
    assert [attempt.error for attempt in state.deliveries] == ["ConnectError"] * 3
