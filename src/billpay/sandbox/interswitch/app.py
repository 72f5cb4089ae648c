"""An Interswitch Quickteller v5 simulator speaking the wire contract of providers.md §3.

Passport: ``POST /passport/oauth/token`` (Basic client credentials, ``grant_type`` form field).
API (bearer token, ``TerminalID``) under ``/quicktellerservice/api/v5``:
``GET services/categories``, ``GET services?categoryid=``, ``GET services/options?serviceid=``,
``POST Transactions/validatecustomers``, ``POST Transactions`` (payment advice),
``GET Transactions?requestRef=``. Admin, unauthenticated: ``GET /_sandbox/vends``,
``POST /_sandbox/faults``, ``POST /_sandbox/reset``, ``GET /_sandbox/token-requests``.

Request bodies and query parameters are read case-insensitively, as the docs spell them both
ways. Query answers URL-encode their display strings, like the documented sample.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import secrets
import string
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote_plus

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from billpay.sandbox.connection import CutConnection
from billpay.sandbox.interswitch.state import (
    ADVICE_FAULTS,
    BILLERS,
    CATALOG,
    DESCRIPTIONS,
    DUPLICATE_REFERENCE,
    INVALID_AMOUNT,
    INVALID_REQUEST,
    ITEMS,
    NO_SUCH_REFERENCE,
    PENDING,
    REQUEST_FAULTS,
    SUCCESSFUL,
    SYSTEM_MALFUNCTION,
    TERMINAL_MISMATCH,
    TRANSACTION_FAILED,
    UNKNOWN_PAYMENT_CODE,
    Biller,
    Category,
    CustomerCheck,
    Fault,
    FaultName,
    InterswitchSandboxState,
    Item,
    Vend,
    check_customer,
    grouping_of,
    prepaid_token,
    units_for,
)

API = "/quicktellerservice/api/v5"
MAX_REFERENCE_LENGTH = 12  # the legacy advice limit (providers.md §3.5)
_REF_ALPHABET = string.ascii_uppercase + string.digits


def create_app(
    state: InterswitchSandboxState | None = None,
    *,
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",  # noqa: S107 - the simulator's public test credential
    terminal_id: str = "3DMO0001",
    request_prefix: str = "1453",
) -> Starlette:
    sandbox = InterswitchSandbox(
        state or InterswitchSandboxState(), client_id, client_secret, terminal_id, request_prefix
    )
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox.state
    return app


class InterswitchSandbox:
    def __init__(
        self,
        state: InterswitchSandboxState,
        client_id: str,
        client_secret: str,
        terminal_id: str,
        request_prefix: str,
    ) -> None:
        self.state = state
        self._client_credentials = f"{client_id}:{client_secret}".encode()
        self._terminal_id = terminal_id
        self._request_prefix = request_prefix

    def routes(self) -> list[Route]:
        return [
            Route("/passport/oauth/token", self.issue_token, methods=["POST"]),
            Route(f"{API}/services/categories", self.categories, methods=["GET"]),
            Route(f"{API}/services", self.billers, methods=["GET"]),
            Route(f"{API}/services/options", self.payment_items, methods=["GET"]),
            Route(f"{API}/Transactions/validatecustomers", self.validate, methods=["POST"]),
            Route(f"{API}/Transactions", self.payment_advice, methods=["POST"]),
            Route(f"{API}/Transactions", self.query, methods=["GET"]),
            Route("/_sandbox/vends", self.vends, methods=["GET"]),
            Route("/_sandbox/faults", self.add_fault, methods=["POST"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/token-requests", self.token_requests, methods=["GET"]),
        ]

    # --- passport ------------------------------------------------------------------------------

    async def issue_token(self, request: Request) -> Response:
        await self._latency(None, None)
        if not self._client_authenticated(request.headers.get("authorization", "")):
            return _oauth_error(401, "invalid_client", "Bad client credentials")
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        grant_type = (form.get("grant_type") or [request.query_params.get("grant_type", "")])[0]
        if not grant_type:
            return _oauth_error(400, "invalid_request", "Missing grant type")
        if grant_type != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", f"Unsupported grant type: {grant_type}"
            )
        return JSONResponse(
            {
                "access_token": self.state.issue_token(),
                "token_type": "bearer",
                "expires_in": self.state.token_expires_in,
                "scope": "profile",
                "jti": str(uuid.uuid4()),
            }
        )

    def _client_authenticated(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            presented = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            return False
        return hmac.compare_digest(presented, self._client_credentials)

    # --- catalog -------------------------------------------------------------------------------

    async def categories(self, request: Request) -> Response:
        if denied := await self._guard(request, None, None):
            return denied
        return JSONResponse({"BillerCategories": [_category_json(c) for c in CATALOG]})

    async def billers(self, request: Request) -> Response:
        if denied := await self._guard(request, None, None):
            return denied
        wanted = _query_param(request, "categoryid")
        categories = [c for c in CATALOG if wanted is None or str(c.id) == wanted]
        return JSONResponse(
            {
                "BillerList": {
                    "Category": [
                        {**_category_json(c), "Billers": [_biller_json(b, c) for b in c.billers]}
                        for c in categories
                    ],
                    "Count": sum(len(c.billers) for c in categories),
                }
            }
        )

    async def payment_items(self, request: Request) -> Response:
        if denied := await self._guard(request, None, None):
            return denied
        biller = BILLERS.get(_query_param(request, "serviceid") or "")
        items = [_item_json(biller, item) for item in biller.items] if biller else []
        return JSONResponse({"PaymentItems": items})

    # --- customer validation -------------------------------------------------------------------

    async def validate(self, request: Request) -> Response:
        body = await _lower_keyed_json(request)
        entries = body.get("customers") if body else None
        if not isinstance(entries, list) or not entries:
            return _failure(INVALID_REQUEST, status_code=400)
        customers = [_lower_keys(entry) for entry in entries if isinstance(entry, Mapping)]
        first_id = str(customers[0].get("customerid", "")) if customers else None
        if denied := await self._guard(request, first_id, None):
            return denied
        return JSONResponse(
            {
                "Customers": [_validated_customer(entry) for entry in customers],
                "ResponseCode": SUCCESSFUL,
                "ResponseCodeGrouping": "SUCCESSFUL",
            }
        )

    # --- payment advice ------------------------------------------------------------------------

    async def payment_advice(self, request: Request) -> Response:
        body = await _lower_keyed_json(request)
        if body is None:
            return _failure(INVALID_REQUEST, status_code=400)
        reference = str(body.get("requestreference", ""))
        customer_id = str(body.get("customerid", ""))
        if denied := await self._guard(request, customer_id, reference):
            return denied
        terminal = str(body.get("terminalid") or request.headers.get("terminalid", ""))
        if terminal.casefold() != self._terminal_id.casefold():
            return _failure(TERMINAL_MISMATCH, status_code=400)
        if not self._reference_is_ours(reference):
            return _failure(INVALID_REQUEST, status_code=400, why="Invalid request reference")
        if self.state.find_vend(reference) is not None:
            return _failure(DUPLICATE_REFERENCE)  # the first vend stands; nothing new happens
        return await self._vend(body, reference, customer_id)

    def _reference_is_ours(self, reference: str) -> bool:
        return (
            reference.startswith(self._request_prefix)
            and _ascii_digits(reference)
            and len(reference) <= MAX_REFERENCE_LENGTH
        )

    async def _vend(self, body: Mapping[str, Any], reference: str, customer_id: str) -> Response:
        found = ITEMS.get(str(body.get("paymentcode", "")))
        if found is None:
            return _failure(UNKNOWN_PAYMENT_CODE)
        biller, item = found
        amount_kobo = _kobo(body.get("amount"))
        customer = check_customer(biller, customer_id)
        refusal = _refusal(item, amount_kobo, customer.code)
        fault = None if refusal else self.state.take_fault(ADVICE_FAULTS, customer_id, reference)
        if fault and fault.fault is FaultName.LOST_PURCHASE:
            return CutConnection()  # nothing recorded: the query will say 90025
        if fault and fault.fault is FaultName.UNKNOWN_ERROR:
            return _failure(DUPLICATE_REFERENCE)  # nothing recorded either
        final_code = refusal or _final_code(fault)
        token_sold = final_code == SUCCESSFUL and biller.sells_prepaid_tokens
        vend = Vend(
            reference=reference,
            biller=biller,
            item=item,
            customer_id=customer_id,
            customer_name=customer.full_name,
            amount_kobo=amount_kobo or 0,
            final_code=final_code,
            pending_queries=_pending_queries(fault),
            transaction_id=self.state.new_transaction_id(),
            transaction_ref=self._transaction_ref(biller),
            created_at=datetime.now(UTC),
            token=prepaid_token() if token_sold else None,
            units=units_for(amount_kobo or 0) if token_sold else None,
        )
        if not self.state.record_vend(vend):
            return _failure(DUPLICATE_REFERENCE)  # lost a race with the same reference
        if fault and fault.fault is FaultName.VEND_THEN_TIMEOUT:
            return await self._hang(fault)
        answered_code = PENDING if fault and fault.fault in _ANSWERED_PENDING else final_code
        return JSONResponse(_advice_json(vend, answered_code))

    def _transaction_ref(self, biller: Biller) -> str:
        stamp = datetime.now(UTC).strftime("%y%m%d%H%M%S")
        suffix = "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))
        return f"UNY|Web|{self._terminal_id}|{biller.short_name}|{stamp}|{suffix}"

    # --- query ---------------------------------------------------------------------------------

    async def query(self, request: Request) -> Response:
        reference = _query_param(request, "requestref") or ""
        known = self.state.find_vend(reference)
        if denied := await self._guard(request, known.customer_id if known else None, reference):
            return denied
        if not reference:
            return _failure(INVALID_REQUEST, status_code=400)
        answer = self.state.query_vend(reference)
        if answer is None:
            # The grouping here is about the *query*: a reader trusting it would call an unseen
            # payment failed. Only TransactionResponseCode speaks about the transaction.
            return _failure(NO_SUCH_REFERENCE)
        vend, code = answer
        return JSONResponse(_query_json(vend, code))

    # --- admin ---------------------------------------------------------------------------------

    async def vends(self, request: Request) -> Response:
        return JSONResponse(self.state.vends_snapshot())

    async def add_fault(self, request: Request) -> Response:
        try:
            fault = Fault.model_validate_json(await request.body())
        except ValidationError as exc:
            details = exc.errors(include_url=False, include_context=False)
            return JSONResponse({"error": "invalid_fault", "details": details}, 422)
        self.state.add_fault(fault)
        return JSONResponse({"faults": [f.model_dump(mode="json") for f in self.state.faults()]})

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"reset": True})

    async def token_requests(self, request: Request) -> Response:
        return JSONResponse({"count": self.state.token_requests})

    # --- shared request handling ---------------------------------------------------------------

    async def _guard(
        self, request: Request, customer_id: str | None, reference: str | None
    ) -> Response | None:
        """Latency, bearer check, then the request-level faults. None: carry on."""
        await self._latency(customer_id, reference)
        if not self._bearer_is_valid(request):
            return _oauth_error(401, "invalid_token", "Access token expired or unknown")
        fault = self.state.take_fault(REQUEST_FAULTS, customer_id, reference)
        if fault is None:
            return None
        if fault.fault is FaultName.TIMEOUT:
            return await self._hang(fault)
        return _failure(SYSTEM_MALFUNCTION, status_code=500)

    def _bearer_is_valid(self, request: Request) -> bool:
        # One client sends "Authentication" on payment POSTs (providers.md §3.3): accept both.
        header = request.headers.get("authorization") or request.headers.get("authentication", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and self.state.token_is_valid(token.strip())

    async def _latency(self, customer_id: str | None, reference: str | None) -> None:
        fault = self.state.take_fault({FaultName.LATENCY}, customer_id, reference)
        if fault is not None and fault.seconds:
            await asyncio.sleep(fault.seconds)

    async def _hang(self, fault: Fault) -> Response:
        await asyncio.sleep(fault.seconds if fault.seconds is not None else self.state.hang_seconds)
        return PlainTextResponse("upstream request timeout", status_code=504)


_ANSWERED_PENDING = frozenset({FaultName.PENDING_THEN_SUCCESSFUL, FaultName.QUERY_GROUPING_FAILED})
_FINAL_CODE_BY_FAULT = {
    FaultName.QUERY_GROUPING_FAILED: TRANSACTION_FAILED,
    FaultName.DEFINITE_FAILURE: TRANSACTION_FAILED,
}


def _final_code(fault: Fault | None) -> str:
    return _FINAL_CODE_BY_FAULT.get(fault.fault, SUCCESSFUL) if fault else SUCCESSFUL


def _pending_queries(fault: Fault | None) -> int:
    return fault.queries if fault and fault.fault is FaultName.PENDING_THEN_SUCCESSFUL else 0


def _refusal(item: Item, amount_kobo: int | None, customer_code: str) -> str | None:
    """Why the biller refuses this payment, as a response code, or None."""
    if amount_kobo is None or amount_kobo <= 0 or (item.fixed and amount_kobo != item.amount_kobo):
        return INVALID_AMOUNT
    return None if customer_code == SUCCESSFUL else customer_code


# --- wire rendering ------------------------------------------------------------------------------


def _category_json(category: Category) -> dict[str, Any]:
    return {
        "Id": category.id,
        "Name": category.name,
        "Description": category.description,
        "PictureId": category.id,
    }


def _biller_json(biller: Biller, category: Category) -> dict[str, Any]:
    return {
        "Type": "Biller",
        "Id": biller.id,
        "PayDirectProductId": biller.id,
        "Name": biller.name,
        "ShortName": biller.short_name,
        "Narration": biller.name,
        "CustomerField1": biller.customer_kind.value,
        "Surcharge": str(biller.surcharge_kobo),
        "CurrencyCode": "566",
        "CurrencySymbol": "NGN",
        "CategoryId": category.id,
        "CategoryName": category.name,
        "AmountType": 0,
    }


def _item_json(biller: Biller, item: Item) -> dict[str, Any]:
    return {
        "Id": item.payment_code,
        "Name": item.name,
        "BillerName": biller.name,
        "ConsumerIdField": biller.customer_kind.value,
        "Code": item.payment_code[-2:],
        "BillerType": "PR",
        "ItemFee": str(biller.surcharge_kobo),
        "Amount": str(item.amount_kobo),
        "BillerId": biller.id,
        "BillerCategoryId": biller.category_id,
        "CurrencyCode": "566",
        "CurrencySymbol": "NGN",
        "IsAmountFixed": item.fixed,
        "PaymentCode": item.payment_code,
        "AmountType": 5 if item.fixed else 0,
    }


def _validated_customer(entry: Mapping[str, Any]) -> dict[str, Any]:
    payment_code = str(entry.get("paymentcode", ""))
    customer_id = str(entry.get("customerid", ""))
    found = ITEMS.get(payment_code)
    check = check_customer(found[0], customer_id) if found else CustomerCheck(UNKNOWN_PAYMENT_CODE)
    return {
        "BillerId": found[0].id if found else 0,
        "PaymentCode": payment_code,
        "CustomerId": customer_id,
        "ResponseCode": check.code,
        "ResponseDescription": DESCRIPTIONS[check.code],
        "FullName": check.full_name,
        "Amount": check.amount_kobo,
        "AmountType": check.amount_type,
        "AmountTypeDescription": "AnyAmount" if check.amount_type == 0 else "ExactAmount",
        "Surcharge": found[0].surcharge_kobo if found else 0,
    }


def _delivery_fields(vend: Vend, code: str) -> tuple[str, str]:
    """(RechargePIN, MiscData) of a vend, once it is delivered."""
    if code != SUCCESSFUL:
        return "", ""
    if vend.token:
        return vend.token, f"Token: {vend.token} Units: {vend.units} kWh"
    if vend.biller.virtual_top_up:
        return "Virtual Top Up", "Virtual Top Up"
    return "", ""


def _advice_json(vend: Vend, code: str) -> dict[str, Any]:
    pin, misc = _delivery_fields(vend, code)
    return {
        "ResponseCode": code,
        "ResponseCodeGrouping": grouping_of(code),
        "ApprovedAmount": vend.amount_kobo if code == SUCCESSFUL else 0,
        "RechargePIN": pin,
        "TransactionRef": vend.transaction_ref,
        "ResponseDescription": DESCRIPTIONS.get(code, ""),
        "MiscData": misc,
    }


def _query_json(vend: Vend, code: str) -> dict[str, Any]:
    """The documented query shape: URL-encoded strings, top-level code about the query call."""
    pin, misc = _delivery_fields(vend, code)
    return {
        "TransactionId": vend.transaction_id,
        "TransactionRef": quote_plus(vend.transaction_ref),
        "RequestReference": vend.reference,
        "Status": "Pending" if code == PENDING else "Complete",
        "TransactionSet": "BillPayment",
        "TransactionResponseCode": code,
        "PaymentDate": quote_plus(_us_date_time(vend.created_at)),
        "Amount": str(vend.amount_kobo),
        "Surcharge": str(vend.biller.surcharge_kobo),
        "CurrencyCode": "566",
        "Customer": quote_plus(vend.customer_name),
        "CustomerId": vend.customer_id,
        "PaymentItem": quote_plus(vend.item.name),
        "RechargePIN": quote_plus(pin),
        "MiscData": quote_plus(misc),
        "ResponseCodeGrouping": grouping_of(code),
        "ResponseCode": SUCCESSFUL,
    }


def _us_date_time(moment: datetime) -> str:
    """``2/3/2023 2:32:59 PM``, as in the documented sample."""
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S %p}"


def _failure(code: str, *, status_code: int = 200, why: str | None = None) -> JSONResponse:
    return JSONResponse(
        {
            "ResponseCode": code,
            "ResponseDescription": why or DESCRIPTIONS[code],
            "ResponseCodeGrouping": grouping_of(code),
        },
        status_code=status_code,
    )


def _oauth_error(status_code: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status_code)


def _lower_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    return {str(key).lower(): value for key, value in data.items()}


async def _lower_keyed_json(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return _lower_keys(body) if isinstance(body, dict) else None


def _query_param(request: Request, lower_name: str) -> str | None:
    return next(
        (value for key, value in request.query_params.items() if key.lower() == lower_name), None
    )


def _kobo(value: Any) -> int | None:
    """Amounts travel as kobo strings; a number is tolerated, a fraction is not an amount."""
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    return int(text) if _ascii_digits(text) else None


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
