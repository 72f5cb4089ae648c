"""A Paystack simulator (providers.md §4) for collecting and refunding naira.

It speaks Paystack's paths, bearer auth and JSON shapes, serves a checkout page a person or a
browser can pay on, sends ``x-paystack-signature``-signed webhooks, and injects faults.
``/_sandbox/*`` is the simulator's own control surface (no auth):

- ``POST /_sandbox/checkout/{reference}/pay``  ``{"outcome": "success"|"failed"|"abandoned",
  "amount_kobo": int, "currency": str}`` (all optional; a wrong amount or currency simulates
  a payment billpay must not accept)
- ``POST /_sandbox/refunds/{id}/advance``  one step along pending → processing → end
- ``POST /_sandbox/config``  ``{"webhook_url", "webhook_max_attempts",
  "webhook_retry_delay_seconds", "webhook_timeout_seconds"}``
- ``POST /_sandbox/faults``  ``{"latency_seconds", "fail_next", "timeout_next",
  "hang_seconds", "refund_outcome", "refund_auto_advance_after"}``
- ``POST /_sandbox/reset``, ``GET /_sandbox/webhooks`` (every delivery attempt)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from html import escape
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from billpay.sandbox.paystack.state import (
    DeliveryAttempt,
    PaymentOutcome,
    PaystackSandboxState,
    SandboxError,
    SandboxRefund,
    SandboxTransaction,
    now,
    stamp,
)
from billpay.sandbox.units import naira_for_people, naira_from_kobo

DEFAULT_SECRET_KEY = "sk_test_sandbox"
SIGNATURE_HEADER = "x-paystack-signature"
_DIGITS = re.compile(r"[0-9]+")
_OUTCOMES: dict[str, PaymentOutcome] = {
    "success": "success",
    "failed": "failed",
    "abandoned": "abandoned",
}
_Settings = TypeVar("_Settings", bound=BaseModel)
_Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def create_app(
    state: PaystackSandboxState | None = None,
    *,
    secret_key: str = DEFAULT_SECRET_KEY,
    public_base_url: str | None = None,
) -> FastAPI:
    """``public_base_url`` is where payers reach this app (checkout links); by default the
    URL the initialize request came in on."""
    sandbox = state if state is not None else PaystackSandboxState()
    outbox = WebhookOutbox(sandbox, secret_key)
    app = FastAPI(title="Paystack sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.outbox = outbox
    app.add_exception_handler(SandboxError, _paystack_error)
    app.include_router(_api_router(sandbox, outbox, secret_key, public_base_url))
    app.include_router(_checkout_router(sandbox, outbox))
    app.include_router(_control_router(sandbox, outbox))
    return app


# --- Paystack's API --------------------------------------------------------------------------


def _api_router(
    sandbox: PaystackSandboxState,
    outbox: WebhookOutbox,
    secret_key: str,
    public_base_url: str | None,
) -> APIRouter:
    router = APIRouter(route_class=_guarded_route(sandbox, secret_key))

    @router.post("/transaction/initialize")
    async def initialize(request: Request) -> JSONResponse:
        body = await _json_object(request)
        transaction = sandbox.initialize(
            email=_email(body.get("email")),
            amount_kobo=_kobo(body.get("amount"), "Invalid Amount Sent"),
            currency=_text(body.get("currency"), "currency") or "NGN",
            reference=_text(body.get("reference"), "reference"),
            callback_url=_text(body.get("callback_url"), "callback_url"),
            metadata=_metadata(body.get("metadata")),
        )
        checkout = _checkout_url(request, transaction, public_base_url)
        return _ok(
            "Authorization URL created",
            {
                "authorization_url": checkout,
                "access_code": transaction.access_code,
                "reference": transaction.reference,
            },
        )

    @router.get("/transaction/verify/{reference}")
    async def verify(reference: str) -> JSONResponse:
        return _ok("Verification successful", sandbox.transaction(reference).as_paystack())

    @router.post("/refund")
    async def create_refund(request: Request) -> JSONResponse:
        body = await _json_object(request)
        amount = body.get("amount")
        refund = sandbox.create_refund(
            _transaction_key(body.get("transaction")),
            None if amount is None else _kobo(amount, "Invalid amount"),
            merchant_note=_text(body.get("merchant_note"), "merchant_note"),
            customer_note=_text(body.get("customer_note"), "customer_note"),
        )
        outbox.send_refund(refund)
        return _ok(
            "Refund has been queued for processing", refund.as_paystack(embed_transaction=True)
        )

    @router.get("/refund/{refund_id}")
    async def fetch_refund(refund_id: str) -> JSONResponse:
        refund = sandbox.refund(refund_id)
        if sandbox.count_fetch(refund):
            outbox.send_refund(refund)
        return _ok("Refund retrieved", refund.as_paystack())

    @router.get("/refund")
    async def list_refunds(
        transaction: str | None = None, reference: str | None = None
    ) -> JSONResponse:
        refunds = sandbox.refunds_of(transaction or reference)
        meta = {"total": len(refunds), "skipped": 0, "perPage": 50, "page": 1, "pageCount": 1}
        return JSONResponse(
            {
                "status": True,
                "message": "Refunds retrieved",
                "data": [refund.as_paystack() for refund in refunds],
                "meta": meta,
            }
        )

    return router


def _guarded_route(sandbox: PaystackSandboxState, secret_key: str) -> type[APIRoute]:
    """Bearer auth, then the injected faults, around every API call."""
    expected = f"Bearer {secret_key}".encode()

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> _Handler:
            handle = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                given = request.headers.get("authorization", "").encode()
                if not hmac.compare_digest(given, expected):
                    return _failure("Invalid key", 401)
                faults = sandbox.faults
                await asyncio.sleep(faults.latency_seconds)
                if faults.take_failure():
                    return _failure("Server Error", 500)
                response = await handle(request)
                if faults.take_timeout():
                    await asyncio.sleep(faults.hang_seconds)
                return response

            return guarded

    return GuardedRoute


def _checkout_url(
    request: Request, transaction: SandboxTransaction, public_base_url: str | None
) -> str:
    if public_base_url:
        return f"{public_base_url.rstrip('/')}/checkout/{transaction.access_code}"
    return str(request.url_for("checkout_page", access_code=transaction.access_code))


# --- the payer's side ------------------------------------------------------------------------


def _checkout_router(sandbox: PaystackSandboxState, outbox: WebhookOutbox) -> APIRouter:
    router = APIRouter()

    @router.get("/checkout/{access_code}", name="checkout_page")
    async def checkout_page(access_code: str) -> HTMLResponse:
        transaction = sandbox.transaction_by_access_code(access_code)
        if transaction is None:
            return HTMLResponse(_page("Checkout not found", "<p>No such checkout.</p>"), 404)
        return HTMLResponse(_checkout_html(transaction))

    @router.post("/_sandbox/checkout/{reference}/pay")
    async def pay(reference: str, request: Request) -> Response:
        from_page = _is_form(request)
        fields = await (_form_fields(request) if from_page else _json_object(request))
        amount = fields.get("amount_kobo")
        transaction = sandbox.pay(
            reference,
            outcome=_outcome(fields.get("outcome")),
            amount_kobo=None if amount is None else _kobo(amount, "Invalid amount_kobo"),
            currency=_text(fields.get("currency"), "currency"),
        )
        if transaction.status == "success":
            outbox.send("charge.success", transaction.as_paystack())
        if from_page:
            return _after_checkout(transaction)
        return _ok("Payment recorded", transaction.as_paystack())

    return router


def _after_checkout(transaction: SandboxTransaction) -> Response:
    # Like Paystack: back to the merchant's callback with the reference, whatever happened.
    if transaction.callback_url:
        separator = "&" if "?" in transaction.callback_url else "?"
        query = urlencode({"trxref": transaction.reference, "reference": transaction.reference})
        return RedirectResponse(f"{transaction.callback_url}{separator}{query}", status_code=303)
    reference = escape(transaction.reference)
    return HTMLResponse(
        _page(f"Payment {transaction.status}", f"<p>Reference <code>{reference}</code></p>")
    )


def _checkout_html(transaction: SandboxTransaction) -> str:
    reference = escape(transaction.reference)
    if transaction.status in ("success", "reversed"):
        return _page("Already paid", f"<p>Reference <code>{reference}</code></p>")
    # Relative, so the form works wherever this app is mounted.
    action = escape(f"../_sandbox/checkout/{quote(transaction.reference, safe='')}/pay")
    return _page(
        f"Pay {_display_amount(transaction)}",
        f"<p>{escape(transaction.email)} · reference <code>{reference}</code></p>"
        f'<form method="post" action="{action}">'
        '<button type="submit" name="outcome" value="success" id="pay">Pay</button>'
        '<button type="submit" name="outcome" value="failed" id="decline">Decline</button>'
        "</form>",
    )


def _display_amount(transaction: SandboxTransaction) -> str:
    if transaction.currency == "NGN":
        return naira_for_people(transaction.amount_kobo)
    # Every currency Paystack settles in has 100 minor units, like the naira.
    return f"{transaction.currency} {naira_from_kobo(transaction.amount_kobo)}"


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · Paystack sandbox</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;"
        "padding:0 1rem}button{font-size:1.1rem;padding:.6rem 1.4rem;margin-right:.5rem}"
        f"</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


# --- the sandbox's own controls --------------------------------------------------------------


def _control_router(sandbox: PaystackSandboxState, outbox: WebhookOutbox) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.post("/config")
    async def configure(request: Request) -> dict[str, Any]:
        sandbox.webhooks = _updated(sandbox.webhooks, await _json_object(request))
        return sandbox.webhooks.model_dump()

    @router.post("/faults")
    async def inject_faults(request: Request) -> dict[str, Any]:
        sandbox.faults = _updated(sandbox.faults, await _json_object(request))
        return sandbox.faults.model_dump()

    @router.post("/reset")
    async def reset() -> dict[str, bool]:
        sandbox.reset()
        return {"reset": True}

    @router.get("/webhooks")
    async def deliveries() -> dict[str, Any]:
        return {"deliveries": [asdict(attempt) for attempt in sandbox.deliveries]}

    @router.post("/refunds/{refund_id}/advance")
    async def advance_refund(refund_id: str) -> JSONResponse:
        refund = sandbox.refund(refund_id)
        if not sandbox.advance_refund(refund):
            raise SandboxError(f"Refund is already {refund.status}")
        outbox.send_refund(refund)
        return _ok("Refund advanced", refund.as_paystack())

    return router


def _updated(current: _Settings, changes: dict[str, Any]) -> _Settings:
    """``current`` with ``changes`` applied, validated as a whole (unknown keys refused)."""
    try:
        return type(current).model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        raise SandboxError(str(exc)) from None


# --- webhooks --------------------------------------------------------------------------------


class WebhookOutbox:
    """Signs and sends webhooks in the order they happened, retrying answers that are not 2xx.

    Deliveries run in background tasks, as Paystack's do: the call that caused an event
    answers without waiting for the merchant's handler.
    """

    def __init__(self, sandbox: PaystackSandboxState, secret_key: str) -> None:
        self._sandbox = sandbox
        self._secret_key = secret_key
        self._one_at_a_time = asyncio.Lock()  # FIFO, so events arrive in order
        self._tasks: set[asyncio.Task[None]] = set()

    def send_refund(self, refund: SandboxRefund) -> None:
        # Paystack has no event for needs-attention; the merchant finds it by fetching.
        if refund.status != "needs-attention":
            self.send(f"refund.{refund.status}", refund.as_webhook_data())

    def send(self, event: str, data: dict[str, Any]) -> None:
        url = self._sandbox.webhooks.webhook_url
        if url is None:
            return
        body = json.dumps({"event": event, "data": data}, separators=(",", ":")).encode()
        delivery = self._deliver(self._sandbox.next_delivery_id(), event, url, body)
        task = asyncio.create_task(delivery)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every delivery under way has finished (for in-process tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks)

    async def _deliver(self, delivery_id: int, event: str, url: str, body: bytes) -> None:
        config = self._sandbox.webhooks
        signature = hmac.new(self._secret_key.encode(), body, hashlib.sha512).hexdigest()
        headers = {"content-type": "application/json", SIGNATURE_HEADER: signature}
        async with (
            self._one_at_a_time,
            httpx.AsyncClient(timeout=config.webhook_timeout_seconds, trust_env=False) as client,
        ):
            for attempt in range(1, config.webhook_max_attempts + 1):
                if attempt > 1:
                    await asyncio.sleep(config.webhook_retry_delay_seconds)
                status_code, error = await _post(client, url, body, headers)
                delivered = status_code is not None and 200 <= status_code < 300
                self._sandbox.record_delivery(
                    DeliveryAttempt(
                        delivery_id=delivery_id,
                        event=event,
                        url=url,
                        attempt=attempt,
                        status_code=status_code,
                        error=error,
                        delivered=delivered,
                        at=stamp(now()),
                        body=body.decode(),
                    )
                )
                if delivered:
                    return


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int | None, str | None]:
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    return response.status_code, None


# --- reading requests and writing answers ----------------------------------------------------


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise SandboxError("Invalid JSON body") from None
    if not isinstance(value, dict):
        raise SandboxError("Invalid JSON body")
    return value


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith("application/x-www-form-urlencoded")


async def _form_fields(request: Request) -> dict[str, Any]:
    parsed = parse_qs((await request.body()).decode(), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def _kobo(value: object, message: str) -> int:
    # Paystack takes the amount as an integer or a digit string, in kobo, never fractional.
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value) and int(value) > 0:
        return int(value)
    raise SandboxError(message)


def _text(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise SandboxError(f"Invalid {name}")


def _email(value: object) -> str:
    if isinstance(value, str) and "@" in value:
        return value
    raise SandboxError("Invalid Email Address Passed")


def _metadata(value: object) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise SandboxError("Invalid metadata")


def _transaction_key(value: object) -> str:
    # A reference, or the transaction's numeric id (a JSON true is neither).
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise SandboxError("Transaction reference or id is required")


def _outcome(value: object) -> PaymentOutcome:
    if value is None:
        return "success"
    if isinstance(value, str) and value in _OUTCOMES:
        return _OUTCOMES[value]
    raise SandboxError("outcome must be success, failed or abandoned")


def _ok(message: str, data: Any) -> JSONResponse:
    return JSONResponse({"status": True, "message": message, "data": data})


def _failure(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"status": False, "message": message}, status_code=status_code)


async def _paystack_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)  # registered for SandboxError only
    return _failure(exc.message, exc.status_code)
