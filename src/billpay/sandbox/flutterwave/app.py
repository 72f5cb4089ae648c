"""A Flutterwave v3 Bills simulator speaking the wire contract of providers.md §2.

Paths, bearer auth, field names and reference naming (including the legacy endpoint's inverted
``tx_ref``/``flw_ref``) follow the documented examples. Where the public material is silent the
sandbox picks one plausible answer and says so:

- a purchase under a reference it has seen answers 400 "Duplicate reference" and vends nothing;
- a purchase that is still processing answers 200 with ``status: "pending"``;
- the status lookup always carries ``data.status`` (``successful``/``pending``/``failed``) and
  accepts both its own ``tx_ref`` and the merchant's reference; a token travels in ``extra``.

Admin endpoints (no auth) under ``/_sandbox``: ``GET vends``, ``GET|POST faults``,
``POST reset``, ``POST webhook`` (set the webhook URL), ``GET webhooks`` (deliveries made).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from billpay.sandbox.connection import CutConnection
from billpay.sandbox.flutterwave import state as catalog
from billpay.sandbox.flutterwave.codec import read_json, write_json
from billpay.sandbox.flutterwave.state import (
    CATEGORIES,
    KNOWN_CUSTOMERS,
    CustomerKind,
    Endpoint,
    Fault,
    FaultKind,
    FlutterwaveSandboxState,
    Item,
    Operation,
    Vend,
    VendStatus,
    WebhookDelivery,
)
from billpay.sandbox.units import NotWholeKobo, kobo_from_naira, naira_from_kobo, naira_number

SUCCESS = "success"  # the envelope's ``status`` (providers.md §2)
ERROR = "error"
_PENDING = frozenset({FaultKind.PENDING_THEN_SUCCESS, FaultKind.PENDING_THEN_FAILURE})
_LOOKUP_STATUS = {
    VendStatus.SUCCESS: "successful",
    VendStatus.PENDING: "pending",
    VendStatus.FAILED: "failed",
}


class FaultSpec(BaseModel):
    """``POST /_sandbox/faults`` body; see ``state.Fault`` for the meaning of each field."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    customer_id: str | None = None
    reference: str | None = None
    count: int | None = Field(default=1, ge=1)
    seconds: float | None = Field(default=None, ge=0)
    pending_lookups: int = Field(default=2, ge=0)
    operation: Operation = Operation.CREATE


class WebhookTarget(BaseModel):
    url: str | None


# Public sandbox credentials, known to every test: nothing real is behind them.
SANDBOX_SECRET_KEY = "FLWSECK_TEST-sandbox"
SANDBOX_SECRET_HASH = "sandbox-hash"


def create_app(
    state: FlutterwaveSandboxState | None = None,
    *,
    secret_key: str = SANDBOX_SECRET_KEY,
    secret_hash: str = SANDBOX_SECRET_HASH,
) -> Starlette:
    sandbox = _Sandbox(state or FlutterwaveSandboxState(), secret_key, secret_hash)
    return Starlette(routes=sandbox.routes(), lifespan=sandbox.lifespan)


Handler = Callable[[Request], Awaitable[Response]]


class _Sandbox:
    def __init__(self, state: FlutterwaveSandboxState, secret_key: str, secret_hash: str) -> None:
        self.state = state
        self._authorization = f"Bearer {secret_key}".encode()
        self._secret_hash = secret_hash
        self._timers: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        yield
        for timer in self._timers:
            timer.cancel()

    # --- routing -------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        api: list[tuple[str, Handler, str]] = [
            ("/top-bill-categories", self.categories, "GET"),
            ("/bills/{category}/billers", self.billers, "GET"),
            ("/billers/{biller_code}/items", self.items, "GET"),
            ("/bill-items/{item_code}/validate", self.validate, "GET"),
            ("/billers/{biller_code}/items/{item_code}/payment", self.create, "POST"),
            ("/bills", self.create_legacy, "POST"),
            ("/bills/{reference}", self.lookup, "GET"),
            ("/balances/{currency}", self.balance, "GET"),
        ]
        admin: list[tuple[str, Handler, str]] = [
            ("/vends", self.list_vends, "GET"),
            ("/faults", self.list_faults, "GET"),
            ("/faults", self.add_fault, "POST"),
            ("/reset", self.reset, "POST"),
            ("/webhook", self.set_webhook, "POST"),
            ("/webhooks", self.list_deliveries, "GET"),
        ]
        return [
            *(Route(f"/v3{path}", self._authorized(e), methods=[m]) for path, e, m in api),
            *(Route(f"/_sandbox{path}", e, methods=[m]) for path, e, m in admin),
        ]

    def _authorized(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, self._authorization):
                return _error(401, "Invalid authorization key")
            return await handler(request)

        return guarded

    # --- catalog -------------------------------------------------------------------------------

    async def categories(self, request: Request) -> Response:
        if refused := await self._before(request, Operation.CATALOG):
            return refused
        data = [
            {"id": n, "name": c.name, "code": c.code, "description": c.name, "country_code": "NG"}
            for n, c in enumerate(CATEGORIES, start=1)
        ]
        return _ok("Categories fetched successfully", data)

    async def billers(self, request: Request) -> Response:
        category = request.path_params["category"]
        if refused := await self._before(request, Operation.CATALOG):
            return refused
        if category not in {c.code for c in CATEGORIES}:
            return _error(400, "Invalid bill category")
        data = [
            {
                "id": int(b.code.removeprefix("BIL")),
                "name": b.name,
                "logo": None,
                "description": b.name,
                "short_name": b.short_name,
                "biller_code": b.code,
                "country_code": "NG",
            }
            for b in catalog.BILLERS
            if b.category == category
        ]
        return _ok("Billers fetched successfully", data)

    async def items(self, request: Request) -> Response:
        if refused := await self._before(request, Operation.CATALOG):
            return refused
        biller = catalog.biller(request.path_params["biller_code"])
        if biller is None:
            return _error(400, "Invalid biller code")
        return _ok("Bill items fetched successfully", [_item_json(i) for i in biller.items])

    # --- validate ------------------------------------------------------------------------------

    async def validate(self, request: Request) -> Response:
        customer = request.query_params.get("customer", "")
        if refused := await self._before(request, Operation.VALIDATE, customer=customer):
            return refused
        item = catalog.item_by_code(request.path_params["item_code"])
        if item is None or item.biller_code != request.query_params.get("code"):
            return _error(400, "Invalid biller or item code")
        if not item.accepts(customer):
            return _error(400, f"Invalid {item.customer_kind.value.lower()}: {customer}")
        name, address = _customer_name(item, customer)
        data = {
            "response_code": "00",
            "address": address,
            "response_message": "Successful",
            "name": name,
            "biller_code": item.biller_code,
            "customer": customer,
            "product_code": item.item_code,
            "email": None,
            "fee": item.fee_naira,
            "maximum": naira_number(item.max_kobo),
            "minimum": naira_number(item.min_kobo),
        }
        return _ok("Item validated successfully", data)

    # --- create --------------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        body = await _json_body(request)
        if body is None:
            return _error(400, "Invalid JSON body")
        item = catalog.item(request.path_params["biller_code"], request.path_params["item_code"])
        return await self._purchase(request, body, item, body.get("customer_id"), "current")

    async def create_legacy(self, request: Request) -> Response:
        body = await _json_body(request)
        if body is None:
            return _error(400, "Invalid JSON body")
        name = body.get("biller_name")
        item = catalog.legacy_item(str(body.get("type")), name if isinstance(name, str) else None)
        return await self._purchase(request, body, item, body.get("customer"), "legacy")

    async def _purchase(
        self,
        request: Request,
        body: Mapping[str, Any],
        item: Item | None,
        customer: object,
        endpoint: Endpoint,
    ) -> Response:
        reference = body.get("reference")
        fault, refused = await self._fault_or_refusal(
            request, Operation.CREATE, _text(customer), _text(reference)
        )
        if refused:
            return refused
        if fault is not None and fault.kind is FaultKind.LOST_PURCHASE:
            return CutConnection()
        purchase = _checked_purchase(item, customer, reference, body)
        if isinstance(purchase, str):
            return _error(400, purchase)
        if self.state.note_duplicate(purchase.reference):
            return _duplicate(purchase.reference)
        if fault is not None and fault.kind is FaultKind.DEFINITE_FAILURE:
            return _error(400, "Transaction failed: the biller declined this payment")
        pending = fault if fault is not None and fault.kind in _PENDING else None
        vend = self.state.record_vend(
            purchase.reference,
            endpoint,
            purchase.item,
            purchase.customer,
            purchase.amount_kobo,
            pending,
        )
        if vend is None:  # a concurrent request under the same reference vended first
            return _duplicate(purchase.reference)
        return await self._after_vend(request, vend, fault)

    async def _after_vend(self, request: Request, vend: Vend, fault: Fault | None) -> Response:
        if vend.status is VendStatus.PENDING and fault is not None and fault.seconds:
            self._spawn(self._settle_later(vend, fault.seconds))
        final = vend.status is not VendStatus.PENDING
        notify = BackgroundTask(self._notify, vend) if final else None
        if fault is not None and fault.kind is FaultKind.ERROR_AFTER_VEND:
            return _error(500, "An error occurred while processing this request", notify)
        if fault is not None and fault.kind is FaultKind.TIMEOUT_AFTER_VEND:
            await _hang(request, fault.hang_seconds)
        if not final:
            return _json(200, _envelope("pending", "Bill payment is processing", _vend_json(vend)))
        return _json(200, _envelope(SUCCESS, "Bill payment successful", _vend_json(vend)), notify)

    # --- wallet --------------------------------------------------------------------------------

    async def balance(self, request: Request) -> Response:
        """``GET /v3/balances/{currency}``: the sandbox holds a naira wallet only."""
        if refused := await self._before(request, Operation.ANY):
            return refused
        currency = request.path_params["currency"].upper()
        if currency != "NGN":
            return _error(400, f"No wallet found for {currency}")
        available = naira_number(self.state.balance_kobo)
        data = {"currency": "NGN", "available_balance": available, "ledger_balance": available}
        return _ok("Wallet balance fetched", data)

    # --- status lookup -------------------------------------------------------------------------

    async def lookup(self, request: Request) -> Response:
        reference = request.path_params["reference"]
        vend = self.state.find(reference)
        customer = vend.customer if vend else None
        _, refused = await self._fault_or_refusal(request, Operation.LOOKUP, customer, reference)
        if refused:
            return refused
        if vend is None:
            return _error(404, "No transaction was found for this id")
        settled = self.state.observe_lookup(vend)
        notify = BackgroundTask(self._notify, vend) if settled else None
        answer = _envelope(SUCCESS, "Bill status fetch successful", _status_json(vend))
        return _json(200, answer, notify)

    # --- faults, timers, webhooks --------------------------------------------------------------

    async def _before(
        self, request: Request, operation: Operation, *, customer: str | None = None
    ) -> Response | None:
        _, refused = await self._fault_or_refusal(request, operation, customer, None)
        return refused

    async def _fault_or_refusal(
        self,
        request: Request,
        operation: Operation,
        customer: str | None,
        reference: str | None,
    ) -> tuple[Fault | None, Response | None]:
        """Add latency; answer now for a fault that fails before any work, else hand it on."""
        delay, fault = self.state.take_faults(operation, customer, reference)
        if delay:
            await asyncio.sleep(delay)
        if fault is not None and fault.kind is FaultKind.SERVER_ERROR:
            return None, _error(500, "Internal server error")
        if fault is not None and fault.kind is FaultKind.TIMEOUT:
            await _hang(request, fault.hang_seconds)
            return None, _error(504, "Gateway timeout")
        return fault, None

    async def _settle_later(self, vend: Vend, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self.state.settle(vend):
            await self._notify(vend)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        timer = asyncio.get_running_loop().create_task(work)
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def _notify(self, vend: Vend) -> None:
        """Send ``singlebillpayment.status`` to the webhook URL, if one is set, and record it."""
        url = self.state.webhook_url
        if url is None:
            return
        body = write_json(_webhook_json(vend))
        headers = {"verif-hash": self._secret_hash, "content-type": "application/json"}
        try:
            # A client per delivery: webhooks are rare, and a mounted app gets no lifespan to
            # close a shared one.
            async with httpx.AsyncClient(timeout=10.0) as http:
                response = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            delivery = WebhookDelivery(vend.reference, vend.status.value, None, repr(exc))
        else:
            status_code = response.status_code
            delivery = WebhookDelivery(vend.reference, vend.status.value, status_code, None)
        self.state.record_delivery(delivery)

    # --- admin ---------------------------------------------------------------------------------

    async def list_vends(self, _: Request) -> Response:
        vends = self.state.vends()
        listing = {reference: _admin_vend_json(vend) for reference, vend in vends.items()}
        return _json(200, {"count": len(vends), "vends": listing})

    async def list_faults(self, _: Request) -> Response:
        return _json(200, {"faults": [_fault_json(f) for f in self.state.faults()]})

    async def add_fault(self, request: Request) -> Response:
        try:
            spec = FaultSpec.model_validate(await _json_body(request))
            fault = self.state.add_fault(Fault(**spec.model_dump()))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError too
            return _json(422, {"detail": str(exc)})
        return _json(200, {"fault": _fault_json(fault)})

    async def reset(self, _: Request) -> Response:
        self.state.reset()
        return _json(200, {"status": "reset"})

    async def set_webhook(self, request: Request) -> Response:
        try:
            target = WebhookTarget.model_validate(await _json_body(request))
        except ValidationError as exc:
            return _json(422, {"detail": str(exc)})
        self.state.webhook_url = target.url
        return _json(200, {"url": target.url})

    async def list_deliveries(self, _: Request) -> Response:
        deliveries = [vars(d) for d in self.state.deliveries()]
        return _json(200, {"deliveries": deliveries})


# --- request checks ----------------------------------------------------------------------------


async def _json_body(request: Request) -> Mapping[str, Any] | None:
    try:
        body = read_json(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@dataclass(frozen=True)
class _Purchase:
    item: Item
    customer: str
    reference: str
    amount_kobo: int


def _checked_purchase(
    item: Item | None, customer: object, reference: object, body: Mapping[str, Any]
) -> _Purchase | str:
    """The purchase asked for, or why Flutterwave would refuse it outright."""
    if item is None:
        return "Invalid biller, item or bill type"
    if body.get("country") != "NG":
        return "Bill payments are only available for country NG"
    if not isinstance(reference, str) or not reference:
        return "reference is required"
    if not isinstance(customer, str) or not item.accepts(customer):
        return f"Invalid {item.customer_kind.value.lower()}"
    amount_kobo = _amount_kobo(item, body.get("amount"))
    if isinstance(amount_kobo, str):
        return amount_kobo
    return _Purchase(item, customer, reference, amount_kobo)


def _amount_kobo(item: Item, amount: object) -> int | str:
    """The amount (a JSON number of naira) in kobo, or why it is refused."""
    if not isinstance(amount, int | Decimal) or isinstance(amount, bool) or amount <= 0:
        return "amount must be a positive number"
    try:
        kobo = kobo_from_naira(amount)
    except NotWholeKobo:
        return "amount has fractions of a kobo"
    if item.price_kobo and kobo != item.price_kobo:
        return f"Amount must be {naira_number(item.price_kobo)} for {item.name}"
    if not item.price_kobo and not item.min_kobo <= kobo <= item.max_kobo:
        low, high = naira_number(item.min_kobo), naira_number(item.max_kobo)
        return f"Amount must be between {low} and {high}"
    return kobo


def _duplicate(reference: str) -> Response:
    return _error(400, f"Duplicate reference: a bill payment with reference {reference} exists")


def _customer_name(item: Item, customer: str) -> tuple[str, str | None]:
    if customer in KNOWN_CUSTOMERS:
        return KNOWN_CUSTOMERS[customer]
    biller = catalog.biller(item.biller_code)
    if item.customer_kind is CustomerKind.PHONE and biller is not None:
        return biller.short_name.upper(), None  # airtime validation names the network
    return f"Sandbox Customer {customer[-4:]}", None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def _hang(request: Request, seconds: float) -> None:
    """Wait ``seconds``, or less if the client gives up first (so shutdown is never held up)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_client_gone(request), seconds)


async def _client_gone(request: Request) -> None:
    # Once the body is read, the next message the server hands over is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        continue


# --- wire shapes -------------------------------------------------------------------------------


def _json(status: int, content: Any, background: BackgroundTask | None = None) -> Response:
    return Response(
        write_json(content), status, media_type="application/json", background=background
    )


def _envelope(status: str, message: str, data: Any) -> dict[str, Any]:
    return {"status": status, "message": message, "data": data}


def _ok(message: str, data: Any) -> Response:
    return _json(200, _envelope(SUCCESS, message, data))


def _error(status: int, message: str, background: BackgroundTask | None = None) -> Response:
    return _json(status, _envelope(ERROR, message, None), background)


def _item_json(item: Item) -> dict[str, Any]:
    biller = catalog.biller(item.biller_code)
    return {
        "id": int(item.item_code[2:]),
        "biller_code": item.biller_code,
        "name": item.name,
        "default_commission": Decimal("0.03"),
        "date_added": "2023-09-19T19:20:16.13Z",
        "country": "NG",
        "is_airtime": item.biller_name == "AIRTIME",
        "biller_name": item.biller_name,
        "item_code": item.item_code,
        "short_name": item.name,
        "fee": item.fee_naira,
        "commission_on_fee": item.fee_naira > 0,
        "reg_expression": "^[0-9]+$",
        "label_name": item.customer_kind.value,
        "amount": naira_number(item.price_kobo),
        "is_resolvable": True,
        "group_name": biller.name if biller else item.biller_name,
        "category_name": biller.category if biller else None,
        "is_data": "DATA" in item.biller_name or None,
        "validity_period": str(item.validity_days) if item.validity_days else None,
    }


def _vend_json(vend: Vend) -> dict[str, Any]:
    """The create answer's ``data``; the legacy endpoint swaps which field holds which id."""
    biller = catalog.biller(vend.item.biller_code)
    data: dict[str, Any] = {
        "phone_number": vend.customer,
        "amount": js_naira(vend.amount_kobo),
        "network": biller.name if biller else vend.item.biller_name,
    }
    if vend.endpoint == "legacy":
        data |= {"flw_ref": vend.flutterwave_ref, "tx_ref": vend.biller_ref, "reference": None}
    else:
        data |= {
            "code": "200",
            "tx_ref": vend.flutterwave_ref,
            "reference": vend.biller_ref,
            "batch_reference": None,
            "fee": vend.item.fee_naira,
        }
    return data | {"recharge_token": vend.token}


def _status_json(vend: Vend) -> dict[str, Any]:
    biller = catalog.biller(vend.item.biller_code)
    product = biller.name if biller else vend.item.biller_name
    return {
        "currency": "NGN",
        "customer_id": vend.customer,
        "frequency": "One Time",
        "amount": _naira_text(vend),
        "fee": vend.item.fee_naira,
        "product": vend.item.biller_name,
        "product_name": product,
        "commission": 0,
        "transaction_date": vend.created_at.isoformat().replace("+00:00", "Z"),
        "customer_reference": vend.reference,
        "country": "NG",
        "flw_ref": vend.biller_ref,
        "tx_ref": vend.flutterwave_ref,
        "batch_id": None,
        "extra": {"recharge_token": vend.token, "units": vend.units} if vend.token else None,
        "product_details": f"FLY-API-NG-{product}",
        "status": _LOOKUP_STATUS[vend.status],
    }


def js_naira(kobo: int) -> int | Decimal:
    """Naira as Flutterwave's (JavaScript) serializer writes a number: ``1800``, ``500.5`` — the
    shortest form, so ₦500.50 goes out as ``500.5`` (providers.md §2.6)."""
    amount = naira_number(kobo)
    return amount.normalize() if isinstance(amount, Decimal) else amount


def _naira_text(vend: Vend) -> str:
    # The documented lookups show airtime as "500.0000" and other bills as "1800.00".
    naira = naira_from_kobo(vend.amount_kobo)
    return str(naira.quantize(Decimal("0.0001")) if vend.item.biller_name == "AIRTIME" else naira)


def _webhook_json(vend: Vend) -> dict[str, Any]:
    delivered = vend.status is VendStatus.SUCCESS
    biller = catalog.biller(vend.item.biller_code)
    return {
        "event": "singlebillpayment.status",
        "event.type": "SingleBillPayment",
        "data": {
            "customer": vend.customer,
            "amount": js_naira(vend.amount_kobo),
            "network": biller.short_name if biller else vend.item.biller_name,
            "tx_ref": vend.flutterwave_ref,
            "flw_ref": vend.biller_ref,
            "batch_reference": None,
            "customer_reference": vend.reference,
            "status": "success" if delivered else "failed",
            "message": "Bill Payment was completed successfully"
            if delivered
            else "Bill Payment failed",
            "reference": None,
        },
    }


def _admin_vend_json(vend: Vend) -> dict[str, Any]:
    return {
        "reference": vend.reference,
        "tx_ref": vend.flutterwave_ref,
        "biller_reference": vend.biller_ref,
        "endpoint": vend.endpoint,
        "biller_code": vend.item.biller_code,
        "item_code": vend.item.item_code,
        "customer": vend.customer,
        "amount_kobo": vend.amount_kobo,
        "status": vend.status.value,
        "token": vend.token,
        "units": vend.units,
        "lookups": vend.lookups,
        "duplicate_attempts": vend.duplicate_attempts,
        "created_at": vend.created_at.isoformat(),
    }


def _fault_json(fault: Fault) -> dict[str, Any]:
    return {
        "kind": fault.kind.value,
        "customer_id": fault.customer_id,
        "reference": fault.reference,
        "count": fault.count,
        "seconds": fault.seconds,
        "pending_lookups": fault.pending_lookups,
        "operation": fault.operation.value,
    }
