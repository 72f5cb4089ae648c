"""The VTpass sandbox over HTTP: VTpass's paths under ``/api/``, admin under ``/_sandbox/``.

Every API request goes: credentials → body → fault (if any) → latency → the state → delivery.
Delivery is where faults and magic numbers misbehave: an HTML page instead of JSON, a 500, or
an answer held until the client has given up. Holding watches for the client's disconnect, so
a timed-out client frees the handler at once.

Admin endpoints (no auth; a sandbox only):

- ``GET /_sandbox/vends`` → ``{"count", "by_request_id": {id: n}, "vends": [VendRecord]}``
- ``GET|POST /_sandbox/faults`` → ``{"latency_ms", "timeout_seconds", "rules": [FaultRule]}``;
  a POST replaces the fields it sends.
- ``GET|POST /_sandbox/config`` → ``SandboxOptions``; a POST replaces the fields it sends.
- ``POST /_sandbox/reset`` → forgets transactions, vends, callbacks and faults, and restores
  the options the state was built with.
- ``POST /_sandbox/reverse`` ``{"request_id"}`` → reverses a delivered transaction and POSTs
  the transaction-update (code 040, status reversed) to ``callback_url``.
- ``GET /_sandbox/webhooks`` → ``{"deliveries": [{"url", "payload", "result"}]}``.
"""

from __future__ import annotations

import asyncio
import enum
import hmac
import json
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from billpay.sandbox.connection import CutConnection
from billpay.sandbox.vtpass import responses
from billpay.sandbox.vtpass.catalog import LAGOS, Behaviour
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule
from billpay.sandbox.vtpass.state import Answer, VTpassSandboxState, WebhookDelivery

WEBHOOK_TIMEOUT_SECONDS: Final = 5.0
DISCONNECT_POLL_SECONDS: Final = 0.05


class Delivery(enum.StrEnum):
    JSON = "json"
    HELD_JSON = "held_json"  # the real answer, after holding it past the client's timeout
    UNREADABLE = "unreadable"  # an HTML page where JSON was expected
    SERVER_ERROR = "server_error"  # HTTP 500
    GATEWAY_TIMEOUT = "gateway_timeout"  # held, then HTTP 504


# Faults that strike before the request is processed: nothing is recorded, nothing vended.
_BEFORE_PROCESSING: Final = {
    FaultKind.ERROR_5XX: Delivery.SERVER_ERROR,
    FaultKind.TIMEOUT: Delivery.GATEWAY_TIMEOUT,
}
# Faults that spoil the answer of a request that was processed normally.
_AFTER_PROCESSING: Final = {
    FaultKind.UNREADABLE: Delivery.UNREADABLE,
    FaultKind.VEND_THEN_TIMEOUT: Delivery.HELD_JSON,
}
# How the magic customer numbers misdeliver (providers.md §1.9).
_BEHAVIOUR_DELIVERY: Final = {
    Behaviour.UNEXPECTED: Delivery.UNREADABLE,
    Behaviour.NO_RESPONSE: Delivery.HELD_JSON,
    Behaviour.TIMEOUT: Delivery.GATEWAY_TIMEOUT,
}
_HELD: Final = frozenset({Delivery.HELD_JSON, Delivery.GATEWAY_TIMEOUT})
ModelT = TypeVar("ModelT", bound=BaseModel)


def create_app(
    state: VTpassSandboxState | None = None,
    *,
    api_key: str = "sandbox-api-key",
    secret_key: str = "sandbox-secret-key",  # noqa: S107 - a simulator's well-known key
    public_key: str = "sandbox-public-key",
) -> Starlette:
    sandbox = _Sandbox(state or VTpassSandboxState(), api_key, secret_key, public_key)
    app = Starlette(routes=sandbox.routes())
    app.state.vtpass = sandbox.state
    return app


class _Sandbox:
    def __init__(
        self, state: VTpassSandboxState, api_key: str, secret_key: str, public_key: str
    ) -> None:
        self.state = state
        self._api_key = api_key
        self._secret_key = secret_key
        self._public_key = public_key

    def routes(self) -> list[Route]:
        return [
            Route("/api/service-categories", self.service_categories, methods=["GET"]),
            Route("/api/services", self.services, methods=["GET"]),
            Route("/api/service-variations", self.service_variations, methods=["GET"]),
            Route("/api/balance", self.balance, methods=["GET"]),
            Route("/api/merchant-verify", self.merchant_verify, methods=["POST"]),
            Route("/api/pay", self.pay, methods=["POST"]),
            Route("/api/requery", self.requery, methods=["POST"]),
            Route("/_sandbox/vends", self.admin_vends, methods=["GET"]),
            Route("/_sandbox/faults", self.admin_faults, methods=["GET", "POST"]),
            Route("/_sandbox/config", self.admin_config, methods=["GET", "POST"]),
            Route("/_sandbox/reset", self.admin_reset, methods=["POST"]),
            Route("/_sandbox/reverse", self.admin_reverse, methods=["POST"]),
            Route("/_sandbox/webhooks", self.admin_webhooks, methods=["GET"]),
        ]

    # --- VTpass API --------------------------------------------------------------------------

    async def service_categories(self, request: Request) -> Response:
        return await self._get(request, "service-categories", responses.categories)

    async def services(self, request: Request) -> Response:
        identifier = request.query_params.get("identifier", "")
        return await self._get(request, "services", lambda: responses.services(identifier))

    async def service_variations(self, request: Request) -> Response:
        service_id = request.query_params.get("serviceID", "")
        return await self._get(
            request, "service-variations", lambda: responses.variations(service_id)
        )

    async def balance(self, request: Request) -> Response:
        return await self._get(request, "balance", self.state.balance)

    async def merchant_verify(self, request: Request) -> Response:
        return await self._post(
            request,
            "merchant-verify",
            lambda body: (_field(body, "billersCode"),),
            lambda body, _: Answer(self.state.verify(body)),
        )

    async def pay(self, request: Request) -> Response:
        return await self._post(
            request,
            "pay",
            _purchase_keys,
            lambda body, fault: self.state.purchase(body, datetime.now(LAGOS), fault),
        )

    async def requery(self, request: Request) -> Response:
        return await self._post(
            request,
            "requery",
            lambda body: self.state.requery_keys(_field(body, "request_id")),
            lambda body, _: self.state.requery(_field(body, "request_id"), datetime.now(LAGOS)),
        )

    async def _get(
        self, request: Request, endpoint: str, produce: Callable[[], dict[str, Any]]
    ) -> Response:
        if not self._authorized(request, "public-key", self._public_key):
            return JSONResponse(responses.error("087"))
        return await self._serve(request, endpoint, (), lambda _: Answer(produce()))

    async def _post(
        self,
        request: Request,
        endpoint: str,
        keys: Callable[[Mapping[str, Any]], Collection[str]],
        produce: Callable[[Mapping[str, Any], FaultRule | None], Answer],
    ) -> Response:
        if not self._authorized(request, "secret-key", self._secret_key):
            return JSONResponse(responses.error("087"))
        body = _json_object(await request.body())
        if body is None:
            return JSONResponse(responses.error("011"))
        return await self._serve(request, endpoint, keys(body), lambda f: produce(body, f))

    async def _serve(
        self,
        request: Request,
        endpoint: str,
        keys: Collection[str],
        produce: Callable[[FaultRule | None], Answer],
    ) -> Response:
        fault = self.state.take_fault(endpoint, keys)
        faults = self.state.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if fault is not None and fault.kind is FaultKind.LOST_PURCHASE:
            return CutConnection()
        if fault is not None and fault.kind in _BEFORE_PROCESSING:
            return await self._deliver(request, Answer(), _BEFORE_PROCESSING[fault.kind])
        answer = produce(fault)
        delivery = _BEHAVIOUR_DELIVERY.get(answer.behaviour, Delivery.JSON)
        if fault is not None:
            delivery = _AFTER_PROCESSING.get(fault.kind, delivery)
        return await self._deliver(request, answer, delivery)

    async def _deliver(self, request: Request, answer: Answer, delivery: Delivery) -> Response:
        if delivery in _HELD:
            await _hold(request, self.state.faults.timeout_seconds)
        response = _response(answer, delivery)
        if answer.webhook is not None:
            response.background = BackgroundTask(self._send_webhook, answer.webhook)
        return response

    def _authorized(self, request: Request, second_header: str, second_value: str) -> bool:
        headers = request.headers
        return _same(headers.get("api-key"), self._api_key) and _same(
            headers.get(second_header), second_value
        )

    async def _send_webhook(self, payload: dict[str, Any]) -> None:
        url = self.state.options.callback_url
        if url is None:
            return
        result: int | str
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
                result = (await client.post(url, json=payload)).status_code
        except httpx.HTTPError as exc:
            result = type(exc).__name__
        self.state.record_webhook(WebhookDelivery(url, payload, result))

    # --- admin -------------------------------------------------------------------------------

    async def admin_vends(self, request: Request) -> Response:
        vends = self.state.vends()
        return JSONResponse(
            {
                "count": len(vends),
                "by_request_id": dict(Counter(vend.request_id for vend in vends)),
                "vends": [vend.as_json() for vend in vends],
            }
        )

    async def admin_faults(self, request: Request) -> Response:
        if request.method == "POST":
            updated = await _merged(request, self.state.faults)
            if isinstance(updated, Response):
                return updated
            self.state.set_faults(updated)
        return JSONResponse(self.state.faults.model_dump(mode="json"))

    async def admin_config(self, request: Request) -> Response:
        if request.method == "POST":
            updated = await _merged(request, self.state.options)
            if isinstance(updated, Response):
                return updated
            self.state.options = updated
        return JSONResponse(self.state.options.model_dump(mode="json"))

    async def admin_reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"reset": True})

    async def admin_reverse(self, request: Request) -> Response:
        body = _json_object(await request.body()) or {}
        request_id = _field(body, "request_id")
        webhook = self.state.reverse(request_id)
        if webhook is None:
            return JSONResponse({"error": "no delivered transaction with that request_id"}, 404)
        await self._send_webhook(webhook)
        return JSONResponse({"request_id": request_id, "status": "reversed", "webhook": webhook})

    async def admin_webhooks(self, request: Request) -> Response:
        deliveries = [delivery.as_json() for delivery in self.state.webhooks()]
        return JSONResponse({"deliveries": deliveries})


def _response(answer: Answer, delivery: Delivery) -> Response:
    if delivery is Delivery.SERVER_ERROR:
        return HTMLResponse(responses.SERVER_ERROR_PAGE, status_code=500)
    if delivery is Delivery.GATEWAY_TIMEOUT:
        return HTMLResponse(responses.GATEWAY_TIMEOUT_PAGE, status_code=504)
    if delivery is Delivery.UNREADABLE:
        return HTMLResponse(responses.UNREADABLE_PAGE)
    return JSONResponse(answer.payload)


def _field(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    return "" if value is None else str(value)


def _purchase_keys(body: Mapping[str, Any]) -> tuple[str, ...]:
    """Fault targets for a purchase: its request_id, recipient phone and billersCode."""
    return tuple(_field(body, key) for key in ("request_id", "phone", "billersCode"))


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        # Decimal, not float: amounts are checked to the kobo, as VTpass would.
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def _merged(request: Request, current: ModelT) -> ModelT | Response:
    """``current`` with the fields of the request's JSON body replaced, or a 422 answer."""
    changes = _json_object(await request.body())
    if changes is None:
        return JSONResponse({"error": "body must be a JSON object"}, 422)
    try:
        return type(current).model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        return JSONResponse({"error": exc.errors(include_url=False)}, 422)


async def _hold(request: Request, seconds: float) -> None:
    """Sit on the answer for ``seconds``, or until the client hangs up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(DISCONNECT_POLL_SECONDS, remaining))
